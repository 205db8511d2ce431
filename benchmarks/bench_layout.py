"""Layout model vs real compilers on a large real header set, for every profile, in one run.

    python benchmarks/bench_layout.py [--arch SEL] [--repeat N]

Input: the 59-header Linux UAPI corpus of tests/test_layout_uapi.py (/usr/include/linux, one TU,
asm/ from tests/headers/uapi-shim).  For each profile with a compiler:

- model:    preprocess (built-in preprocessor, memoised on the predefined macros the headers
            actually test; --compiler-cpp: each arch's compiler -E) + parse (per top-level
            declaration, cached across arches) + lay out every type -> bitlayout.layout/1 dict
- compiler: compile with -g -c + _Alignof/sizeof probes, read DWARF -> the same dict

Both produce the same facts (asserted: 100% agreement); printed: types, members, seconds, and the
ratio compiler/model measured in this run.  The model's time is also split into its stages.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bitlayout import cfront, layout, profiles  # noqa: E402
from bitlayout.backends import compiled  # noqa: E402
from test_layout_uapi import INCLUDES, UAPI_HEADERS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--compiler-cpp", action="store_true",
                    help="model preprocesses with each arch's compiler -E instead of the built-in preprocessor")
    args = ap.parse_args()
    chosen = [p for p in profiles.select_profiles(args.arch) if compiled.find_compiler(p) is not None]
    headers = list(UAPI_HEADERS)
    cfront._parser()  # build the parser tables once, outside the timings (a per-process constant)

    t_model = t_pp = t_parse = t_layout = 0.0
    t_comp = 0.0
    ntypes = nmembers = 0
    rows = []
    for _ in range(args.repeat):
        cfront._TABLE_CACHE.clear()
        cfront._EXACT_CACHE.clear()
        cfront._CHUNK_CACHE.clear()
        cfront._CPP_MEMO.clear()
        for p in chosen:
            t0 = time.perf_counter()
            text, _how, macros = cfront.preprocess_for(headers, p, INCLUDES, builtin=not args.compiler_cpp)
            t1 = time.perf_counter()
            inputs = tuple(headers)
            tu = cfront.build_table(text, headers[0], inputs)
            t2 = time.perf_counter()
            model = layout.LayoutSet(tu, p, macros).to_contract()
            t3 = time.perf_counter()
            observed = compiled.compiled_layout(headers, p, list(model["types"]), include_dirs=INCLUDES)
            t4 = time.perf_counter()
            if model != observed:
                bad = [n for n in model["types"] if model["types"][n] != observed["types"].get(n)]
                print(f"DISAGREE on {p.name}: {len(bad)} types, e.g. {bad[:3]}")
                return 1
            t_pp += t1 - t0
            t_parse += t2 - t1
            t_layout += t3 - t2
            t_model += t3 - t0
            t_comp += t4 - t3
            nt = len(model["types"])
            nm = sum(len(t["members"]) for t in model["types"].values())
            ntypes += nt
            nmembers += nm
            rows.append((p.name, nt, nm, t3 - t0, t4 - t3))
    print(f"{'arch':<12} {'types':>6} {'members':>8} {'model s':>8} {'compiler s':>10}")
    for name, nt, nm, tm, tc in rows:
        print(f"{name:<12} {nt:>6} {nm:>8} {tm:>8.3f} {tc:>10.3f}")
    print(f"\n{len(chosen)} profiles x {args.repeat}: {ntypes} types, {nmembers} members laid out, 100% agreement")
    print(f"model    {t_model:8.2f} s  (preprocess {t_pp:.2f}, parse {t_parse:.2f}, layout {t_layout:.2f})")
    print(f"compiler {t_comp:8.2f} s  (compile -g -c + DWARF read)")
    print(f"ratio compiler/model: {t_comp / t_model:.2f}x   "
          f"(layout engine alone: {t_comp / t_layout:.1f}x; target >= 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
