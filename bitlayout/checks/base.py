"""What every check shares: names, statuses, the Check protocol, probe requests, text helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UsageError
from ..probes import MAX_STRESS_MS
from ..results import Observation

if TYPE_CHECKING:
    from .plan import ArchPlan, BitmapPlan

CHECKS = ("profile", "layout", "bit-position", "bitops", "arr64", "bounds", "tear",
          "lost-update", "tag-bits", "expect")

MODEL_BUG = "model/profile bug"
HAZARD = "real hazard"
# A disagreement on an arch whose profile lists a measured toolchain/emulator defect for
# this check ([toolchain] known_issues, docs/known-issues.md): still an error row, but the
# label says the observation, not the model, is what is known to be wrong.
DEFECT = "emulator/toolchain defect"
# Backends whose observations come from the profile's [toolchain] (cross compiler, qemu);
# the host and model backends never use it, so a known issue cannot excuse them.
TOOLCHAIN_BACKENDS = ("exec", "compiled")


class Skip(Exception):
    """This check cannot run here; the message is the reason."""


@dataclass
class CheckOutcome:
    """What a check concluded for one arch and backend (becomes one MatrixRow)."""

    status: str
    detail: str
    predicted: Any = None
    observed: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)


class Check:
    name = ""
    # What the model backend alone can conclude: "verdict" (a hazard finding) or "" (skip).
    model_verdict = True

    def predict(self, plan: ArchPlan) -> Any:
        raise NotImplementedError

    def model_outcome(self, plan: ArchPlan, predicted: Any) -> CheckOutcome:
        raise NotImplementedError

    def requests(self, plan: ArchPlan, predicted: Any, backend: str) -> list[dict[str, Any]]:
        """Probe requests this check wants ``backend`` to answer: ``probe(...)`` dicts."""
        return []

    def judge(self, plan: ArchPlan, predicted: Any, backend: str,
              pairs: Sequence[tuple[dict[str, Any], Observation]]) -> CheckOutcome:
        """Compare; ``pairs`` are (request, observation) in request order."""
        raise Skip(f"{backend} backend does not observe {self.name}")

    # The compiled backend observes layout facts (sizes, alignments, offsets read back from a
    # real compiler's DWARF), not behaviour: only checks about layout implement these two.
    def compiled_types(self, plan: ArchPlan, predicted: Any) -> list[str]:
        """C type names whose compiled layout this check needs."""
        raise Skip(f"the compiled backend observes layout facts only, not {self.name} (see host/exec)")

    def judge_compiled(self, plan: ArchPlan, predicted: Any, facts: dict[str, Any]) -> CheckOutcome:
        raise Skip(f"the compiled backend observes layout facts only, not {self.name}")


def probe(name: str, meta: dict[str, Any] | None = None, **args: Any) -> dict[str, Any]:
    """A check's probe request: the ``bitlayout.probes`` probe name and arguments, plus
    ``meta`` (which type/flag it is about) that stays on the Python side."""
    return {"probe": name, "args": args, "meta": meta or {}}


def _wn(geom: Any) -> dict[str, int]:
    """Word width and count of a geometry, as probe arguments."""
    return {"w": geom.word_bytes * 8, "n": geom.nwords}


STRESS_MS = 60  # default per stress probe: tears show within 1 ms under qemu (DESIGN.md); cheap in CI
STRESS_MS_ENV = "BITLAYOUT_STRESS_MS"
STRESS_MS_LIMIT = MAX_STRESS_MS  # the probe protocol's ceiling
STRESS_MAX = 400000


def stress_ms() -> int:
    """Milliseconds per stress probe: ``$BITLAYOUT_STRESS_MS`` (``--stress-ms``), default 60.

    Longer budgets make rare events (lost non-atomic updates, tears on fast hosts) show up in
    the observed rates; where the model says impossible, zero stays zero however long it runs.
    """
    raw = os.environ.get(STRESS_MS_ENV, "").strip()
    if not raw:
        return STRESS_MS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= STRESS_MS_LIMIT:
        raise UsageError(f"{STRESS_MS_ENV} must be a whole number of milliseconds in 1..{STRESS_MS_LIMIT}, "
                         f"got {raw!r}")
    return value


def stress_max() -> int:
    """Operation cap per stress probe, scaled with the time budget so a longer run is not
    cut short by the count (each probe is bounded in time and in count)."""
    return min(0xFFFFFFFF, STRESS_MAX * max(1, stress_ms() // STRESS_MS))


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


def _plain(obj: Any) -> Any:
    """Dataclasses/namedtuples -> dicts, recursively, for JSON rows."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return obj.hex()
    return obj
