"""bitlayout.results: the vocabulary (Status, Backend, Evidence) and the matrix row's JSON."""

from __future__ import annotations

import json

import pytest

from bitlayout.results import STATUS_RANK, Backend, Evidence, MatrixRow, Status, worst_status


def test_one_ranking_worst_first():
    assert worst_status(["pass", "skip"]) == Status.PASS
    assert worst_status(["pass", "fail", "skip"]) == Status.FAIL
    assert worst_status(["fail", "error"]) == Status.ERROR
    assert worst_status([]) is None
    assert sorted(Status, key=STATUS_RANK.get) == [Status.SKIP, Status.PASS, Status.FAIL, Status.ERROR]


def test_the_json_spells_the_enums_as_before():
    row = MatrixRow("mips", "bounds", Backend.EXEC, "fail", "past the end",
                    evidence={"backend": "exec", "signal": None})
    assert row.status is Status.FAIL
    assert json.loads(json.dumps(row.to_json())) == {
        "arch": "mips", "check": "bounds", "backend": "exec", "status": "fail", "detail": "past the end",
        "predicted": None, "observed": None, "evidence": {"backend": "exec"}}
    with pytest.raises(ValueError):
        MatrixRow("mips", "bounds", "exec", "passed", "")


def test_evidence_has_fixed_keys_and_lists_what_was_recorded():
    ev = Evidence(backend="exec", toolchain="zig 0.13.0 -target mips-linux-musleabi", compiler="zig")
    assert dict(ev) == {"backend": "exec", "toolchain": "zig 0.13.0 -target mips-linux-musleabi", "compiler": "zig"}
    assert "emulator" not in ev and ev.get("emulator") is None
    with pytest.raises(TypeError):
        Evidence.of({"runner": "qemu-mips"})  # not a key: a typo cannot slip into the JSON
    merged = ev.merged({"compile_argv": ["cc", "-c"], "known_issues": ["x"]}, {"compiler": "gcc"})
    assert merged["compiler"] == "gcc" and merged["compile_argv"] == ("cc", "-c")
    assert "compile_argv" not in merged.scalars() and merged.scalars()["backend"] == "exec"
