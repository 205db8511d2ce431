"""bitlayout.backends: the registry, and a new backend as one small class (docs/internals.md,
"Adding a backend")."""

from __future__ import annotations

import pytest

from bitlayout.backends import Observes, ProbeObserver, backend_names, register, registered, unregister
from bitlayout.bitmap import BitmapGeometry, predict_values
from bitlayout.matrix import parse_backends, run_matrix
from bitlayout.options import Options
from bitlayout.probes import GUARD_WORDS
from bitlayout.results import Backend, Observation, Status
from bitlayout.spec import load_default_spec


class Paper(ProbeObserver):
    """A toy backend: answers the bitmap probes with the bit-position model itself."""

    name = "paper"
    order = 50

    def observe(self, profile, requests):
        return [Observation(r["probe"], r["args"], predict_values(
            BitmapGeometry.from_profile(profile, r["args"]["w"] // 8, r["args"]["n"]), r["probe"], r["args"],
            GUARD_WORDS)) for r in requests]


@pytest.fixture
def paper():
    register(Paper)
    yield Paper
    unregister(Paper.name)


def test_the_shipped_backends_register_themselves_in_order():
    assert backend_names()[:6] == [Backend.MODEL, Backend.HOST, Backend.COMPILED, Backend.COMPILED_ALTERNATE,
                                   Backend.EXEC, Backend.EXEC_ALTERNATE]
    kinds = {name: (cls.observes, cls.on_arch, cls.rank) for name, cls in registered().items()}
    assert kinds["model"] == (Observes.NOTHING, False, 0)
    assert kinds["host"] == (Observes.PROBES, False, 0)
    assert kinds["compiled"] == (Observes.LAYOUT, True, 0)
    assert kinds["compiled-alternate"] == (Observes.LAYOUT, True, 1)
    assert kinds["exec"] == (Observes.PROBES, True, 0)
    assert kinds["exec-alternate"] == (Observes.PROBES, True, 1)


def test_a_registered_backend_gets_rows_in_the_matrix(paper):
    assert "paper" in backend_names() and parse_backends("auto")[0][-1] == "paper"
    result = run_matrix(load_default_spec(), "i386,x86_64", "model,paper", ["bit-position", "bounds"],
                        Options(jobs=1))
    rows = {(r.arch, r.check): r for r in result.rows if r.backend == "paper"}
    assert set(rows) == {(a, c) for a in ("i386", "x86_64") for c in ("bit-position", "bounds")}
    assert rows[("i386", "bit-position")].status == Status.PASS
    assert rows[("i386", "bit-position")].detail.startswith("paper: __set_bit put all")
    assert rows[("i386", "bounds")].status == Status.FAIL and "confirmed by paper" in rows[("i386", "bounds")].detail
    assert rows[("x86_64", "bounds")].status == Status.PASS
    assert rows[("i386", "bounds")].evidence == {"backend": "paper"}
    assert result.backend_notes["paper"] == "ran on 2/2 arches"
    assert not [r for r in result.rows if r.backend == "paper" and r.status == Status.ERROR]


def test_a_registered_backend_gets_rows_in_the_report(paper):
    from bitlayout.commands.report import build

    report = build(None, arch="i386,x86_64", backend="model,paper", check="bit-position,bounds",
                   options=Options(jobs=1))
    assert report["run"]["backends"] == ["model", "paper"]
    cell = report["grid"]["cells"]["i386"]["bounds"]
    assert cell["backends"] == {"model": "fail", "paper": "fail"} and cell["observed_by"] == ["paper"]
    assert {(e["arch"], e["check"]) for e in report["evidence"] if e["backend"] == "paper"} == {
        (a, c) for a in ("i386", "x86_64") for c in ("bit-position", "bounds")}
    le32 = next(g for b in report["bitmaps"] if b["type"] == "vma_flags_t"
                for g in b["groups"] if "i386" in g["arches"])
    assert {"backend": "paper", "arches": ["i386"], "checks": ["bit-position", "bounds"]} in le32["observers"]["by"]
    # Not the arch's own toolchain: paper's rows do not verify an arch.
    assert all("paper" not in a["toolchains"] for a in report["arches"])
    assert next(a for a in report["arches"] if a["name"] == "i386")["verified_by"] == ""


def test_an_unknown_backend_is_a_usage_error():
    from bitlayout.errors import UsageError

    with pytest.raises(UsageError, match="unknown backend 'paper'"):
        parse_backends("model,paper")


class Tally(ProbeObserver):
    """A toy stress backend: answers tear and lost-update runs with fixed counts, and keeps
    every request it was sent."""

    name = "tally"
    order = 51
    sent: list = []

    def observe(self, profile, requests):
        Tally.sent.extend(requests)
        answers = {"tear": {"torn": 0, "reads": 5000, "writes": 7000, "first_us": -1},
                   "lost_update": {"ops": 4000, "lost": 0}}
        return [Observation(r["probe"], r["args"], dict(answers[r["probe"]],
                                                        lost=3 if r["args"].get("mode") == "nonatomic" else 0)
                            if r["probe"] == "lost_update" else answers[r["probe"]]) for r in requests]


def test_equal_probe_requests_run_once_and_their_work_counts_once():
    # x86_64: vma_flags_t, vm_flags_t and vm_flags_u64_t are all one 64-bit word, so their tear
    # probes and their lost-update probes are the same requests.
    register(Tally)
    Tally.sent = []
    try:
        result = run_matrix(load_default_spec(), "x86_64", "model,tally", ["tear", "lost-update"], Options(jobs=1))
    finally:
        unregister(Tally.name)
    probes = sorted((r["probe"], r["args"].get("mode")) for r in Tally.sent)
    assert probes == [("lost_update", "atomic"), ("lost_update", "nonatomic"), ("tear", "whole")]
    rows = {r.check: r for r in result.rows if r.backend == "tally"}
    assert rows["tear"].status == Status.PASS and rows["tear"].detail.endswith("(tally: no tear in 5000 reads)")
    assert [o.get("same_run_as") for o in rows["tear"].observed] == [None, "vma_flags_t", "vma_flags_t"]
    lost = rows["lost-update"]
    assert lost.status == Status.PASS
    assert lost.detail.startswith("atomic set_bit lost none of 4000 updates on 3 types; plain __set_bit lost 3 ")
    assert [o.get("same_run_as") for o in lost.observed] == [None, None, "vma_flags_t", "vma_flags_t",
                                                               "vma_flags_t", "vma_flags_t"]
