"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it.

The helpers here are what several verbs share: ``add_verb`` (``--arch``, ``--format``), ``-D``
parsing, the run options (``--stress-ms``, ``-j``, read together with the
environment into one ``options.Options``) and ``-o FILE`` (checked before the
work, published atomically after it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..options import Options

ARCH_HELP = ("arch selector: all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch names "
             "(repeatable, commas; default: all, or the spec's arches)")
KERNEL_HELP = ("a Linux kernel tree (source tree or linux-headers-* directory): headers are kernel include names "
               "(linux/mm_types.h) or files, preprocessed per arch exactly as Kbuild does; arches need "
               "`bitlayout kernel prepare DIR` once")


def add_verb(subparsers: Any, name: str, *, help: str, description: str, formats: tuple[str, ...], run: Any,
             default_format: str | None = None, kernel: bool = False) -> Any:
    """A verb's parser with what every verb has: ``--arch SEL`` (resolved by profiles.select_profiles),
    ``--format`` (the first of ``formats`` unless ``default_format``) and ``run``; with ``kernel``,
    ``--kernel DIR`` too (``kernel_source`` reads it).  The verb adds the rest of its options to
    the parser returned."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.add_argument("--arch", action="append", metavar="SEL", help=ARCH_HELP)
    parser.add_argument("--format", choices=formats, default=default_format or formats[0])
    if kernel:
        parser.add_argument("--kernel", metavar="DIR", help=KERNEL_HELP)
    parser.set_defaults(run=run)
    return parser


def add_run_options(parser: Any, output_help: str) -> None:
    """The options of a verb that runs the matrix on a spec (``run_options`` reads the last two)."""
    from ..backends import backend_names
    from ..checks import CHECKS

    parser.add_argument("spec", nargs="?", metavar="SPEC",
                        help="spec TOML (default: the embedded kernel VMA-flags example)")
    parser.add_argument("--backend", default="auto", metavar="LIST",
                        help=f"comma list of {','.join(backend_names())}, or auto (every backend whose tools "
                             "exist); default: auto")
    parser.add_argument("--check", action="append", metavar="LIST",
                        help=f"checks to run (default all: {','.join(CHECKS)})")
    parser.add_argument("-o", "--output", metavar="FILE", help=output_help)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--stress-ms", type=int, default=None, metavar="MS",
                        help="time budget per stress probe (tear, lost update), default 60; "
                             "same as $BITLAYOUT_STRESS_MS")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="parallel arches (default: cores)")


def run_options(args: Any) -> Options:
    """The run's options: the environment (README, "Knobs") with the command line on top."""
    from ..options import Options

    return Options.from_environ(stress_ms=args.stress_ms, jobs=args.jobs)


def start_progress(verb: str, quiet: bool) -> Any:
    """The run's progress (``bitlayout.progress``): a live bar on a terminal, plain lines else,
    nothing with ``-q`` (first-build notices included).  The caller closes it."""
    from ..progress import ArchProgress

    return ArchProgress(verb, quiet=quiet)


def kernel_source(args: Any) -> Any:
    """``--kernel DIR`` opened (``kernel.inputs.KernelSource``; KernelTreeError names a directory
    that is not a kernel tree), or None without it."""
    if not getattr(args, "kernel", None):
        return None
    from ..kernel.inputs import KernelSource

    return KernelSource.open(args.kernel)


def kernel_profiles(source: Any, arch: Any) -> list:
    """The profiles a ``--kernel`` command runs on: with ``--arch``, exactly those (an unprepared
    one is an error later); without, the ones the tree is prepared for, the rest named on stderr."""
    import sys

    from ..profiles import select_profiles

    if arch:
        return select_profiles(arch)
    ready, left = source.ready_profiles(select_profiles("all"))
    if left:
        print(f"bitlayout: note: {source.tree.label} is not prepared for {', '.join(left)} "
              f"(`bitlayout kernel prepare {source.tree.given} --arch ...` prepares them)", file=sys.stderr)
    return ready


def parse_defines(items: list[str]) -> dict[str, str]:
    """``-D NAME`` (defined as 1) and ``-D NAME=VALUE`` (``NAME=`` defines it empty), as gcc reads them."""
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not name.isidentifier():
            raise UsageError(f"-D expects NAME or NAME=VALUE, got {item!r}")
        out[name] = value if eq else "1"
    return out


def check_output_dir(path: str | None, what: str) -> None:
    """``-o FILE`` whose directory does not exist: one line, exit 2, before any work is done."""
    if path and not Path(path).resolve().parent.is_dir():
        raise UsageError(f"{what}: no such directory", path=path)


def write_output(path: str, text: str, what: str) -> None:
    """Write ``-o FILE``: a regular file (or a new one) is replaced atomically, so a reader never
    sees half a report; through a symlink, the file it points to is.  Anything else already at
    ``path`` -- ``/dev/null``, ``/dev/stdout``, a FIFO -- is written in place as a shell
    redirection would: renaming over it would replace ``/dev/null`` itself with a regular file
    when run as root (seen: every later ``gcc -dM -E /dev/null`` then read the matrix).  An OS
    error is one line."""
    import os
    import stat

    from ..publish import publish_text

    try:
        try:
            mode = os.stat(path).st_mode  # follows a symlink
        except FileNotFoundError:
            mode = None
        if mode is None or stat.S_ISREG(mode):
            publish_text(os.path.realpath(path), text)
        else:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text)
    except OSError as exc:  # a directory, no permission, disk full: still one line
        raise UsageError(f"{what}: {exc.strerror or exc}", path=path) from None
