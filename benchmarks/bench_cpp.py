"""The built-in preprocessor against each arch's compiler ``-E``, same inputs, same run.

    python benchmarks/bench_cpp.py [--arch SEL] [--headers N]

Corpus: the UAPI corpus of tests/test_layout_uapi.py as one translation unit, and libc headers
of each sysroot included alone (``--headers N`` of tests/test_cfront_cpp.py's list, default 11).
For every profile whose reference compiler is installed:

- compiler: ``cfront.preprocess_for(builtin=False)``: the compiler's ``-E -dD`` (wall and CPU,
  children included) and reading its ``#define`` lines for LayoutSet.macros;
- built-in, cold: an empty cache directory (the compiler's include path measured once per
  compiler, as on a fresh machine) and no in-process memo;
- built-in, in process: the same inputs again for every arch, in-process memo cleared but the
  per-file memo kept (what a second `layout` call in one process does);
- built-in, warm: in-process caches cleared, the on-disk cache kept (what the next CLI process
  does).

Every built-in result is compared with the compiler's as token streams first (exactness is not
traded for speed); printed: seconds per route and the ratio compiler/built-in.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bitlayout import cfront, profiles, toolchains  # noqa: E402
from bitlayout.cfront import pplex, preprocess  # noqa: E402
from cpp_support import kind_of, token_stream  # noqa: E402
from test_cfront_cpp import LIBC_HEADERS, MORE_LIBC_HEADERS  # noqa: E402
from test_layout_uapi import INCLUDES, UAPI_HEADERS  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _pass(jobs, builtin: bool) -> tuple[float, float, dict]:
    wall, cpu = time.perf_counter(), _cpu()
    out = {}
    for key, paths, dirs, p in jobs:
        text, how, _macros = cfront.preprocess_for(paths, p, dirs, builtin=builtin)
        out[key] = (text, how)
    return time.perf_counter() - wall, _cpu() - cpu, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all")
    ap.add_argument("--headers", type=int, default=len(LIBC_HEADERS))
    args = ap.parse_args()
    chosen = [p for p in profiles.select_profiles(args.arch) if toolchains.find_compiler(p, kind_of(p)) is not None]
    headers = (LIBC_HEADERS + MORE_LIBC_HEADERS)[:args.headers]
    src = Path(tempfile.mkdtemp(prefix="bench-cpp-src-"))
    jobs = []
    for p in chosen:
        jobs.append(((p.name, "uapi"), list(UAPI_HEADERS), list(INCLUDES), p))
        for h in headers:
            f = src / (h.replace("/", "_") + ".c")
            f.write_text(f"#include <{h}>\n")
            jobs.append(((p.name, h), [f], [], p))
    cache = tempfile.TemporaryDirectory(prefix="bench-cpp-cache-")
    os.environ["BITLAYOUT_CACHE_DIR"] = cache.name

    cfront.clear_caches()
    comp_wall, comp_cpu, expected = _pass(jobs, builtin=False)
    cfront.clear_caches()
    pplex.clear_caches()
    cold_wall, cold_cpu, got = _pass(jobs, builtin=True)
    bad = [k for k in expected if token_stream(expected[k][0]) != token_stream(got[k][0])]
    if bad:
        print(f"DIFFERENT TOKENS: {len(bad)} of {len(jobs)}, e.g. {bad[:3]}")
        return 1
    routes = {how for _t, how in got.values()}
    for name in os.listdir(Path(cache.name) / "cpp"):
        if name.startswith("pp-"):
            os.unlink(Path(cache.name) / "cpp" / name)
    # in process: files read once already (pplex's memo kept), run memo and disk cache empty
    preprocess.clear_caches()
    proc_wall, proc_cpu, _ = _pass(jobs, builtin=True)
    # next process: in-process caches cleared, disk cache kept
    cfront.clear_caches()
    pplex.clear_caches()
    warm_wall, warm_cpu, again = _pass(jobs, builtin=True)
    assert all(again[k][0] == got[k][0] for k in got)
    print(f"{len(chosen)} profiles x (UAPI corpus + {len(headers)} libc headers alone) = {len(jobs)} translation "
          f"units, all token-identical to the compiler ({', '.join(sorted(routes))})")
    print(f"{'route':<34} {'wall s':>8} {'cpu s':>8} {'compiler/this':>14}")
    print(f"{'compiler -E -dD':<34} {comp_wall:8.2f} {comp_cpu:8.2f} {'1.0x':>14}")
    for label, wall, cpu in (("built-in, cold (empty caches)", cold_wall, cold_cpu),
                             ("built-in, in process (files read)", proc_wall, proc_cpu),
                             ("built-in, warm (disk cache)", warm_wall, warm_cpu)):
        print(f"{label:<34} {wall:8.2f} {cpu:8.2f} {f'{comp_wall / wall:.1f}x wall, {comp_cpu / cpu:.1f}x cpu':>14}")
    cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
