"""The shim's bitops in C loops vs plain C loops, and the stress probes' throughput per word width.

    python benchmarks/bench_shim.py [--n 20000000] [--stress-ms 200] [--arch i386,arm,aarch64,mips,ppc64,riscv64,s390x]

Part 1, bitops (same run, same compiler, same flags): a small C file is compiled here with the
compiler and flags the host shim module is built with (Python's ``CC`` and ``CFLAGS`` plus
``_ffi_build.CFLAGS``).  For each word width and for ``test_bit``, ``set_bit`` (atomic) and
``__set_bit`` (``bl_nonatomic_set_bit``), a loop over a table of bit numbers runs in C two ways:

- ``shim``: calling the shim's bitops as its own C code does (``#include "bitops.h"``, the header
  ``stress.c`` and ``probes.c`` use: the single-word bitops are inline there, csrc/bitops_word.h);
- ``plain``: the operation written out in the loop as the kernel's generic bitops do it
  (include/asm-generic/bitops/generic-non-atomic.h, atomic.h): ``test_bit`` a volatile load
  (``generic_test_bit``), ``set_bit`` an unordered atomic or (``arch_set_bit``), ``__set_bit`` a
  plain read-modify-write (``generic___set_bit``).

Both loops compute a checksum, compared before any figure is printed.  Printed: ns per operation
of each and the ratio plain/shim (1.0 = as fast as plain; target >= 0.9), the best of 5 runs each,
the two ways interleaved; and whether the compiler emitted the same instructions for both loops
(``-S``, labels and symbol names normalised): where it did, a ratio away from 1.0 is this
machine's noise (code placement, the other core's load), not the shim.

Part 2, stress probes: a ``tear`` (whole-value reads against a writer) and a ``lost_update``
(atomic set_bit from two threads) probe per word width, ``--stress-ms`` each, on the host (cffi)
and on each ``--arch`` through the exec backend (native or qemu-user; built drivers come from the
build cache, a first run builds them).  Printed: reads/s and ops/s.  No thresholds are asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitlayout import _ffi_build, probes  # noqa: E402
from bitlayout.backends import host  # noqa: E402

WIDTHS = (8, 16, 32, 64)
OPS = ("test_bit", "set_bit", "__set_bit")
STEM = {"test_bit": "test", "set_bit": "set", "__set_bit": "nset"}
RUNS = 5

# One loop per (width, op, way).  The bit numbers come from a table filled at run time, so that
# no loop is folded away; each loop returns a checksum that the caller compares across ways
# (both ways must compute the same thing).
C_LOOPS = r"""
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "bitops.h"  /* the shim's bitops, as stress.c and probes.c see them */

#define NBITS 512
#define TABLE 4096
static unsigned long nrs[TABLE];

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

#define LOOPS(W)                                                                              \
static bl_w##W##_t map##W[NBITS / W];                                                         \
static unsigned long checksum##W(void) {                                                      \
    unsigned long s = 0;                                                                      \
    for (unsigned i = 0; i < NBITS / W; i++) { s = s * 31 + (unsigned long)map##W[i]; map##W[i] = 0; } \
    return s; }                                                                               \
