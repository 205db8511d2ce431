"""tools/same_output.py: the before/after comparison hides run-dependent numbers and nothing else."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "same_output.py"
_spec = importlib.util.spec_from_file_location("same_output", TOOL)
same_output = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(same_output)

TEAR_DETAIL = ("real hazard: can tear: vm_flags_t: a full read is 2 loads of 4 bytes (observed by exec: "
               "vm_flags_t torn in {n}/{m} reads (2 loads of 4))")


def _matrix(**changes) -> dict:
    rows = [
        {"arch": "mips", "check": "tear", "backend": "exec", "status": "fail",
         "detail": TEAR_DETAIL.format(n=72811, m=95744), "predicted": {"vm_flags_t": {"full_read_tears": True}},
         "observed": [{"type": "vm_flags_t", "how": "2 loads of 4", "torn": 72811, "reads": 95744, "first_us": 4590}],
         "evidence": {"backend": "exec", "toolchain": "zig 0.17.1 -target mips-linux-musleabi",
                      "compile_seconds": 0.0, "run_seconds": 0.69, "cache_hit": True, "elapsed_us": 39571}},
        {"arch": "mips", "check": "lost-update", "backend": "exec", "status": "pass",
         "detail": "atomic set_bit lost none of 984064 updates on 3 types; plain __set_bit lost 6415 updates on "
                   "vma_flags_t (non-atomic RMW races, as expected)",
         "predicted": {}, "observed": [{"type": "vm_flags_t", "mode": "atomic", "ops": 984064, "lost": 0}]},
        {"arch": "mips", "check": "layout", "backend": "compiled", "status": "pass", "detail": "agrees",
         "predicted": None, "observed": None,
         "evidence": {"backend": "compiled", "toolchain": "zig 0.17.1 -target mips-linux-musleabi",
                      "compiler": "zig", "target": "mips-linux-musleabi", "seconds": 0.4}},
    ]
    doc = {"schema": "bitlayout.matrix/1", "results": rows}
    for path, value in changes.items():
        index, key = path.split(".", 1)
        target = rows[int(index[1:])]
        *parents, leaf = key.split(".")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return doc


def _same(a: dict, b: dict) -> bool:
    return same_output.differences(same_output.normalise(a), same_output.normalise(b)) == []


def test_run_dependent_numbers_are_hidden():
    other = _matrix(**{"r0.detail": TEAR_DETAIL.format(n=5, m=400000), "r0.evidence.run_seconds": 2.5,
                       "r0.evidence.cache_hit": False, "r0.evidence.elapsed_us": 1,
                       "r1.detail": "atomic set_bit lost none of 12 updates on 3 types"})
    other["results"][0]["observed"][0].update(torn=1, reads=2, first_us=3)
    other["results"][0]["evidence"]["compile_argv"] = ["zig", "cc"]  # a cache miss records it
    other["results"][1]["observed"][0].update(ops=5)
    assert _same(_matrix(), other)


def test_everything_else_still_counts():
    base = _matrix()
    for change in ({"r0.status": "pass"}, {"r2.detail": "disagrees"}, {"r0.evidence.toolchain": "gcc 12"},
                   {"r1.predicted": {"x": 1}}, {"r2.evidence.target": "mips-linux-gnu"}):
        assert not _same(base, _matrix(**change)), change
    extra = _matrix()
    extra["results"][2]["evidence"]["runner"] = "qemu"
    assert not _same(base, extra)
    fewer = copy.deepcopy(base)
    fewer["results"].pop()
    assert not _same(base, fewer)


def test_an_old_rows_compiler_is_read_under_its_new_name():
    old = _matrix()
    ev = old["results"][2]["evidence"]
    ev["compiler"] = ev.pop("toolchain")  # compiled: the identity
    new = _matrix()
    for doc, key in ((old, "compiler"), (new, "compiler_version")):
        doc["results"][0]["evidence"][key] = "Clang 22.1.8"  # the shim's __VERSION__
        doc["results"][1]["evidence"] = {"backend": "exec", "compiler": "zig"}  # the kind, unchanged
    assert _same(old, new)
    assert not _same(old, _matrix())


def test_the_checkout_location_is_hidden():
    a, b = _matrix(**{"r2.detail": "/tmp/x/tree/h.h: ok"}), _matrix(**{"r2.detail": "/work/wt/h.h: ok"})
    assert same_output.normalise(a, "/tmp/x/tree") == same_output.normalise(b, "/work/wt/")
    report = {"run": {"generated_utc": "2026-12-03 07:23 UTC", "seconds": 14.9, "backends": ["model"]}}
    assert same_output.normalise(report)["run"] == {"generated_utc": "<normalised>", "seconds": "<normalised>",
                                                    "backends": ["model"]}


def test_stress_findings_are_compared_per_arch_whatever_the_race_folded_together():
    detail = "real hazard: can tear (observed by host: vm_flags_t torn in {} reads (2 loads of 4))"

    def finding(arches, n):
        return {"severity": "fail", "source": "matrix", "checks": ["tear"], "backend": "host", "arches": arches,
                "headline": False, "text": f"tear [host] on {', '.join(arches)}: {detail.format(n)}"}

    folded = {"findings": [{"severity": "note", "text": "n"}, finding(["i386", "hexagon"], "9/9")]}
    apart = {"findings": [{"severity": "note", "text": "n"}, finding(["hexagon"], "5/9"), finding(["i386"], "7/9")]}
    assert same_output.differences(same_output.normalise(folded), same_output.normalise(apart)) == []
    one_missing = {"findings": [{"severity": "note", "text": "n"}, finding(["i386"], "7/9")]}
    assert same_output.differences(same_output.normalise(folded), same_output.normalise(one_missing))
