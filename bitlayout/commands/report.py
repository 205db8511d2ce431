"""``bitlayout report [SPEC] [-o FILE] [--format html|text|json] [--arch SEL] [--backend ...]``

Runs the matrix for a spec (the embedded VMA-flags default without one),
gathers the model's facts and renders the report: one self-contained HTML
file by default (``bitlayout-report.html``; the path is printed), 80-column
text for email, or the JSON behind the page.  Exit status as for ``matrix``:
0 all pass (skips allowed), 1 a check failed or errored, 2 bad input.
"""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from . import add_run_options, add_verb, check_output_dir, run_options, start_progress, write_output

if TYPE_CHECKING:
    from ..options import Options

DEFAULT_HTML = "bitlayout-report.html"


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "render the layout report (HTML with SVG bit maps, text, JSON)"


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "report", help=HELP,
                 description="Run the checks of SPEC (default: the embedded kernel VMA-flags case) and "
                             "render the report.", formats=("html", "text", "json"), run=run, kernel=True)
    add_run_options(p, f"output file ('-' for stdout); html default: {DEFAULT_HTML}, text/json: stdout")
    p.add_argument("--title", default=None, help="page title")


def build(spec_path: str | None, *, arch: Any = None, backend: str = "auto", check: Any = None,
          options: Options | None = None, title: str | None = None, progress: Any = None,
          kernel: str | None = None) -> dict:
    """Spec -> matrix run -> its plans' facts -> the report dict (``bitlayout.report/1``);
    ``kernel``: the command line's ``--kernel DIR`` (the headers come from that tree)."""
    from .. import __version__
    from ..matrix import run_matrix
    from ..pipeline import plan_all
    from ..report.facts import compilers_here, facts_from_plans
    from ..report.model import build_report
    from ..spec import load_spec

    t0 = time.perf_counter()
    spec = load_spec(spec_path, kernel=kernel)
    profiles = spec.select_arches(arch)
    if not profiles:
        raise UsageError(f"arch selector {arch!r} selects no profile")
    result = run_matrix(spec, profiles, backend, check, options, progress)
    t_matrix = time.perf_counter() - t0
    bitmaps, tagged, structs = facts_from_plans(spec, plan_all(spec, profiles, done=result.plans))
    name = "embedded default (kernel VMA flags)" if spec.is_default else Path(spec.path).name
    report = build_report(
        profiles=profiles, rows=result.rows, bitmaps=bitmaps, tagged=tagged, structs=structs,
        compilers=compilers_here(profiles),
        title=title or f"bitlayout report: {name}",
        spec={"path": spec.path, "headers": [Path(h).name for h in spec.headers],
              "default": spec.is_default},
        run={"generated_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "backends": list(result.backends), "backend_notes": dict(result.backend_notes),
             "checks": list(result.checks), "matrix_seconds": round(t_matrix, 2),
             "seconds": round(time.perf_counter() - t0, 2), "bitlayout": __version__},
    )
    return report


def run(args: Any) -> int:
    from ..report import render

    options = run_options(args)
    out = args.output
    if out is None and args.format == "html":
        out = DEFAULT_HTML
    to_file = out not in (None, "-")
    if to_file:
        check_output_dir(out, "cannot write report")  # before the matrix runs (it can take a minute)
    progress = start_progress("report", args.quiet)
    try:
        report = build(args.spec, arch=args.arch, backend=args.backend, check=args.check, options=options,
                       title=args.title, progress=progress, kernel=args.kernel)
    finally:
        progress.close()
    text = render(report, args.format)
    if to_file:
        write_output(out, text, "cannot write report")
        print(out)
    else:
        sys.stdout.write(text)
    from ..results import FAILED

    return EXIT_CHECK_FAILED if any(report["summary"][s] for s in FAILED) else EXIT_OK
