"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError

ARCH_HELP = ("arch selector: all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch names "
             "(repeatable, commas; default: all, or the spec's arches)")


def add_arch_option(parser: Any) -> None:
    """The ``--arch SEL`` option every verb shares (resolved by profiles.select_profiles)."""
    parser.add_argument("--arch", action="append", metavar="SEL", help=ARCH_HELP)


KERNEL_HELP = ("a Linux kernel tree (source tree or linux-headers-* directory): headers are kernel include names "
               "(linux/mm_types.h) or files, preprocessed per arch exactly as Kbuild does; arches need "
               "`bitlayout kernel prepare DIR` once")


def add_kernel_option(parser: Any) -> None:
    """The ``--kernel DIR`` option of layout, diff, matrix and report."""
    parser.add_argument("--kernel", metavar="DIR", help=KERNEL_HELP)


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
