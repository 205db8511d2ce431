"""``bitlayout report [SPEC] [-o FILE] [--format html|text|json] [--arch SEL] [--backend ...]``

Runs the matrix for a spec (the embedded VMA-flags default without one),
gathers the model's facts and renders the report: one self-contained HTML
file by default (``bitlayout-report.html``; the path is printed), 80-column
text for email, or the JSON behind the page.  Exit status as for ``matrix``:
0 all pass (skips allowed), 1 a check failed or errored, 2 bad input.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from . import add_arch_option, add_kernel_option

DEFAULT_HTML = "bitlayout-report.html"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="render the layout report (HTML with SVG bit maps, text, JSON)",
        description="Run the checks of SPEC (default: the embedded kernel VMA-flags case) and "
                    "render the report.")
    p.add_argument("spec", nargs="?", metavar="SPEC", help="spec TOML (default: embedded vma_flags.toml)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help=f"output file ('-' for stdout); html default: {DEFAULT_HTML}, text/json: stdout")
    p.add_argument("--format", choices=("html", "text", "json"), default="html")
    add_arch_option(p)
    p.add_argument("--backend", metavar="LIST", default="auto",
                   help="model,host,compiled,exec or auto (default: auto = every backend available here)")
    p.add_argument("--check", action="append", metavar="LIST", help="checks to run (default: all)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--stress-ms", type=int, default=None, metavar="MS",
                   help="time budget per stress probe (tear, lost update), default 60; same as $BITLAYOUT_STRESS_MS")
    p.add_argument("-j", "--jobs", type=int, default=None, help="parallel arches (default: CPU count)")
    p.add_argument("--title", default=None, help="page title")
    add_kernel_option(p)
    p.set_defaults(run=run)


def build(spec_path: str | None, *, arch: Any = None, backend: str = "auto",
          check: Any = None, jobs: int | None = None, title: str | None = None,
          progress: Any = None, kernel: str | None = None) -> dict:
    """Spec -> matrix run + model facts -> the report dict (``bitlayout.report/1``)."""
    from .. import __version__
    from ..matrix import run_matrix
    from ..report.model import build_report, gather, layout_all
    from ..spec import load_spec

    t0 = time.perf_counter()
    spec = load_spec(spec_path, kernel=kernel)
    profiles = spec.select_arches(arch)
    if not profiles:
        raise UsageError(f"arch selector {arch!r} selects no profile")
    result = run_matrix(spec, profiles, backend, check, jobs, progress)
    t_matrix = time.perf_counter() - t0
    layouts, layout_errors = layout_all(spec, profiles, result)
    bitmaps, tagged, structs = gather(spec, profiles, layouts, layout_errors)
    name = "embedded default (kernel VMA flags)" if spec.is_default else Path(spec.path).name
    report = build_report(
        profiles=profiles, rows=result.rows, bitmaps=bitmaps, tagged=tagged, structs=structs,
        title=title or f"bitlayout report: {name}",
        spec={"path": spec.path, "headers": [Path(h).name for h in spec.headers],
              "default": spec.is_default},
        run={"generated_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "backends": list(result.backends), "backend_notes": dict(result.backend_notes),
             "checks": list(result.checks), "matrix_seconds": round(t_matrix, 2),
             "seconds": round(time.perf_counter() - t0, 2), "bitlayout": __version__},
    )
    return report


def _progress(done: int, total: int, label: str) -> None:
    if sys.stderr.isatty():
        print(f"\rbitlayout: {done}/{total} arches ({label})\x1b[K", end="" if done < total else "\n",
              file=sys.stderr, flush=True)
    else:
        print(f"bitlayout: {done}/{total} arches done ({label})", file=sys.stderr, flush=True)


def run(args: Any) -> int:
    if args.stress_ms is not None:
        # Through the environment so the worker processes of the matrix see it too.
        os.environ["BITLAYOUT_STRESS_MS"] = str(args.stress_ms)
    from ..report import render

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    if args.output not in (None, "-") and not Path(args.output).resolve().parent.is_dir():
        # Before the matrix runs (it can take a minute), not after.
        raise UsageError("cannot write report: no such directory", path=args.output)
    report = build(args.spec, arch=args.arch, backend=args.backend, check=args.check, jobs=args.jobs,
                   title=args.title, progress=None if args.quiet else _progress, kernel=args.kernel)
    text = render(report, args.format)
    out = args.output
    if out is None and args.format == "html":
        out = DEFAULT_HTML
    if out is None or out == "-":
        sys.stdout.write(text)
    else:
        path = Path(out)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write report: {exc.strerror}", path=str(path)) from None
        print(path)
    s = report["summary"]
    return EXIT_CHECK_FAILED if (s["fail"] or s["error"]) else EXIT_OK
