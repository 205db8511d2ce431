"""What every check shares: names, the Check protocol, probe requests, text helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..results import Evidence, Observation, Status

if TYPE_CHECKING:
    from ..backends import Observer
    from .plan import ArchPlan, BitmapPlan

CHECKS = ("profile", "layout", "bit-position", "bitops", "arr64", "bounds", "tear",
          "lost-update", "tag-bits", "expect")

MODEL_BUG = "model/profile bug"
HAZARD = "real hazard"
# A disagreement on an arch whose profile lists a measured toolchain/emulator defect for
# this check ([toolchain] known_issues, docs/known-issues.md): still an error row, but the
# label says the observation, not the model, is what is known to be wrong.
DEFECT = "emulator/toolchain defect"


class Skip(Exception):
    """This check cannot run here; the message is the reason."""


@dataclass
class CheckOutcome:
    """What a check concluded for one arch and backend (becomes one MatrixRow)."""

    status: Status
    detail: str
    predicted: Any = None
    observed: Any = None
    evidence: Evidence = field(default_factory=Evidence)


class Check:
    """One check.  ``backend`` arguments are the opened backend (``bitlayout.backends.Observer``):
    its ``name`` for the wording, ``on_arch`` and ``options`` (the stress budget) for the requests."""

    name = ""
    # What the model backend alone can conclude: "verdict" (a hazard finding) or "" (skip).
    model_verdict = True

    def predict(self, plan: ArchPlan) -> Any:
        raise NotImplementedError

    def model_outcome(self, plan: ArchPlan, predicted: Any) -> CheckOutcome:
        raise NotImplementedError

    def requests(self, plan: ArchPlan, predicted: Any, backend: Observer) -> list[dict[str, Any]]:
        """Probe requests this check wants a probe-answering backend to answer: ``probe(...)`` dicts."""
        return []

    def judge(self, plan: ArchPlan, predicted: Any, backend: Observer,
              pairs: Sequence[tuple[dict[str, Any], Observation]]) -> CheckOutcome:
        """Compare; ``pairs`` are (request, observation) in request order."""
        raise Skip(f"{backend.name} backend does not observe {self.name}")

    # A layout backend (compiled) observes layout facts (sizes, alignments, offsets read back
    # from a real compiler's DWARF), not behaviour: only checks about layout implement these two.
    def layout_types(self, plan: ArchPlan, predicted: Any, backend: Observer) -> list[str]:
        """C type names whose layout this check needs from a layout backend."""
        raise Skip(f"the {backend.name} backend observes layout facts only, not {self.name} (see host/exec)")

    def judge_layout(self, plan: ArchPlan, predicted: Any, backend: Observer, facts: dict[str, Any]) -> CheckOutcome:
        raise Skip(f"the {backend.name} backend observes layout facts only, not {self.name}")


def probe(name: str, meta: dict[str, Any] | None = None, **args: Any) -> dict[str, Any]:
    """A check's probe request: the ``bitlayout.probes`` probe name and arguments, plus
    ``meta`` (which type/flag it is about) that stays on the Python side."""
    return {"probe": name, "args": args, "meta": meta or {}}


def _wn(geom: Any) -> dict[str, int]:
    """Word width and count of a geometry, as probe arguments."""
    return {"w": geom.word_bytes * 8, "n": geom.nwords}


def _require(plan: ArchPlan, entries: Sequence[Any] | None = None, table: str = "") -> None:
    """Skip unless the arch has a layout and (with ``table``) the spec has ``[[table]]`` entries.

    A spec with only some of [[bitmap]] / [[tagged_pointer]] / [[expect]] is valid
    (docs/spec.md): a check with nothing to look at is a skip, not an error or a pass.
    """
    if plan.layout is None:
        raise Skip(f"no layout: {plan.layout_error}")
    if table and not entries:
        raise Skip(f"the spec has no [[{table}]]")


def _bitmaps_ok(plan: ArchPlan) -> list[BitmapPlan]:
    _require(plan, plan.spec.bitmaps, "bitmap")
    return [b for b in plan.bitmaps if not b.error]


def _bitmap_errors(plan: ArchPlan) -> dict[str, str]:
    return {b.type: b.error for b in plan.bitmaps if b.error}


def _errors_text(errors: dict[str, str]) -> str:
    """``{name: reason}`` as one readable line (not a Python dict repr)."""
    return "; ".join(f"{k}: {v}" for k, v in errors.items()) or "no reason recorded"
