"""The ``bitlayout`` command: a thin dispatcher over ``bitlayout.commands``.

Each verb lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``.  Errors from the BitlayoutError hierarchy are printed as
one line (``bitlayout: error: ...``) with their exit code; ``--traceback``
shows the Python traceback instead, for bug reports.  Everything, the imports of
the verbs included, runs inside ``main``: an interruption at any point after start-up
is one line (``bitlayout: interrupted``, exit 130) with the emulators it started killed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading

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


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The parser with ``verb``'s own options; every other verb is only its name and help line,
    so that ``bitlayout --help`` or a light verb does not import what a heavy verb's options read
    (backend and check names)."""
    parser = _Parser(prog="bitlayout", description="Verify C bit layouts across CPU architectures.")
    parser.add_argument("--version", action="version", version=f"bitlayout {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name, module_name in VERBS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        if name == verb:
            module.add_parser(sub)
        else:
            sub.add_parser(name, help=module.HELP, add_help=False)
    return parser


def verb_in(argv: list[str]) -> str | None:
    """The verb of a command line: its first word that is not an option (the top-level options
    take no value), or None."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in VERBS else None
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP): unwound like Ctrl-C, so every guest and worker is stopped on the way."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    """The command line.  Whatever happens, one line and an exit status, never a traceback
    (unless --traceback): 130 after Ctrl-C (143 after SIGTERM) with every emulator it started
    killed, 141 when the reader of stdout went away (``| head -1``, as SIGPIPE ends a Unix tool)."""
    import signal

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, _terminate)
    args = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser(verb_in(argv)).parse_args(argv)
        if args.verb is None:
            # No verb: the main job on the embedded default is the report.
            args = build_parser("report").parse_args(["report", *argv])
        return int(args.run(args))
    except BitlayoutError as exc:
        if args is not None and args.traceback:
            raise
        print(f"bitlayout: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from .toolchains import stop_guests

        stop_guests()
        print("bitlayout: interrupted", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
    except BrokenPipeError:
        # The reader is gone: stop quietly, as a Unix tool killed by SIGPIPE does; stdout goes
        # to /dev/null so that Python's own flush at exit does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE
    except RecursionError:
        if args is not None and args.traceback:
            raise
        # A backstop: the parsers and evaluators bound their nesting, a deeper input still
        # found somewhere is bad input, not a crash.
        print("bitlayout: error: input nested too deeply to process (Python recursion limit); "
              "rerun with --traceback to see where", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
