"""Host backend throughput, as ratios against a baseline measured in the same run.

    python benchmarks/bench_host.py [--n 2000]

Baseline: the pure model predicting the same probe (bitlayout.bitmap.predict_values).
Prints per probe: shim calls/s, model calls/s, shim/model time ratio.  No
thresholds here: speed targets are judged by reading the ratios, never in unit tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bitlayout import bitmap, probes
from bitlayout.backends import host


def clock(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args(argv)
    host.host_info()  # build / load outside the timing
    le = sys.byteorder == "little"
    cases = [
        probes.make_request("image", w=32, n=2, bits=[0, 36, 41, 100]),
        probes.make_request("ops", w=64, n=4, ops=[["set", i] for i in range(0, 256, 7)] + [["weight", 256]]),
        probes.make_request("arr64", w=32, n=8, nbits=250, bits=list(range(0, 256, 5))),
        probes.make_request("find", w=8, n=16, nbits=120, bits=[3, 77, 119], starts=list(range(0, 128, 8))),
    ]
    print(f"{'probe':8} {'shim/s':>10} {'model/s':>10} {'shim/model':>10}")
    for req in cases:
        g = bitmap.BitmapGeometry(req.params["w"] // 8, req.params["n"], le, 8)
        t_shim = clock(lambda: host.run(req), args.n)
        t_model = clock(lambda: bitmap.predict_values(g, req.probe, req.params, probes.GUARD_WORDS), args.n)
        print(f"{req.probe:8} {args.n / t_shim:10.0f} {args.n / t_model:10.0f} {t_shim / t_model:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