long long test_plain_w##W(long n, unsigned long *sum) {                                       \
    unsigned long s = 0; long long t = now_ns();                                              \
    for (long i = 0; i < n; i++) { unsigned long nr = nrs[i & (TABLE - 1)];                   \
        s += 1 & (*(const volatile bl_w##W##_t *)&map##W[nr / W] >> (nr % W)); }              \
    *sum = s; return now_ns() - t; }                                                          \
long long test_shim_w##W(long n, unsigned long *sum) {                                        \
    unsigned long s = 0; long long t = now_ns();                                              \
    for (long i = 0; i < n; i++) s += bl_test_bit_w##W(nrs[i & (TABLE - 1)], map##W);        \
    *sum = s; return now_ns() - t; }                                                          \
long long set_plain_w##W(long n, unsigned long *sum) {                                        \
    long long t = now_ns();                                                                   \
    for (long i = 0; i < n; i++) { unsigned long nr = nrs[i & (TABLE - 1)];                   \
        __atomic_fetch_or(&map##W[nr / W], (bl_w##W##_t)((bl_w##W##_t)1 << (nr % W)), __ATOMIC_RELAXED); } \
    t = now_ns() - t; *sum = checksum##W(); return t; }                                       \
long long set_shim_w##W(long n, unsigned long *sum) {                                         \
    long long t = now_ns();                                                                   \
    for (long i = 0; i < n; i++) bl_set_bit_w##W(nrs[i & (TABLE - 1)], map##W);              \
    t = now_ns() - t; *sum = checksum##W(); return t; }                                       \
long long nset_plain_w##W(long n, unsigned long *sum) {                                       \
    long long t = now_ns();                                                                   \
    for (long i = 0; i < n; i++) { unsigned long nr = nrs[i & (TABLE - 1)];                   \
        map##W[nr / W] |= (bl_w##W##_t)((bl_w##W##_t)1 << (nr % W)); }                        \
    t = now_ns() - t; *sum = checksum##W(); return t; }                                       \
long long nset_shim_w##W(long n, unsigned long *sum) {                                        \
    long long t = now_ns();                                                                   \
    for (long i = 0; i < n; i++) bl_nonatomic_set_bit_w##W(nrs[i & (TABLE - 1)], map##W);    \
    t = now_ns() - t; *sum = checksum##W(); return t; }

LOOPS(8)
LOOPS(16)
LOOPS(32)
LOOPS(64)

/* The bit numbers, and a pattern in every map for the test_bit loops to find. */
void fill(unsigned seed)
{
    for (unsigned i = 0; i < TABLE; i++) {
        seed = seed * 1103515245u + 12345u;
        nrs[i] = (seed >> 8) % NBITS;
    }
    memset(map8, 0x5a, sizeof map8);
    memset(map16, 0x5a, sizeof map16);
    memset(map32, 0x5a, sizeof map32);
    memset(map64, 0x5a, sizeof map64);
}
/* The set loops leave their map zeroed (checksum); test_bit needs the pattern back. */
void refill(void) { fill(12345); }
"""


def _function_bodies(asm: str) -> dict[str, list[str]]:
    """Each function's instructions in GCC/clang ``-S`` output: directives (``.loc`` lines of -g,
    ``.cfi``, alignment) left out, local labels and the function's own name normalised, so two loops
    with the same code compare equal."""
    bodies: dict[str, list[str]] = {}
    current = None
    for line in asm.splitlines():
        if line and not line[0].isspace() and line.endswith(":") and not line.startswith("."):
            current = line[:-1]
            bodies[current] = []
        elif current and line.strip().startswith(".size"):
            current = None
        elif current is not None:
            text = re.sub(r"\.L\w+", ".L", line.strip())
            if text and not text.startswith("."):
                bodies[current].append(text.replace(current, "<self>"))
    return bodies


def same_code(tmp: Path, compile_argv: list[str]) -> dict[str, bool]:
    """Per ``op_wW``: whether the plain and the shim loop compiled to the same instructions
    (``compile_argv``: the compiler, its flags and loops.c, as the timed build compiles it)."""
    asm = tmp / "loops.s"
    subprocess.run([*compile_argv, "-S", "-o", str(asm)], check=True)
    bodies = _function_bodies(asm.read_text())
    out = {}
    for stem in STEM.values():
        for w in WIDTHS:
            plain, shim = bodies.get(f"{stem}_plain_w{w}"), bodies.get(f"{stem}_shim_w{w}")
            out[f"{stem}_w{w}"] = bool(plain) and plain == shim  # no instructions read: not "same"
    return out


def compile_loops(tmp: Path) -> tuple[ctypes.CDLL, str, dict[str, bool]]:
    """The loops, compiled with the shim module's compiler and flags against the shim's own
    bitops.h, with workers_pthread.c for the fallback lock of widths without lock-free atomics."""
    src = _ffi_build.csrc_dir()  # the C the shim module is built from
    loops = tmp / "loops.c"
    loops.write_text(C_LOOPS)
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    cflags = shlex.split(sysconfig.get_config_var("CFLAGS") or "") + list(_ffi_build.CFLAGS)
    out = tmp / "loops.so"
    compile_argv = [*cc, *cflags, "-fPIC", f"-I{src}", str(loops)]
    subprocess.run([*compile_argv, "-shared", str(src / "workers_pthread.c"), "-o", str(out), "-lpthread"],
                   check=True)
    return ctypes.CDLL(str(out)), " ".join([*cc, *cflags]), same_code(tmp, compile_argv)


def _timed(loops: ctypes.CDLL, name: str, n: int) -> tuple[int, int]:
    f = getattr(loops, name)
    f.restype = ctypes.c_longlong
    s = ctypes.c_ulong()
    if name.startswith("test_"):
        loops.refill()
    ns = f(ctypes.c_long(n), ctypes.byref(s))
    return ns, s.value


def bitops_part(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        loops, how, same = compile_loops(Path(tmp))
        loops.fill(12345)
        print(f"bitops: {n} operations per loop, best of {RUNS}, compiled with: {how}")
        print(f"{'op':10} {'w':>3} {'plain ns':>9} {'shim ns':>9} {'plain/shim':>10}  same code")
        for op in OPS:
            for w in WIDTHS:
                best: dict[str, int] = {}
                sums: dict[str, set[int]] = {"plain": set(), "shim": set()}
                for way in ("plain", "shim"):
                    _timed(loops, f"{STEM[op]}_{way}_w{w}", n // 10)  # warm caches and branch predictors
                for _ in range(RUNS):
                    for way in ("plain", "shim"):
                        ns, s = _timed(loops, f"{STEM[op]}_{way}_w{w}", n)
                        best[way] = min(best.get(way, ns), ns)
                        sums[way].add(s)
                if len(sums["plain"] | sums["shim"]) != 1:
                    raise SystemExit(f"{op} w{w}: the loops disagree: {sums}")
                plain, shim = best["plain"] / n, best["shim"] / n
                code = "yes" if same[f"{STEM[op]}_w{w}"] else "no"
                print(f"{op:10} {w:3} {plain:9.2f} {shim:9.2f} {plain / shim:10.2f}  {code}")


def stress_requests(ms: int) -> list[probes.ProbeRequest]:
    reqs = []
    for w in WIDTHS:
        reqs.append(probes.make_request("tear", w=w, mode="whole", readers=1, ms=ms, max=probes.MAX_U32))
        reqs.append(probes.make_request("lost_update", w=w, threads=2, mode="atomic", ms=ms, max=probes.MAX_U32))
    return reqs


def stress_rows(observations) -> list[str]:
    out = []
    for obs in observations:
        v = obs.values
        secs = max(int(obs.evidence["elapsed_us"]), 1) / 1e6 if "elapsed_us" in obs.evidence else None
        if obs.probe == "tear":
            what = f"reads/s {int(v['reads']) / secs:14,.0f}  (torn {v['torn']})" if secs else "?"
        else:
            what = f"ops/s   {int(v['ops']) / secs:14,.0f}  (lost {v['lost']})" if secs else "?"
        out.append(f"{obs.probe:12} w{obs.params['w']:<3} {what}")
    return out


def stress_part(ms: int, arches: list[str]) -> None:
    from bitlayout.backends.exec import ExecBackend
    from bitlayout.profiles import select_profiles

    reqs = stress_requests(ms)
    print(f"\nstress probes, {ms} ms each (tear: whole-value reads against a writer; lost_update: atomic "
          f"set_bit from 2 threads)")
    print("== host (cffi, native)")
    for line in stress_rows(host.run_many(reqs)):
        print("  " + line)
    backend = ExecBackend(jobs=1, timeout=60 + ms * len(reqs) / 1000)
    for profile in select_profiles(arches) if arches else []:
        outcome = backend.run_one(profile, [r.to_line() for r in reqs])
        where = outcome.evidence.get("emulator", "?")
        print(f"== {profile.name} (exec, {where})")
        if outcome.status != "ok":
            print(f"  {outcome.status}: {outcome.reason}")
            continue
        for line in stress_rows(outcome.observations):
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000_000, help="operations per bitops loop")
    ap.add_argument("--stress-ms", type=int, default=200)
    ap.add_argument("--arch", default="i386,arm,aarch64,mips,ppc64,riscv64,s390x",
                    help="arches for the stress part through the exec backend ('' for none)")
    args = ap.parse_args(argv)
    bitops_part(args.n)
    stress_part(args.stress_ms, [a for a in args.arch.split(",") if a])
    return 0


if __name__ == "__main__":
    sys.exit(main())
