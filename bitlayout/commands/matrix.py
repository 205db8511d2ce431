"""``bitlayout matrix [SPEC]``: run every check on every arch and backend, print the grid.

Progress goes to stderr: a rich progress bar on a TTY, one plain line per arch
otherwise.  The result goes to stdout (or ``-o FILE``): a summary grid arch x
check (rich table on a TTY, ASCII otherwise) followed by the findings, or
JSON (``bitlayout.matrix/1``), or JUnit XML.  Exit status: 0 all pass (skips
allowed), 1 a check failed or errored, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from ..errors import UsageError
from ..matrix import BACKENDS, MatrixResult, run_matrix
from ..checks import CHECKS
from . import add_arch_option, add_kernel_option

SYMBOL = {"pass": "ok", "fail": "FAIL", "error": "ERR", "skip": "-"}
STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta", "skip": "dim"}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("matrix", help="run every check on every arch (arch x check x backend)",
                              description=__doc__.splitlines()[0])
    p.add_argument("spec", nargs="?", help="spec TOML (default: the embedded kernel VMA-flags example)")
    add_arch_option(p)
    p.add_argument("--backend", default="auto", metavar="LIST",
                   help=f"comma list of {','.join(BACKENDS)}, or auto (every backend whose tools exist); "
                        "default: auto")
    p.add_argument("--check", action="append", metavar="LIST", help=f"checks to run (default all: {','.join(CHECKS)})")
    p.add_argument("--format", choices=("table", "json", "junit"), default="table")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="parallel arches (default: cores)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the result here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--stress-ms", type=int, default=None, metavar="MS",
                   help="time budget per stress probe (tear, lost update), default 60; same as $BITLAYOUT_STRESS_MS")
    add_kernel_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.stress_ms is not None:
        # Through the environment so the worker processes of the matrix see it too.
        os.environ["BITLAYOUT_STRESS_MS"] = str(args.stress_ms)
    from ..spec import load_spec

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        # Before the matrix runs (it can take minutes), not after: one line, exit 2.
        raise UsageError("cannot write the result: no such directory", path=args.output)
    spec = load_spec(args.spec, kernel=args.kernel)
    tty = sys.stderr.isatty()
    progress, finish = _progress(tty, args.quiet)
    try:
        result = run_matrix(spec, args.arch, args.backend, args.check, args.jobs, progress=progress)
    finally:
        finish()
    out_tty = args.output is None and sys.stdout.isatty()
    if args.format == "json":
        text = json.dumps(result.to_json(), indent=1) + "\n"
    elif args.format == "junit":
        text = render_junit(result)
    else:
        text = None
    if args.output:
        try:
            with open(args.output, "w") as fh:
                if text is not None:
                    fh.write(text)
                else:
                    render_table(result, fh, rich_tty=False)
        except OSError as exc:  # a directory, no permission, disk full: still one line
            raise UsageError(f"cannot write the result: {exc.strerror}", path=args.output) from None
    elif text is not None:
        sys.stdout.write(text)
    else:
        render_table(result, sys.stdout, rich_tty=out_tty)
    return result.exit_code


def _progress(tty: bool, quiet: bool):
    if quiet:
        return None, lambda: None
    if tty:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("matrix"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                       TimeElapsedColumn(), transient=True)
        bar.start()
        task = bar.add_task("", total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, total=total, completed=done, description=label)

        return update, bar.stop
    t0 = time.perf_counter()

    def line(done: int, total: int, label: str) -> None:
        print(f"bitlayout matrix: [{done}/{total}] {label} done ({time.perf_counter() - t0:.1f}s)",
              file=sys.stderr, flush=True)

    return line, lambda: None


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
    out = []
    for r in result.rows:
        if r.status in ("fail", "error"):
            out.append(f"{SYMBOL[r.status]:4} {r.arch:12} {r.check:12} [{r.backend}] {r.detail}")
    return out


def _totals(result: MatrixResult) -> str:
    counts = {s: 0 for s in ("pass", "fail", "error", "skip")}
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
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    n_fail = sum(r.status == "fail" for r in result.rows)
    n_err = sum(r.status == "error" for r in result.rows)
    n_skip = sum(r.status == "skip" for r in result.rows)
    lines.append(f'<testsuites name="bitlayout matrix" tests="{len(result.rows)}" failures="{n_fail}" '
                 f'errors="{n_err}" skipped="{n_skip}" time="{result.seconds}">')
    for a in result.arches:
        rows = [r for r in result.rows if r.arch == a]
        lines.append(f'  <testsuite name={quoteattr(a)} tests="{len(rows)}" '
                     f'failures="{sum(r.status == "fail" for r in rows)}" '
                     f'errors="{sum(r.status == "error" for r in rows)}" '
                     f'skipped="{sum(r.status == "skip" for r in rows)}">')
        for r in rows:
            name = quoteattr(f"{r.check}[{r.backend}]")
            tag = {"fail": "failure", "error": "error", "skip": "skipped"}.get(r.status)
            if tag is None:
                lines.append(f"    <testcase classname={quoteattr(a)} name={name}/>")
            else:
                lines.append(f"    <testcase classname={quoteattr(a)} name={name}>"
                             f"<{tag} message={quoteattr(r.detail[:500])}>{escape(r.detail)}</{tag}></testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"
