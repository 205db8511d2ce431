"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError

ARCH_HELP = ("arch selector: all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch names "
             "(repeatable, commas; default: all, or the spec's arches)")


def add_arch_option(parser: Any) -> None:
    """The ``--arch SEL`` option every verb shares (resolved by profiles.select_profiles)."""
    parser.add_argument("--arch", action="append", metavar="SEL", help=ARCH_HELP)


def parse_defines(items: list[str]) -> dict[str, str]:
    """``-D NAME`` (defined as 1) and ``-D NAME=VALUE`` (``NAME=`` defines it empty), as gcc reads them."""
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not name.isidentifier():
            raise UsageError(f"-D expects NAME or NAME=VALUE, got {item!r}")
        out[name] = value if eq else "1"
    return out
