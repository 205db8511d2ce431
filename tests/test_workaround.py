"""bitlayout.checks.workaround: a [toolchain.workaround] build observes the checks a known
toolchain defect spoils, in rows of their own; the defect row of the default build stays.

hexagon: zig's clang miscompiles 32-bit clear_bit (llvm/llvm-project#205489) unless built
for a CPU without rotate instructions (-mcpu=hexagonv55).  The reproducer is the one in
docs/known-issues.md; when zig is fixed, the default-build test below fails on purpose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bitlayout.options import Options

from bitlayout import toolchains
from bitlayout.backends import runtimes
from bitlayout.checks import DEFECT, MODEL_BUG
from bitlayout.checks.workaround import workaround_rows
from bitlayout.profiles import profile_by_name

DOCS = Path(__file__).resolve().parent.parent / "docs" / "known-issues.md"


def _hexagon_reproducer() -> str:
    text = DOCS.read_text()
    section = text[text.index("## hexagon:"):text.index("## sh4:")]
    return re.search(r"```c\n(.*?)```", section, re.S).group(1)


def _run_reproducer(profile, tmp_path) -> toolchains.RunResult:
    if toolchains.find_compiler(profile) is None or toolchains.find_runner(profile) is None:
        pytest.skip(f"hexagon cannot run here: {toolchains.missing_reason(profile)}")
    src = tmp_path / "min.c"
    src.write_text(_hexagon_reproducer())
    exe = toolchains.compile_c(profile, [src], tmp_path / "min", extra_flags=("-O2",), timeout=600)
    return toolchains.run_binary(profile, exe, timeout=60)


def test_the_default_hexagon_build_still_miscompiles_clear_bit(tmp_path):
    """Fails once zig's clang has llvm#205489: then remove hexagon's known issue and workaround."""
    result = _run_reproducer(profile_by_name("hexagon"), tmp_path)
    assert result.returncode == 1 and "95 wrong of 128" in result.stdout, result.stdout


def test_the_workaround_build_passes_the_reproducer(tmp_path):
    hexagon = profile_by_name("hexagon")
    assert hexagon.toolchain.workaround.cflags == ("-mcpu=hexagonv55",)
    result = _run_reproducer(runtimes.workaround_profile(hexagon), tmp_path)
    assert result.ok and result.stdout.strip() == "0 wrong of 128", result.stdout


def test_the_matrix_keeps_the_defect_row_and_adds_the_labelled_workaround_row():
    from bitlayout.backends.exec import ExecBackend
    from bitlayout.matrix import run_matrix
    from bitlayout.spec import load_default_spec

    hexagon = profile_by_name("hexagon")
    ok, why = ExecBackend().available(hexagon)
    if not ok:
        pytest.skip(f"exec cannot run hexagon here: {why}")
    result = run_matrix(load_default_spec(), ["hexagon"], "exec", ["bitops"], options=Options(jobs=1))
    rows = [r for r in result.rows if r.check == "bitops" and r.backend == "exec"]
    default, workaround = rows
    assert default.status == "error" and default.detail.startswith(DEFECT)
    assert "build" not in default.evidence
    assert workaround.status == "pass", workaround.detail
    assert workaround.detail.startswith("built with -mcpu=hexagonv55 to avoid llvm#205489: ")
    assert workaround.evidence["build"] == "workaround"
    assert list(workaround.evidence["cflags"]) == ["-mcpu=hexagonv55"]
    assert "-mcpu=hexagonv55" in workaround.evidence["toolchain"]
    assert result.cell("hexagon", "bitops") == "error"  # the grid still shows the defect


class _Plan:
    def __init__(self, profile):
        self.profile = profile
        self.arch = profile.name


class _Backend:
    """A stand-in for an opened backend: its name and how it observes."""

    def __init__(self, name, observe):
        self.name, self.observe = name, observe


def test_no_rows_without_a_workaround_or_off_the_exec_backend():
    def never(profile, requests):
        raise AssertionError("nothing to observe")

    exec_, host = _Backend("exec", never), _Backend("host", never)
    assert workaround_rows(_Plan(profile_by_name("mips")), ["bitops"], {"bitops": {}}, exec_) == []
    assert workaround_rows(_Plan(profile_by_name("hexagon")), ["bitops"], {"bitops": {}}, host) == []
    assert workaround_rows(_Plan(profile_by_name("hexagon")), ["tear"], {"tear": {}}, exec_) == []


def test_a_workaround_build_that_cannot_run_is_an_error_row_not_a_pass(monkeypatch):
    from bitlayout.checks import ALL_CHECKS

    class Failed(Exception):
        reason = "compile failed (test)"
        evidence = {"stderr_tail": "x"}

    def failing(profile, requests):
        raise Failed()

    hexagon = profile_by_name("hexagon")
    monkeypatch.setattr(ALL_CHECKS["bitops"], "requests",
                        lambda plan, predicted, backend: [{"probe": "info", "args": {}, "meta": {}}])
    (row,) = workaround_rows(_Plan(hexagon), ["bitops"], {"bitops": {}}, _Backend("exec", failing))
    assert row.status == "error" and not row.detail.startswith(MODEL_BUG)
    assert row.detail == "built with -mcpu=hexagonv55 to avoid llvm#205489: exec: compile failed (test)"
    assert row.evidence["build"] == "workaround"
