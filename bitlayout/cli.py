"""The ``bitlayout`` command: a thin dispatcher over ``bitlayout.commands``.

Each verb lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``.  Errors from the BitlayoutError hierarchy are printed as
one line (``bitlayout: error: ...``) with their exit code; ``--traceback``
shows the Python traceback instead, for bug reports.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import EXIT_BAD_INPUT, BitlayoutError

# verb -> module in bitlayout.commands
VERBS = {
    "matrix": "matrix",
    "report": "report",
    "layout": "layout",
    "diff": "diff",
    "profiles": "profiles",
    "doctor": "doctor",
    "kernel": "kernel",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep it one line
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bitlayout", description="Verify C bit layouts across CPU architectures.")
    parser.add_argument("--version", action="version", version=f"bitlayout {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module_name in VERBS.values():
        importlib.import_module(f".commands.{module_name}", __package__).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        # No verb: the main job on the embedded default is the report.
        args = parser.parse_args(["report", *(argv or [])])
    try:
        return int(args.run(args))
    except BitlayoutError as exc:
        if args.traceback:
            raise
        print(f"bitlayout: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bitlayout: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
