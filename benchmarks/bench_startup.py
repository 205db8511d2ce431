"""Start-up: ``bitlayout layout small.h --arch x86_64`` (a two-member struct) vs ``python3 -c pass``.

    python benchmarks/bench_startup.py [--runs 15]

Both commands run as fresh processes, interleaved in the same run (the machine's load hits both
alike), with the checkout's bitlayout first on ``PYTHONPATH``.  One untimed run of each first
writes the bytecode and fills the caches a user's second command finds (profile data, compiler
identities).  Prints the median wall time of each, the difference and the ratio, and how the
other light commands compare (``--help``, ``profiles --no-probe``).  Target: the layout at most
0.2 s more than ``python3 -c pass``.  No thresholds are asserted here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(argv: list[str], env: dict, cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode written
    bitlayout = [sys.executable, "-m", "bitlayout"]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "small.h").write_text("struct small { int a; char b; };\n")
        commands = {
            "python3 -c pass": [sys.executable, "-c", "pass"],
            "layout small.h --arch x86_64": bitlayout + ["layout", "small.h", "--arch", "x86_64"],
            "--help": bitlayout + ["--help"],
            "profiles --no-probe": bitlayout + ["profiles", "--no-probe"],
        }
        for cmd in commands.values():  # bytecode, profile data and compiler identities cached
            wall(cmd, env, tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(wall(cmd, env, tmp))
    base = statistics.median(times["python3 -c pass"])
    print(f"runs: {args.runs} each, interleaved; medians of wall time")
    for name, samples in times.items():
        med = statistics.median(samples)
        extra = "" if name == "python3 -c pass" else f"  +{med - base:.3f}s  ({med / base:.1f}x)"
        print(f"{name:32} {med:.3f}s{extra}")
    layout = statistics.median(times["layout small.h --arch x86_64"])
    print(f"layout start-up over python3 -c pass: {layout - base:.3f}s (target <= 0.200s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
