"""Result objects shared by every backend, check and renderer.

A backend returns ``Observation`` objects; a check compares them with the
model's prediction and yields ``MatrixRow`` objects, whose JSON form is the
``bitlayout.matrix/1`` contract in DESIGN.md (keep it stable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "skip", "error")
MATRIX_SCHEMA = "bitlayout.matrix/1"
LAYOUT_SCHEMA = "bitlayout.layout/1"


@dataclass(frozen=True)
class Observation:
    """What one backend saw for one probe on one arch.

    ``values`` is plain data (ints, strings, lists, dicts) so that the host
    backend (cffi) and the exec backend (a foreign binary printing JSON lines)
    produce equal objects for equal behaviour.  ``evidence`` says how it was
    seen: toolchain, emulator, counts and timings; it never enters equality.
    """

    probe: str
    params: dict[str, Any]
    values: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MatrixRow:
    arch: str
    check: str
    backend: str  # "model", "host", "compiled", "exec"
    status: str  # one of STATUSES
    detail: str
    predicted: Any = None
    observed: Any = None
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        assert self.status in STATUSES, self.status

    def to_json(self) -> dict[str, Any]:
        """The contract row: exactly these keys (extra evidence goes in its own key)."""
        row = {
            "arch": self.arch, "check": self.check, "backend": self.backend,
            "status": self.status, "detail": self.detail,
            "predicted": self.predicted, "observed": self.observed,
        }
        if self.evidence:
            row["evidence"] = self.evidence
        return row
