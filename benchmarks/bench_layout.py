"""Layout model vs real compilers on a large real header set, for every profile, in one run.

    python benchmarks/bench_layout.py [--arch SEL] [--repeat N]

Input: the 59-header Linux UAPI corpus of tests/test_layout_uapi.py (/usr/include/linux, one TU,
asm/ from tests/headers/uapi-shim).  For each profile with a compiler:

- model:    preprocess (built-in preprocessor, memoised on the predefined macros the headers
            actually test; --compiler-cpp: each arch's compiler -E) + parse (per top-level
            declaration, cached across arches) + lay out every type -> bitlayout.layout/1 dict.
            Two passes, both with every in-memory cache cleared first and a private cache dir:
            "cold" starts with an empty on-disk parse cache (and fills it), "warm" reuses it
            (preprocessed text and declaration tables only: layouts are always recomputed).
- compiler: compile with -g -c + _Alignof/sizeof probes, read DWARF -> the same dict

Both produce the same facts (asserted: 100% agreement); printed: types, members, seconds, and the
ratio compiler/model measured in this run.  The model's time is also split into its stages.

    python benchmarks/bench_layout.py --cli [--arch SEL] [--headers N]

As a new user runs it: one ``bitlayout layout H --arch SEL --format json`` process per header,
default options (the user cache as it is: run twice for the warm figure), over N UAPI headers
each alone plus two libc headers (``<stdlib.h>``, ``<pthread.h>``, laid out with ``--all-types``);
against the compiler producing the same facts per arch (compile -g -c, read DWARF, in this
process).  Printed: wall and CPU seconds (this process and its children) of each side, their
ratios, and how many (header, arch) pairs agree type for type.  A header either side rejects
alone (a UAPI header that needs another one first) is counted and left out.  The kernel TU is
benchmarked by the kernel branch's benchmarks/bench_kernel.py (it needs Kbuild's command line).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bitlayout import cfront, layout, profiles, toolchains  # noqa: E402
from bitlayout.backends import compiled  # noqa: E402
from test_layout_uapi import INCLUDES, UAPI_HEADERS  # noqa: E402


def _clear_memory_caches() -> None:
    """Forget everything this process has parsed or laid out (the on-disk cache is separate)."""
    cfront.clear_caches()
    layout._SHARED.clear()


def run_model(chosen, headers, compiler_cpp: bool):
    """One pass of the model over every profile: (contracts, stage seconds)."""
    _clear_memory_caches()
    out = {}
    t_pp = t_parse = t_layout = 0.0
    for p in chosen:
        t0 = time.perf_counter()
        text, _how, macros = cfront.preprocess_for(headers, p, INCLUDES, builtin=not compiler_cpp)
        t1 = time.perf_counter()
        tu = cfront.build_table(text, headers[0], tuple(headers))
        t2 = time.perf_counter()
        out[p.name] = layout.layout_table(tu, p, macros).to_contract()
        t3 = time.perf_counter()
        t_pp += t1 - t0
        t_parse += t2 - t1
        t_layout += t3 - t2
    return out, (t_pp, t_parse, t_layout)


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cli_corpus(n: int, tmp: Path) -> list[tuple[Path, bool]]:
    """(header, all_types): N UAPI headers, then libc wrappers laid out with --all-types."""
    out = [(Path(h), False) for h in UAPI_HEADERS[:n]]
    for name in ("stdlib", "pthread"):
        wrapper = tmp / f"libc_{name}.h"
        text = f"#include <{name}.h>\n"
        if not wrapper.is_file() or wrapper.read_text() != text:  # rewritten, it would be a new file
            wrapper.write_text(text)
        out.append((wrapper, True))
    return out


def run_cli_mode(arch: str, n: int) -> int:
    chosen = [p for p in profiles.select_profiles(arch) if toolchains.find_compiler(p) is not None]
    arches = ",".join(p.name for p in chosen)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t_model = c_model = t_comp = c_comp = 0.0
    agree = pairs = rejected = 0
    # The libc wrappers stay at one path from run to run, as a user's own header does (a new
    # temporary directory each run made them new files, preprocessed cold in every "warm" run).
    wrappers = Path(tempfile.gettempdir()) / "bitlayout-bench-layout-cli"
    wrappers.mkdir(exist_ok=True)
    for header, all_types in cli_corpus(n, wrappers):
        argv = [sys.executable, "-m", "bitlayout", "layout", str(header), "--arch", arches, "--format", "json"]
        argv += ["--all-types"] if all_types else ["-I", INCLUDES[0]]
        c0, w0 = _cpu(), time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        dt, dc = time.perf_counter() - w0, _cpu() - c0
        if proc.returncode != 0:
            rejected += 1
            print(f"  model rejects {header.name}: {proc.stderr.strip()[:120]}")
            continue
        model = json.loads(proc.stdout)["arches"]
        c0, w0 = _cpu(), time.perf_counter()
        try:
            observed = {p.name: compiled.compiled_layout([header], p, list(model[p.name]["types"]), cache=False,
                                                         include_dirs=[] if all_types else INCLUDES)
                        for p in chosen}
        except Exception as exc:  # a header the compiler rejects alone
            rejected += 1
            print(f"  compiler rejects {header.name}: {str(exc)[:120]}")
            continue
        t_comp += time.perf_counter() - w0
        c_comp += _cpu() - c0
        t_model += dt
        c_model += dc
        for p in chosen:
            pairs += 1
            agree += observed[p.name] == model[p.name]
    print(f"{n} UAPI headers + <stdlib.h>, <pthread.h>; {len(chosen)} arches ({arches}); "
          f"{rejected} headers left out")
    print(f"model    (one CLI process per header): wall {t_model:7.2f} s  CPU {c_model:7.2f} s")
    print(f"compiler (-g -c + DWARF, per arch):     wall {t_comp:7.2f} s  CPU {c_comp:7.2f} s")
    print(f"ratio compiler/model: wall {t_comp / t_model:.1f}x  CPU {c_comp / c_model:.1f}x  (target >= 10x)")
    print(f"agreement: {agree}/{pairs} (header, arch) pairs identical")
    return 0 if agree == pairs else 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all")
    ap.add_argument("--cli", action="store_true", help="one CLI process per header (see the docstring)")
    ap.add_argument("--headers", type=int, default=40, help="--cli: UAPI headers in the corpus")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--compiler-cpp", action="store_true",
                    help="model preprocesses with each arch's compiler -E instead of the built-in preprocessor")
    args = ap.parse_args()
    if args.cli:
        return run_cli_mode(args.arch, args.headers)
    chosen = [p for p in profiles.select_profiles(args.arch) if toolchains.find_compiler(p) is not None]
    headers = list(UAPI_HEADERS)
    # A private, empty cache directory: "cold" really is cold for the on-disk parse cache.
    tmp = tempfile.TemporaryDirectory(prefix="bench-layout-")
    os.environ["BITLAYOUT_CACHE_DIR"] = tmp.name

    t_comp = 0.0
    rows = {p.name: [0.0, 0.0, 0.0] for p in chosen}
    passes = {}
    for label in ("cold", "warm"):
        tot = [0.0, 0.0, 0.0]
        for r in range(args.repeat):
            if label == "cold" and r:
                shutil.rmtree(Path(tmp.name) / "parse", ignore_errors=True)
            model, stages = run_model(chosen, headers, args.compiler_cpp)
            tot = [a + b for a, b in zip(tot, stages)]
        passes[label] = (model, tot)
    model = passes["cold"][0]
    if passes["warm"][0] != model:
        print("DISAGREE: the warm (on-disk cache) pass differs from the cold one")
        return 1
    ntypes = nmembers = 0
    for p in chosen:
        names = list(model[p.name]["types"])
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            obs = compiled.compiled_layout(headers, p, names, include_dirs=INCLUDES, cache=False)
            dt = time.perf_counter() - t0
            t_comp += dt
            rows[p.name][2] += dt
        if model[p.name] != obs:
            bad = [n for n in names if model[p.name]["types"][n] != obs["types"].get(n)]
            print(f"DISAGREE on {p.name}: {len(bad)} types, e.g. {bad[:3]}")
            return 1
        ntypes += len(names)
        nmembers += sum(len(t["members"]) for t in model[p.name]["types"].values())
    print(f"{'arch':<12} {'types':>6} {'members':>8} {'compiler s':>10}")
    for p in chosen:
        t = model[p.name]["types"]
        print(f"{p.name:<12} {len(t):>6} {sum(len(x['members']) for x in t.values()):>8} "
              f"{rows[p.name][2] / args.repeat:>10.3f}")
    print(f"\n{len(chosen)} profiles x {args.repeat}: {ntypes * args.repeat} types, {nmembers * args.repeat} members "
          "laid out, 100% agreement (cold and warm passes identical)")
    print(f"compiler   {t_comp:8.2f} s  (compile -g -c + DWARF read)")
    for label, note in (("cold", "empty on-disk parse cache; writes it"),
                        ("warm", "on-disk parse cache from the cold pass; in-memory caches cleared")):
        pp, parse, lay = passes[label][1]
        total = pp + parse + lay
        print(f"model {label} {total:8.2f} s  (preprocess {pp:.2f}, parse {parse:.2f}, layout {lay:.2f}; {note})"
              f"   ratio compiler/model {t_comp / total:.2f}x")
    print(f"layout engine alone (cold pass): {t_comp / passes['cold'][1][2]:.1f}x; target >= 10x end to end")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
