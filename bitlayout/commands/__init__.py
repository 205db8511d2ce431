"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it."""

from __future__ import annotations

from typing import Any

ARCH_HELP = ("arch selector: all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch names "
             "(repeatable, commas; default: all, or the spec's arches)")


def add_arch_option(parser: Any) -> None:
    """The ``--arch SEL`` option every verb shares (resolved by profiles.select_profiles)."""
    parser.add_argument("--arch", action="append", metavar="SEL", help=ARCH_HELP)
