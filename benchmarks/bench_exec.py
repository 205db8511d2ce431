"""Benchmark: full cross runs of the exec backend over every executable profile, cold and warm.

    python benchmarks/bench_exec.py [--jobs 2] [--stress-ms 0] [--arch all]

Cold: an empty ``BITLAYOUT_CACHE_DIR`` (a fresh temp dir), so every shim binary
is compiled, with a fresh ``-DBL_BENCH_NONCE=...`` so zig's cache of compiled C
objects misses too.  zig's cache of musl itself (~/.cache/zig: built once per
target and CPU, ~25-70 s each the first time ever) is left as it is and
reported: the figures are "cold bitlayout cache, cold objects, warm libc"
unless this machine never built for a target before.  Warm: the same run again
on the now full cache.

Each run is split into phases measured by wall clock:
  compile   build_all: every profile's binary built (or fetched), ``jobs`` at a time;
  run       one start-up run (empty request stream) + one checking run per arch, ``jobs`` at a time;
and within the run phase the per-arch emulator start-up and checking seconds
(summed over arches; parallel, so they add up to about jobs x the run wall).
The checking requests are the non-stress VMA-flags probes; ``--stress-ms N``
adds a tear and a lost-update probe with an N ms budget each, reported apart
(the 30 s warm target excludes the stress budget).  The baseline is one native
x86_64 checking run measured in the same process: ratios are per-arch emulated
checking time over it.  No thresholds: targets are read from the printout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitlayout import probes  # noqa: E402
from bitlayout.backends.buildcache import BuildCache  # noqa: E402
from bitlayout.backends.exec import ExecBackend  # noqa: E402
from bitlayout.profiles import select_profiles  # noqa: E402


def requests_for(stress_ms: int):
    def make(profile):
        w = profile.bits_per_long
        n = 64 // w
        reqs = [
            probes.make_request("info"),
            probes.make_request("image", w=w, n=n, bits=[36]),
            probes.make_request("image", w=w, n=1, bits=[41]),
            probes.make_request("oob_read", w=w, n=1, bits=[0], reads=[0, 41, 43]),
            probes.make_request("arr64", w=w, n=n, nbits=64, bits=[0, 36, 63]),
            probes.make_request("ops", w=w, n=n, ops=[["set", 3], ["test_and_set", 36], ["nclear", 3],
                                                      ["test", 36], ["weight", 64]]),
            probes.make_request("find", w=w, n=n, nbits=64, bits=[5, 40], starts=[0, 6, 41]),
        ]
        if stress_ms:
            reqs += [probes.make_request("tear", w=w, n=n, mode="words", ms=stress_ms, max=probes.MAX_U32),
                     probes.make_request("lost_update", w=w, threads=2, mode="atomic", ms=stress_ms,
                                         max=probes.MAX_U32)]
        return reqs
    return make


def executable(backend: ExecBackend, profiles):
    chosen, left_out = [], {}
    for p in profiles:
        ok, why = backend.available(p)
        if ok and not p.toolchain.run_blocker:
            chosen.append(p)
        else:
            left_out[p.name] = why
    return chosen, left_out


def one_pass(label: str, backend: ExecBackend, profiles, make_requests) -> dict:
    t0 = time.perf_counter()
    builds = backend.build_all(profiles)
    t1 = time.perf_counter()
    outcomes = backend.run(profiles, make_requests)
    t2 = time.perf_counter()
    compile_sum = sum(ev.get("compile_seconds", 0.0) for _, ev, _ in builds.values())
    hits = sum(1 for _, ev, _ in builds.values() if ev.get("cache_hit"))
    startup = {a: o.evidence.get("startup_seconds", 0.0) for a, o in outcomes.items()}
    check = {a: o.evidence.get("run_seconds", 0.0) for a, o in outcomes.items()}
    return {"label": label, "compile_wall": t1 - t0, "run_wall": t2 - t1, "total_wall": t2 - t0,
            "compile_sum": compile_sum, "cache_hits": hits, "startup": startup, "check": check,
            "outcomes": outcomes, "builds": builds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--stress-ms", type=int, default=0, help="add tear + lost_update probes with this budget")
    ap.add_argument("--arch", default="all", help="arch selector (default: all)")
    args = ap.parse_args()

    zig_cache = Path.home() / ".cache" / "zig"
    zig_state = "present (warm for targets built before)" if zig_cache.is_dir() else "absent (cold)"
    make_requests = requests_for(args.stress_ms)

    tmp = Path(tempfile.mkdtemp(prefix="bitlayout-bench-exec-"))
    try:
        # zig also caches compiled C objects (keyed on content and flags) in its global cache;
        # a fresh nonce define makes this run's objects new to zig too, while musl (built once
        # per target and CPU) stays cached: "cold" = cold bitlayout + cold objects, warm libc.
        nonce = f"-DBL_BENCH_NONCE={os.getpid()}{int(time.time())}"
        backend = ExecBackend(jobs=args.jobs, timeout=120, cache=BuildCache(tmp / "exec"),
                              cflags=("-O2", nonce))
        profiles, left_out = executable(backend, select_profiles(args.arch))
        print(f"exec benchmark: {len(profiles)} executable profiles, jobs={args.jobs}, "
              f"stress budget {args.stress_ms} ms x 2 probes per arch; zig cache {zig_cache}: {zig_state}")
        for name, why in left_out.items():
            print(f"  not executable here: {name}: {why}")

        # Baseline in the same run: the native x86_64 checking run (no emulator).
        native = [p for p in profiles if p.name == "x86_64"]
        passes = [one_pass("cold", backend, profiles, make_requests),
                  one_pass("warm", backend, profiles, make_requests)]
        base = passes[1]["check"].get("x86_64") if native else None

        warm = passes[1]
        print(f"\n{'arch':12} {'status':6} {'toolchain':44} {'emulator':34} {'cold compile s':>14} "
              f"{'startup s':>9} {'check s':>8} {'x native':>8}")
        for p in profiles:
            o = warm["outcomes"][p.name]
            cold_ev = passes[0]["builds"][p.name][1]
            ratio = f"{warm['check'][p.name] / base:8.1f}" if base else "       -"
            print(f"{p.name:12} {o.status:6} {o.evidence.get('toolchain', '-')[:44]:44} "
                  f"{str(o.evidence.get('emulator', '-'))[-34:]:34} {cold_ev.get('compile_seconds', 0):14.2f} "
                  f"{warm['startup'][p.name]:9.3f} {warm['check'][p.name]:8.3f} {ratio}")
            if o.status != "ok":
                print(f"{'':12} -> {o.reason[:150]}")

        print()
        for ps in passes:
            ok = sum(1 for o in ps["outcomes"].values() if o.status == "ok")
            st, ck = sum(ps["startup"].values()), sum(ps["check"].values())
            print(f"{ps['label']:5}: total {ps['total_wall']:7.2f} s wall = compile {ps['compile_wall']:7.2f} s "
                  f"(cache hits {ps['cache_hits']}/{len(profiles)}, sum {ps['compile_sum']:.2f} s) "
                  f"+ run {ps['run_wall']:6.2f} s (sum over arches: emulator start-up {st:.2f} s, "
                  f"checking {ck:.2f} s); {ok}/{len(profiles)} ok")
        stress_total = 2 * args.stress_ms / 1000 * len(profiles) / max(1, args.jobs)
        warm_ex = passes[1]["total_wall"] - stress_total
        print(f"warm / cold wall ratio: {passes[1]['total_wall'] / passes[0]['total_wall']:.3f}")
        print(f"warm wall excluding the stress budget (~{stress_total:.1f} s at jobs={args.jobs}): "
              f"{warm_ex:.2f} s (target <= 30 s)")
        if base:
            emulated = [passes[1]["check"][p.name] / base for p in profiles
                        if p.name != "x86_64" and passes[1]["outcomes"][p.name].status == "ok"]
            if emulated:
                print(f"checking run vs native x86_64 baseline ({base:.3f} s): median x{statistics.median(emulated):.1f}, "
                      f"max x{max(emulated):.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
