"""Benchmark: report generation for the embedded default.

Prints absolute times and ratios against a baseline measured in the same run
(``json.dumps`` of the report dict, the cheapest rendering), so numbers from
different machines compare.  Not a test: run it by hand.

    python benchmarks/bench_report.py [--backend model] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="model")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from bitlayout.commands.report import build
    from bitlayout.report import render

    t0 = time.perf_counter()
    report = build(None, backend=args.backend)
    t_build = time.perf_counter() - t0
    baseline = best_of(lambda: json.dumps(report), args.repeat)
    print(f"build (matrix + layouts + model), backend {args.backend}: {t_build:.2f} s")
    print(f"baseline json.dumps(report): {baseline * 1000:.1f} ms")
    for fmt in ("json", "text", "html"):
        t = best_of(lambda: render(report, fmt), args.repeat)
        size = len(render(report, fmt).encode())
        print(f"render {fmt:<5} {t * 1000:7.1f} ms  = {t / baseline:5.1f} x baseline   {size / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
