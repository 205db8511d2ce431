"""Kernel TUs per arch: the compiler side of the kernel benchmark, and the material it writes.

    python benchmarks/bench_kernel.py TREE [TREE...] [--arch SEL] [--out DIR] [--model]

For every TREE (a kernel source tree or a prepared linux-headers-* directory) and every selected
profile the tree has a prepared build for (``bitlayout kernel prepare TREE`` first), one TU
including <linux/mm_types.h>, <linux/sched.h>, <linux/fs.h> and <linux/skbuff.h>:

- ``-E``:  preprocessed with Kbuild's own command (``-E -dD``), seconds and size;
- ``dwarf``: compiled with the same command plus ``-g`` and probes, DWARF read back with
  ``bitlayout.backends.compiled`` -> ``{"types": ...}`` of every struct, union, enum and typedef
  of the TU (bitlayout.layout/1 shape), seconds and counts; then verified: the TU compiles with a
  ``_Static_assert`` per size, alignment and (non-bit-field) member offset of those facts
  (``verify_facts``);
- ``--model``: the layout engine on the preprocessed text (``layout.layout_text``), seconds, and
  agreement with DWARF type by type (the ratio compiler/model is the issue's 10x target); until
  the front end parses kernel C this prints the engine's first error per arch.

The one-off ``kernel prepare`` time per arch is printed separately (from the prepared builds'
stamps).  ``--out DIR`` writes, per tree and arch, ``<arch>.i``, ``<arch>.dwarf.json``
(``{"schema": "bitlayout.layout/1", "arches": {arch: {"types": ...}}}``) and
``<arch>.command.json`` (Kbuild's argv), plus ``tu.c`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import re
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
from bitlayout.kernel.facts import kernel_compiled_layout  # noqa: E402
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


def model_side(text: str, profile, inputs: list[str], dwarf: dict) -> dict:
    from bitlayout.cfront import collect_macros
    from bitlayout.layout import layout_text

    t0 = time.perf_counter()
    try:
        ls = layout_text(text, profile, inputs[0] if inputs else "<kernel tu>", tuple(inputs),
                         collect_macros(text))
        model = ls.to_contract()["types"]
    except BitlayoutError as exc:
        return {"error": str(exc)[:300], "seconds": round(time.perf_counter() - t0, 3)}
    seconds = time.perf_counter() - t0
    same = sum(1 for name, facts in dwarf.items() if model.get(name) == facts)
    return {"seconds": round(seconds, 3), "agree": same, "compared": len(dwarf)}


def run_arch(tree, profile, out_dir: Path | None, with_model: bool) -> dict:
    command = command_for(tree, profile)
    build = prepared_build(tree, profile)
    try:
        prepare_seconds = json.loads((build / STAMP).read_text()).get("seconds")
    except (OSError, ValueError):
        prepare_seconds = None  # a shipped build (Debian linux-headers): nothing was prepared here
    t0 = time.perf_counter()
    text = kernel_preprocess(tree, profile, HEADERS)
    e_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    dwarf = kernel_compiled_layout(tree, profile, HEADERS)["types"]
    dwarf_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    verified = verify_facts(command, dwarf)
    verify_seconds = time.perf_counter() - t0
    row = {"arch": profile.name, "prepare_seconds": prepare_seconds, "E_seconds": round(e_seconds, 3),
           "E_bytes": len(text), "E_lines": text.count("\n"), "dwarf_seconds": round(dwarf_seconds, 3),
           **counts(dwarf), "facts_verified": verified, "verify_seconds": round(verify_seconds, 3),
           "compiler": command.compiler_version}
    if with_model:
        inputs = [str(p) for p in (command.resolve_include(h) for h in HEADERS) if p is not None]
        row["model"] = model_side(text, profile, inputs, dwarf)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{profile.name}.i").write_text(text)
        doc = {"schema": LAYOUT_SCHEMA, "arches": {profile.name: {"types": dwarf}}}
        (out_dir / f"{profile.name}.dwarf.json").write_text(json.dumps(doc, indent=1) + "\n")
        (out_dir / f"{profile.name}.command.json").write_text(json.dumps(
            {"tree": str(tree.given), "build": command.build, "argv": list(command.argv),
             "kbuild_line": command.raw, "compiler": command.compiler_version,
             "preprocess": "argv + -E -dD tu.c", "compile": "argv + -g -fno-eliminate-unused-debug-types "
             "-fno-merge-debug-strings -c tu.c (+ _Alignof/sizeof probe arrays)"}, indent=1) + "\n")
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", metavar="TREE")
    ap.add_argument("--arch", default="all")
    ap.add_argument("--out", type=Path, default=None, help="write the material here")
    ap.add_argument("--model", action="store_true", help="also run the layout engine on the text")
    args = ap.parse_args(argv)
    summary = []
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
                row = run_arch(tree, profile, out_dir, args.model)
            except BitlayoutError as exc:
                row = {"arch": profile.name, "error": str(exc)[:300]}
            rows.append(row)
            print(f"{label:32} {json.dumps(row)}", flush=True)
        summary.append({"tree": str(tree.given), "label": label, "version": tree.version, "kind": tree.kind,
                        "headers": HEADERS, "arches": rows})
        if out_dir is not None:
            (out_dir / "summary.json").write_text(json.dumps(summary[-1], indent=1) + "\n")
    ok = [r for t in summary for r in t["arches"] if "error" not in r]
    if ok:
        e = sum(r["E_seconds"] for r in ok)
        d = sum(r["dwarf_seconds"] for r in ok)
        print(f"total over {len(ok)} tree x arch: -E {e:.1f} s, compile + DWARF {d:.1f} s; prepare (one-off, "
              f"where bitlayout prepared): {sum(r['prepare_seconds'] or 0 for r in ok):.0f} s")
        with_model = [r for r in ok if "seconds" in r.get("model", {}) and "error" not in r["model"]]
        if with_model:
            m = sum(r["model"]["seconds"] for r in with_model)
            print(f"model: {m:.1f} s on {len(with_model)} (compiler/model {d / max(m, 1e-9):.1f}x)")
    return 0 if len(ok) == sum(len(t["arches"]) for t in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
