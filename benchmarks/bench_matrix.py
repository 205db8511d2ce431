"""Benchmark: the full default matrix (all arches, every available backend) vs the model-only matrix.

    python benchmarks/bench_matrix.py [--jobs 2] [--repeat 1] [--cold]

Both matrices run in this process on the embedded default spec, with ``jobs``
worker processes (default 2, the CI machine's cores).  The full matrix is
run once to warm the build caches (zig/gcc shim builds, cffi module) unless
``--cold``; the figures printed are wall-clock seconds of the runs that
follow, and the ratio full / model-only measured in the same run.  No
thresholds here: speed targets are read from these figures, never asserted
in unit tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitlayout.matrix import run_matrix  # noqa: E402
from bitlayout.options import Options  # noqa: E402
from bitlayout.spec import load_default_spec  # noqa: E402


def timed(spec, backends: str, jobs: int):
    t0 = time.perf_counter()
    result = run_matrix(spec, None, backends, None, Options(jobs=jobs))
    return time.perf_counter() - t0, result


def summary(result) -> str:
    counts = {s: 0 for s in ("pass", "fail", "error", "skip")}
    for r in result.rows:
        counts[r.status] += 1
    return " ".join(f"{k}={v}" for k, v in counts.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="do not warm the build caches first")
    args = ap.parse_args()
    spec = load_default_spec()

    if not args.cold:
        warm, _ = timed(spec, "auto", args.jobs)
        print(f"warm-up (auto, fills build caches): {warm:.2f}s")
    full, model = [], []
    for _ in range(args.repeat):
        secs, full_result = timed(spec, "auto", args.jobs)
        full.append(secs)
        secs, model_result = timed(spec, "model", args.jobs)
        model.append(secs)
    f, m = statistics.median(full), statistics.median(model)
    print(f"arches: {len(full_result.arches)}  checks: {len(full_result.checks)}  jobs: {args.jobs}")
    print(f"full matrix (auto: {', '.join(full_result.backends)}): {f:.2f}s  rows {len(full_result.rows)}  "
          f"{summary(full_result)}")
    for b, note in full_result.backend_notes.items():
        print(f"  backend {b}: {note}")
    print(f"model-only matrix: {m:.2f}s  rows {len(model_result.rows)}  {summary(model_result)}")
    print(f"ratio full / model-only: {f / m:.1f}x")
    slow = sorted(full_result.evidence.get("arch_seconds", {}).items(), key=lambda kv: -kv[1])[:5]
    print("slowest arches (full): " + ", ".join(f"{a} {s:.1f}s" for a, s in slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
