"""``bitlayout matrix [SPEC]``: run every check on every arch and backend, print the grid.

Progress goes to stderr (``bitlayout.progress``): a live bar with arch names and an ETA
on a TTY, one plain line per arch otherwise.  The result goes to stdout (or ``-o FILE``): a summary grid arch x
check (rich table on a TTY, ASCII otherwise) followed by the findings, or
JSON (``bitlayout.matrix/1``), or JUnit XML.  Exit status: 0 all pass (skips
allowed), 1 a check failed or errored, 2 bad input.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import add_run_options, add_verb, check_output_dir, run_options, start_progress, write_output

if TYPE_CHECKING:
    from ..matrix import MatrixResult

# Keyed by results.Status values (a StrEnum: its members look these up), spelled out so that
# `bitlayout --help` reads this module without importing the results.
SYMBOL = {"pass": "ok", "fail": "FAIL", "error": "ERR", "skip": "-"}
STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta", "skip": "dim"}


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "run every check on every arch (arch x check x backend)"


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "matrix", help=HELP,
                 description=__doc__.splitlines()[0], formats=("table", "json", "junit"), run=run, kernel=True)
    add_run_options(p, "write the result here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from ..matrix import run_matrix
    from ..spec import load_spec

    options = run_options(args)
    # Before the matrix runs (it can take minutes), not after: one line, exit 2.
    check_output_dir(args.output, "cannot write the result")
    spec = load_spec(args.spec, kernel=args.kernel)
    progress = start_progress("matrix", args.quiet)
    try:
        result = run_matrix(spec, args.arch, args.backend, args.check, options, progress=progress)
    finally:
        progress.close()
    if args.format == "json":
        text = json.dumps(result.to_json(), indent=1) + "\n"
    elif args.format == "junit":
        text = render_junit(result)
    elif args.output:
        buf = io.StringIO()
        render_table(result, buf, rich_tty=False)
        text = buf.getvalue()
    else:
        render_table(result, sys.stdout, rich_tty=sys.stdout.isatty())
        return result.exit_code
    if args.output:
        write_output(args.output, text, "cannot write the result")
    else:
        sys.stdout.write(text)
    return result.exit_code


# ---------------------------------------------------------------------------
# Rendering (no computing: everything comes from the MatrixResult).


def _header(result: MatrixResult) -> list[str]:
    lines = [f"spec: {result.spec_path}",
             f"arches: {len(result.arches)}  checks: {len(result.checks)}  rows: {len(result.rows)}  "
             f"time: {result.seconds:.1f}s"]
    for b, note in result.backend_notes.items():
        lines.append(f"backend {b}: {note}")
    return lines


def _findings(result: MatrixResult) -> list[str]:
    from ..results import FAILED

    out = []
    for r in result.rows:
        if r.status in FAILED:
            out.append(f"{SYMBOL[r.status]:4} {r.arch:12} {r.check:12} [{r.backend}] {r.detail}")
    return out


def _totals(result: MatrixResult) -> str:
    from ..results import SHOWN

    counts = {s: 0 for s in SHOWN}
    for r in result.rows:
        counts[r.status] += 1
    return "total: " + "  ".join(f"{k} {v}" for k, v in counts.items())


def render_table(result: MatrixResult, out: TextIO, rich_tty: bool = False) -> None:
    if rich_tty:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=out)
        for line in _header(result):
            console.print(line, highlight=False)
        table = Table(title="arch x check (worst over backends)")
        table.add_column("arch")
        for c in result.checks:
            table.add_column(c, justify="center")
        for a in result.arches:
            cells = []
            for c in result.checks:
                s = result.cell(a, c)
                cells.append(f"[{STYLE[s]}]{SYMBOL[s]}[/]")
            table.add_row(a, *cells)
        console.print(table)
        for line in _findings(result):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print(_totals(result), highlight=False)
        return
    for line in _header(result):
        out.write(line + "\n")
    width = max([len(a) for a in result.arches] + [4])
    cols = [max(len(c), 4) for c in result.checks]
    head = "arch".ljust(width) + " | " + " | ".join(c.ljust(w) for c, w in zip(result.checks, cols))
    out.write(head + "\n" + "-" * len(head) + "\n")
    for a in result.arches:
        cells = [SYMBOL[result.cell(a, c)].ljust(w) for c, w in zip(result.checks, cols)]
        out.write(a.ljust(width) + " | " + " | ".join(cells) + "\n")
    findings = _findings(result)
    if findings:
        out.write("\nfindings:\n")
        for line in findings:
            out.write(line + "\n")
    out.write(_totals(result) + "\n")


def render_junit(result: MatrixResult) -> str:
    """One testsuite per arch, one testcase per check x backend."""
    from xml.sax.saxutils import escape, quoteattr  # pulls in urllib: only when JUnit is asked for

    from ..results import Status

    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    n_fail = sum(r.status == Status.FAIL for r in result.rows)
    n_err = sum(r.status == Status.ERROR for r in result.rows)
    n_skip = sum(r.status == Status.SKIP for r in result.rows)
    lines.append(f'<testsuites name="bitlayout matrix" tests="{len(result.rows)}" failures="{n_fail}" '
                 f'errors="{n_err}" skipped="{n_skip}" time="{result.seconds}">')
    for a in result.arches:
        rows = [r for r in result.rows if r.arch == a]
        lines.append(f'  <testsuite name={quoteattr(a)} tests="{len(rows)}" '
                     f'failures="{sum(r.status == Status.FAIL for r in rows)}" '
                     f'errors="{sum(r.status == Status.ERROR for r in rows)}" '
                     f'skipped="{sum(r.status == Status.SKIP for r in rows)}">')
        for r in rows:
            name = quoteattr(f"{r.check}[{r.backend}]")
            tag = {Status.FAIL: "failure", Status.ERROR: "error", Status.SKIP: "skipped"}.get(r.status)
            if tag is None:
                lines.append(f"    <testcase classname={quoteattr(a)} name={name}/>")
            else:
                lines.append(f"    <testcase classname={quoteattr(a)} name={name}>"
                             f"<{tag} message={quoteattr(r.detail[:500])}>{escape(r.detail)}</{tag}></testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"
