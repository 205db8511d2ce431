"""Benchmark: the first default ``bitlayout report`` on a fresh machine, then the same report warm.

    python benchmarks/bench_cold.py [--arch SEL] [--keep DIR]

"Fresh" is everything a first run has to make: an empty bitlayout cache
(``BITLAYOUT_CACHE_DIR``: shim drivers, compiler identities, parse caches) and
empty zig caches (``ZIG_GLOBAL_CACHE_DIR``, ``ZIG_LOCAL_CACHE_DIR``: zig's
per-target C library and compiler-rt builds), both in a new temporary
directory; what ``bash .ci/install`` puts on the machine (apt packages, pip,
the prebuilt host module) is already there.  The report is run as a user runs
it, a fresh ``python -m bitlayout report`` process, then once more on the now
warm caches: the ratio cold / warm is measured in the same run.  Wall and CPU
(this process's children: bitlayout, its compilers, qemu) are printed for both.
Target (issue 13): cold <= 90 s wall on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_COLD_SECONDS = 90.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_report(env: dict[str, str], out: Path, arch: str | None) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, exit status, last stderr line) of one report process."""
    argv = [sys.executable, "-m", "bitlayout", "report", "-q", "-o", str(out)]
    if arch:
        argv += ["--arch", arch]
    cpu0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return wall, cpu, done.returncode, last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", help="arch selector passed to the report (default: every arch)")
    ap.add_argument("--keep", type=Path, help="use (and keep) this directory for the fresh caches")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bitlayout-cold-"))
    if args.keep and root.exists() and any(root.iterdir()):
        print(f"bench_cold: {root} is not empty; a cold run needs empty caches", file=sys.stderr)
        return 2
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, BITLAYOUT_CACHE_DIR=str(root / "bitlayout"), ZIG_GLOBAL_CACHE_DIR=str(root / "zig"),
               ZIG_LOCAL_CACHE_DIR=str(root / "zig-local"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    # Python's own bytecode is not a compiler cache the user lacks: keep it as an installed package has it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        print(f"caches in {root} (empty); cores: {os.cpu_count()}")
        figures = {}
        for phase in ("cold", "warm"):
            wall, cpu, rc, last = run_report(env, root / f"{phase}.html", args.arch)
            figures[phase] = wall
            # Exit 1 is the default's real hazards; 2 would be a broken run, not a figure.
            state = "ok" if rc in (0, 1) else f"FAILED ({last})"
            print(f"{phase:5} report: {wall:7.1f} s wall  {cpu:7.1f} s CPU  exit {rc} {state}")
            if rc not in (0, 1):
                return 1
        cold, warm = figures["cold"], figures["warm"]
        print(f"cold / warm: {cold / warm:.1f}x   cold vs target {TARGET_COLD_SECONDS:.0f} s: "
              f"{'met' if cold <= TARGET_COLD_SECONDS else 'not met'}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
