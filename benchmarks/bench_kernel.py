"""Kernel TUs per arch: the layout model against the compilers producing the same facts, same run.

    python benchmarks/bench_kernel.py TREE [TREE...] [--arch SEL] [--out DIR] [--no-cli] [--verify]

For every TREE (a kernel source tree or a prepared linux-headers-* directory) and every selected
profile the tree has a prepared build for (``bitlayout kernel prepare TREE`` first), one TU
including <linux/mm_types.h>, <linux/sched.h>, <linux/fs.h> and <linux/skbuff.h>, and every
struct, union, enum and typedef of it (1,100-1,400 types):

- ``compiler``: the TU compiled with Kbuild's command plus ``-g`` and the marker arrays, DWARF read
  back (``kernel.facts.kernel_compiled_layout``: two compiles, as the compiled backend does);
- ``model``: the same TU preprocessed with Kbuild's command (``-E -dD``) and laid out in this
  process (``kernel.abi.kernel_profile`` + ``layout.layout_text`` + ``to_contract`` of the same
  names); ``-E`` and the layout are timed apart, the ratio counts both;
- ``cli``: ``bitlayout layout --kernel TREE <headers> --arch A --format json --type ...`` (every
  name the model lays out) as a process of its own: start-up, ``-E``, layout and JSON; its types
  must equal the in-process model's;
- ``cli, all arches``: one ``bitlayout layout --kernel TREE <headers> --arch A1,A2,... --format json
  --all-types`` process for every arch of the tree, as a user asks for all of them (Kbuild's ``-E``
  of the next arches runs while one is laid out; declarations shared with an arch before are
  replayed, ``cfront.declmemo``); wall and CPU (the process and its compilers) against the
  compilers' total, and its types equal to the in-process model's for every arch; cold (every
  ``-E`` run) and warm (``-E`` output kept from the run before, as on a second run: the
  compilers' side keeps nothing);
- agreement: the model's types against the compiler's, type by type (``kernel.facts.compare_types``);
- ``--verify``: the compiler's facts confirmed by the compiler itself (the TU plus one
  ``_Static_assert`` per size, alignment and member offset compiles, ``-fsyntax-only``).

The one-off ``kernel prepare`` time per arch is printed separately (from the prepared builds'
stamps).  ``--out DIR`` writes, per tree and arch, ``<arch>.i``, ``<arch>.dwarf.json``
(``{"schema": "bitlayout.layout/1", "arches": {arch: {"types": ...}}}``) and
``<arch>.command.json`` (Kbuild's argv), plus ``tu.c`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bitlayout import profiles as profiles_mod  # noqa: E402
from bitlayout.backends.compiled import contract_assertions  # noqa: E402
from bitlayout.errors import BitlayoutError, KernelNotPrepared, ToolchainError  # noqa: E402
from bitlayout.kernel import find_tree, kernel_preprocess, prepared_build, tu_source  # noqa: E402
from bitlayout.kernel.abi import kernel_profile  # noqa: E402
from bitlayout.kernel.facts import compare_types, kernel_compiled_layout  # noqa: E402
from bitlayout.kernel.kbuild import command_for  # noqa: E402
from bitlayout.kernel.prepare import STAMP  # noqa: E402
from bitlayout.toolchains import first_error  # noqa: E402

HEADERS = ["linux/mm_types.h", "linux/sched.h", "linux/fs.h", "linux/skbuff.h"]
LAYOUT_SCHEMA = "bitlayout.layout/1"


def tree_label(tree) -> str:
    return tree.build.name if tree.kind == "headers" else f"linux-{tree.version}"


def counts(types: dict) -> dict:
    kinds = {"struct": 0, "union": 0, "enum": 0, "typedef": 0}
    for name in types:
        head = name.split(" ", 1)[0]
        kinds[head if head in kinds else "typedef"] += 1
    return {"types": len(types), **kinds, "members": sum(len(t["members"]) for t in types.values())}


_BITFIELD_ADDRESS = re.compile(r"^.*bitlayout_verify\.c:(\d+):\d+: error: attempt to take address of bit-field")


def verify_facts(command, dwarf: dict) -> int:
    """The facts are the compiler's: the TU with one _Static_assert per size, alignment and member
    offset compiles with Kbuild's flags (-fsyntax-only).  The layout/1 facts do not say which
    members are bit-fields; offsetof of a whole-byte one is refused ("attempt to take address of
    bit-field"): those lines, and only those, are dropped and the rest compiled again.  Returns the
    number of facts asserted."""
    assertions, _ = contract_assertions(dwarf)
    lines = (tu_source(HEADERS) + assertions).splitlines()
    with tempfile.TemporaryDirectory(prefix="bitlayout-verify-") as tmp:
        src = Path(tmp) / "bitlayout_verify.c"
        for attempt in range(2):
            src.write_text("\n".join(lines) + "\n")
            proc = subprocess.run([*command.argv, "-fsyntax-only", "-fmax-errors=0", str(src)], capture_output=True,
                                  text=True, errors="replace")
            if proc.returncode == 0:
                return sum(1 for ln in lines if ln.startswith("_Static_assert"))
            bad = {int(m.group(1)) for m in map(_BITFIELD_ADDRESS.match, proc.stderr.splitlines()) if m}
            if attempt or not bad:
                raise ToolchainError(f"facts not confirmed by the compiler: {first_error(proc.stderr)}")
            lines = [ln for i, ln in enumerate(lines, 1) if i not in bad]
    raise AssertionError("unreachable")


def model_types(text: str, profile, command, inputs: list[str], names: list[str]) -> dict:
    """The layout engine on Kbuild's -E text: the same names' layout/1 types (in this process)."""
    from bitlayout.cfront import collect_macros
    from bitlayout.layout import layout_text

    ls = layout_text(text, kernel_profile(profile, command.argv), inputs[0] if inputs else "<kernel tu>",
                     tuple(inputs), collect_macros(text))
    return ls.to_contract(names)["types"]


# The CLI processes run Kbuild's -E as a first run does, unless a figure is said to be warm.
COLD_ENV = {"BITLAYOUT_NO_FACTS_CACHE": "1"}


def cli_types(tree, profile, names: list[str]) -> tuple[dict, float]:
    """``bitlayout layout --kernel`` as a process of its own: the types it prints and its wall time."""
    argv = [sys.executable, "-m", "bitlayout", "layout", "--kernel", str(tree.given), *HEADERS, "--arch",
            profile.name, "--format", "json"]
    for name in names:
        argv += ["--type", name]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **COLD_ENV}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise ToolchainError(f"bitlayout layout --kernel exited {proc.returncode}: {proc.stderr.strip()[:300]}")
    return json.loads(proc.stdout)["arches"][profile.name]["types"], seconds


def cli_all_arches(tree, names: list[str], warm: bool = False) -> tuple[dict, float, float]:
    """One ``bitlayout layout --kernel --all-types`` process for every arch in ``names``: the types
    it prints per arch, its wall time and CPU time (with its compilers).  ``warm``: Kbuild's -E
    output kept from an earlier run is used (``factscache`` kind ``kernel-e``)."""
    argv = [sys.executable, "-m", "bitlayout", "layout", "--kernel", str(tree.given), *HEADERS, "--arch",
            ",".join(names), "--format", "json", "--all-types"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **({} if warm else COLD_ENV)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise ToolchainError(f"bitlayout layout --kernel exited {proc.returncode}: {proc.stderr.strip()[:300]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {a: v["types"] for a, v in json.loads(proc.stdout)["arches"].items()}, wall, cpu


def run_arch(tree, profile, out_dir: Path | None, with_cli: bool, verify: bool) -> dict:
    command = command_for(tree, profile)
    build = prepared_build(tree, profile)
    try:
        prepare_seconds = json.loads((build / STAMP).read_text()).get("seconds")
    except (OSError, ValueError):
        prepare_seconds = None  # a shipped build (Debian linux-headers): nothing was prepared here
    t0 = time.perf_counter()
    dwarf = kernel_compiled_layout(tree, profile, HEADERS)["types"]
    compiler_seconds = time.perf_counter() - t0
    names = list(dwarf)
    t0 = time.perf_counter()
    text = kernel_preprocess(tree, profile, HEADERS, cache=False)
    e_seconds = time.perf_counter() - t0
    inputs = [str(p) for p in (command.resolve_include(h) for h in HEADERS) if p is not None]
    t0 = time.perf_counter()
    model = model_types(text, profile, command, inputs, names)
    model_seconds = time.perf_counter() - t0
    agreement = compare_types(model, dwarf)
    row = {"arch": profile.name, "prepare_seconds": prepare_seconds, "compiler_seconds": round(compiler_seconds, 3),
           "E_seconds": round(e_seconds, 3), "model_seconds": round(model_seconds, 3),
           "E_bytes": len(text), "E_lines": text.count("\n"), **counts(dwarf), "agreement": agreement.to_json(),
           "compiler": command.compiler_version}
    row["_model"] = model  # for the all-arches process (not printed)
    if with_cli:
        laid_out = [n for n in names if "unsupported" not in model[n]]
        printed, cli_seconds = cli_types(tree, profile, laid_out)
        row["cli_seconds"] = round(cli_seconds, 3)
        row["cli_same_as_model"] = printed == {n: model[n] for n in laid_out}
    if verify:
        t0 = time.perf_counter()
        row["facts_verified"] = verify_facts(command, dwarf)
        row["verify_seconds"] = round(time.perf_counter() - t0, 3)
    if out_dir is not None:
        write_material(out_dir, tree, profile, command, text, dwarf)
    return row


def write_material(out_dir: Path, tree, profile, command, text: str, dwarf: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{profile.name}.i").write_text(text)
    doc = {"schema": LAYOUT_SCHEMA, "arches": {profile.name: {"types": dwarf}}}
    (out_dir / f"{profile.name}.dwarf.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out_dir / f"{profile.name}.command.json").write_text(json.dumps(
        {"tree": str(tree.given), "build": command.build, "argv": list(command.argv),
         "kbuild_line": command.raw, "compiler": command.compiler_version,
         "preprocess": "argv + -E -dD tu.c", "compile": "argv + -g -fno-eliminate-unused-debug-types "
         "-fno-merge-debug-strings -c tu.c (+ _Alignof/sizeof marker arrays)"}, indent=1) + "\n")


def _line(label: str, row: dict) -> str:
    if "error" in row:
        return f"{label:28} {row['arch']:11} error: {row['error']}"
    a = row["agreement"]
    cli = f" cli {row['cli_seconds']:5.2f}" if "cli_seconds" in row else ""
    return (f"{label:28} {row['arch']:11} types {a['compared']:5} equal {a['equal']:5} differ {a['differing']:3} "
            f"unsupported {a['unsupported']:3} | compiler {row['compiler_seconds']:5.2f} -E {row['E_seconds']:4.2f} "
            f"model {row['model_seconds']:5.2f}{cli} s")


def summarize(rows: list[dict], all_arch_runs: list[dict] = ()) -> list[str]:
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return []
    comp = sum(r["compiler_seconds"] for r in ok)
    e = sum(r["E_seconds"] for r in ok)
    model = sum(r["model_seconds"] for r in ok)
    out = [f"{len(ok)} tree x arch: compiler (compile -g x2 + DWARF) {comp:.1f} s; model in-process: -E {e:.1f} s + "
           f"layout {model:.1f} s = {e + model:.1f} s -> compiler/model {comp / (e + model):.1f}x "
           f"(layout alone {comp / model:.1f}x)"]
    cli = [r for r in ok if "cli_seconds" in r]
    if cli:
        c = sum(r["cli_seconds"] for r in cli)
        cc = sum(r["compiler_seconds"] for r in cli)
        same = all(r["cli_same_as_model"] for r in cli)
        out.append(f"model as CLI processes (one per arch): {c:.1f} s -> compiler/CLI {cc / c:.1f}x; "
                   f"CLI types == in-process: {same}")
    for run in all_arch_runs:
        cc = sum(r["compiler_seconds"] for r in ok if r["arch"] in run["arches"])
        out.append(f"{run['label']}: one CLI process for {len(run['arches'])} arches: {run['wall']:.1f} s wall, "
                   f"{run['cpu']:.1f} s CPU -> compiler/CLI {cc / run['wall']:.1f}x wall, {cc / run['cpu']:.1f}x "
                   f"CPU; its types == in-process: {run['same']}")
    prep = [r["prepare_seconds"] for r in ok if r["prepare_seconds"]]
    if prep:
        out.append(f"one-off kernel prepare (where bitlayout prepared): {sum(prep):.0f} s over {len(prep)} arches, "
                   f"{min(prep):.0f}-{max(prep):.0f} s each")
    types = sum(r["agreement"]["compared"] for r in ok)
    equal = sum(r["agreement"]["equal"] for r in ok)
    out.append(f"agreement: {equal}/{types} types equal to the compiler's DWARF")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", metavar="TREE")
    ap.add_argument("--arch", default="all")
    ap.add_argument("--out", type=Path, default=None, help="write the material here")
    ap.add_argument("--no-cli", action="store_true", help="leave out the CLI processes")
    ap.add_argument("--verify", action="store_true", help="confirm the compiler's facts with _Static_assert")
    args = ap.parse_args(argv)
    summary, all_rows, all_arch_runs = [], [], []
    for given in args.trees:
        tree = find_tree(given)
        label = tree_label(tree)
        out_dir = args.out / label if args.out else None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "tu.c").write_text(tu_source(HEADERS))
        rows = []
        for profile in profiles_mod.select_profiles(args.arch):
            try:
                prepared_build(tree, profile)
            except KernelNotPrepared:
                continue
            try:
                row = run_arch(tree, profile, out_dir, not args.no_cli, args.verify)
            except BitlayoutError as exc:
                row = {"arch": profile.name, "error": str(exc)[:300]}
            rows.append(row)
            print(_line(label, row), flush=True)
        done = [r for r in rows if "error" not in r]
        if not args.no_cli and len(done) > 1:
            arches = [r["arch"] for r in done]
            cli_all_arches(tree, arches, warm=True)  # fills the -E cache for the warm figure
            for warm in (False, True):
                printed, wall, cpu = cli_all_arches(tree, arches, warm)
                same = all({n: printed[r["arch"]].get(n) for n in r["_model"] if "unsupported" not in r["_model"][n]}
                           == {n: t for n, t in r["_model"].items() if "unsupported" not in t} for r in done)
                what = "warm (-E kept)" if warm else "cold"
                all_arch_runs.append({"label": f"{label}, {what}", "arches": arches, "wall": wall, "cpu": cpu,
                                      "same": same})
                print(f"{label:28} all arches in one CLI process, {what}: {wall:.1f} s wall, {cpu:.1f} s CPU",
                      flush=True)
        for r in rows:
            r.pop("_model", None)
        summary.append({"tree": str(tree.given), "label": label, "version": tree.version, "kind": tree.kind,
                        "headers": HEADERS, "arches": rows})
        all_rows += rows
        if out_dir is not None:
            (out_dir / "summary.json").write_text(json.dumps(summary[-1], indent=1) + "\n")
    for line in summarize(all_rows, all_arch_runs):
        print(line)
    return 0 if all("error" not in r for r in all_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
