"""bitlayout.pipeline: each arch is laid out once per run, and the same plan serves every consumer."""

from __future__ import annotations

import pytest

from bitlayout import pipeline
from bitlayout.checks import ALL_CHECKS, LayoutFailure, model_row
from bitlayout.matrix import run_matrix
from bitlayout.options import Options
from bitlayout.report.facts import facts_from_plans
from bitlayout.spec import load_default_spec, load_spec

ARCHES = "i386,x86_64,mips"


@pytest.fixture
def layout_calls(monkeypatch, tmp_path):
    """Count the layout engine's calls through the pipeline, forked matrix workers included
    (they append to a file)."""
    log = tmp_path / "layout-calls"
    log.touch()
    real = pipeline.layout_headers

    def counting(headers, profile, **kw):
        with open(log, "a") as fh:
            fh.write(profile.name + "\n")
        return real(headers, profile, **kw)

    monkeypatch.setattr(pipeline, "layout_headers", counting)
    return lambda: sorted(log.read_text().split())


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_report_run_lays_each_arch_out_once(layout_calls, jobs):
    from bitlayout.commands.report import build

    report = build(None, arch=ARCHES, backend="model", options=Options(jobs=jobs))
    assert layout_calls() == ["i386", "mips", "x86_64"]  # the matrix planned them; the report reused that
    assert {g["label"] for b in report["bitmaps"] for g in b["groups"]} >= {"LE32", "BE32", "LE64"}


def test_plan_all_reuses_the_matrix_plans_and_plans_only_the_rest(layout_calls):
    spec = load_default_spec()
    profiles = spec.select_arches(ARCHES)
    result = run_matrix(spec, profiles, "model", ["bounds"], Options(jobs=1))
    assert layout_calls() == ["i386", "mips", "x86_64"]
    reused = pipeline.plan_all(spec, profiles, done=result.plans)
    assert layout_calls() == ["i386", "mips", "x86_64"]
    assert all(reused[a] is result.plans[a] for a in reused)
    # The page drawn from the matrix's plans is the page drawn from fresh ones.
    fresh = {p.name: pipeline.plan_for(spec, p) for p in profiles}
    assert facts_from_plans(spec, reused) == facts_from_plans(spec, fresh)

    result.plans["mips"] = None  # e.g. a worker could not send it back
    before = layout_calls()
    assert pipeline.plan_all(spec, profiles, done=result.plans)["mips"].arch == "mips"
    assert layout_calls() == sorted(before + ["mips"])


def test_plans_come_back_from_worker_processes():
    spec = load_default_spec()
    result = run_matrix(spec, ARCHES, "model", ["bounds"], Options(jobs=2))
    assert set(result.plans) == {"i386", "x86_64", "mips"}
    for arch, plan in result.plans.items():
        assert plan.arch == arch and plan.layout_error is None
        assert plan.layout.types["vma_flags_t"].size_bytes == (8 if arch == "x86_64" else 4)
        assert [b.type for b in plan.bitmaps] == ["vma_flags_t", "vm_flags_t", "vm_flags_u64_t"]
    assert set(result.to_json()) == {"schema", "results"}


def test_a_layout_failure_travels_as_an_object(tmp_path):
    (tmp_path / "h.h").write_text("#ifdef __x86_64__\nstruct ok { int a; };\n"
                                  "#else\nstruct bad { int a: 99; };\n#endif\n")
    (tmp_path / "s.toml").write_text('headers = ["h.h"]\n[[expect]]\nthat = "sizeof(int) == 4"\n')
    spec = load_spec(tmp_path / "s.toml")
    (i386,) = spec.select_arches("i386")
    plan = pipeline.plan_for(spec, i386)
    assert plan.layout is None and isinstance(plan.layout_error, LayoutFailure)
    assert plan.layout_error.error == "LayoutError" and "99" in plan.layout_error.message
    # The matrix names the error class; the report says the message alone.
    row, _ = model_row(ALL_CHECKS["layout"], plan)
    assert row.detail == f"no layout for this arch: LayoutError: {plan.layout_error.message}"
    x86_64 = pipeline.plan_for(spec, spec.select_arches("x86_64")[0])
    _, _, structs = facts_from_plans(spec, {"i386": plan, "x86_64": x86_64})
    assert structs[0].reasons == {"i386": plan.layout_error.message}
