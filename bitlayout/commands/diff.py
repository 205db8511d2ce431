"""``bitlayout diff OLD NEW``: what changes per arch between two designs of a type.

Designs are ``FILE:TYPE`` pairs, or files with ``--type OLD_T NEW_T`` (one
file with two types works too).  Output: 80-column text (default) or JSON
(``bitlayout.diff/1``).  Exit status: 0 (a diff is information, not a check),
2 bad input.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import UsageError
from . import add_verb, kernel_profiles, kernel_source, parse_defines, write_output


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = ("compare two designs of a type across arches (size, bits, bounds, tears, "
        "offsets)")


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "diff", help=HELP,
                 description="Compare two designs of a C type on every arch: size, alignment, bitmap shape, "
                             "out-of-bounds flag bits, tear exposure, offsets inside a containing struct.",
                 formats=("text", "json"), run=run, kernel=True)
    p.add_argument("old", metavar="OLD", help="FILE:TYPE, or a header with --type")
    p.add_argument("new", metavar="NEW", nargs="?", help="FILE:TYPE, or a header with --type (default: OLD's file)")
    p.add_argument("--type", nargs=2, metavar=("OLD_T", "NEW_T"), dest="types", help="the two type names")
    p.add_argument("--flags", default="default", metavar="SOURCE",
                   help="flag numbers: 'default' (the embedded spec's VMA flags), 'enum NAME' from OLD's "
                        "header, or 'none'")
    p.add_argument("--container", metavar="TYPE", help='containing struct, e.g. "struct vm_area_struct"')
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VAL")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="with --kernel: arches worked on at once, in forked workers (default: cores)")


def _flagset(text: str):
    from ..diff import FlagSet

    words = " ".join(text.split())
    if words in ("default", "none"):
        return FlagSet(words)
    if words.startswith("enum ") and words[5:].replace("_", "a").isalnum():
        return FlagSet(words)
    raise UsageError(f"--flags must be 'default', 'none' or 'enum NAME', got {text!r}")


def run(args: Any) -> int:
    from ..diff import diff_designs, parse_designs
    from ..profiles import select_profiles
    from ..report.text import render_diff_text

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    kernel = kernel_source(args)
    old, new = parse_designs(args.old, args.new, args.types, kernel=kernel)
    profiles = kernel_profiles(kernel, args.arch) if kernel else select_profiles(args.arch)
    result = diff_designs(old, new, profiles, flagset=_flagset(args.flags), container=args.container,
                          include_dirs=args.include_dirs, defines=parse_defines(args.defines), kernel=kernel,
                          jobs=args.jobs)
    text = json.dumps(result, indent=1) + "\n" if args.format == "json" else render_diff_text(result)
    if args.output:
        write_output(args.output, text, "cannot write")
    else:
        sys.stdout.write(text)
    return 0
