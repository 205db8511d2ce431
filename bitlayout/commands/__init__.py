"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it.

The helpers here are what several verbs share: the ``--arch`` option, ``-D``
parsing, the run options (``--stress-ms``, ``-j``, read together with the
environment into one ``options.Options``) and ``-o FILE`` (checked before the
work, published atomically after it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..options import Options

ARCH_HELP = ("arch selector: all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch names "
             "(repeatable, commas; default: all, or the spec's arches)")


def add_arch_option(parser: Any) -> None:
    """The ``--arch SEL`` option every verb shares (resolved by profiles.select_profiles)."""
    parser.add_argument("--arch", action="append", metavar="SEL", help=ARCH_HELP)


def add_run_options(parser: Any) -> None:
    """The options of a verb that runs the matrix (read by ``run_options``)."""
    parser.add_argument("--stress-ms", type=int, default=None, metavar="MS",
                        help="time budget per stress probe (tear, lost update), default 60; "
                             "same as $BITLAYOUT_STRESS_MS")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="parallel arches (default: cores)")


def run_options(args: Any) -> Options:
    """The run's options: the environment (README, "Knobs") with the command line on top."""
    return Options.from_environ(stress_ms=args.stress_ms, jobs=args.jobs)


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
    """Write ``-o FILE`` atomically (a reader never sees half a report); an OS error is one line."""
    from ..publish import publish_text

    try:
        publish_text(path, text)
    except OSError as exc:  # a directory, no permission, disk full: still one line
        raise UsageError(f"{what}: {exc.strerror or exc}", path=path) from None
