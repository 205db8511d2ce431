"""Rows from a profile's ``[toolchain.workaround]`` build: the checks a known toolchain
defect spoils, observed again with a build the defect does not affect.

The default build's row stays (labelled as the defect, ``rows.label_known_issue``);
this adds one more exec row per listed check, its detail starting with the
workaround's label ("built with -mcpu=hexagonv55 to avoid llvm#205489: ...") and
its evidence saying ``"build": "workaround"`` and the flags.  The row is judged like
any other: a disagreement here is not excused by the known issue.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..backends import observe_distinct, runtimes
from ..results import Backend, Evidence, MatrixRow, Observation, Status, plain
from .base import CheckOutcome, Skip
from .plan import ArchPlan

BUILD = "workaround"


def workaround_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any], backend) -> list[MatrixRow]:
    """One row per check in ``checks`` that the profile's workaround covers (exec only);
    ``backend``: the opened exec backend (``backends.base.ProbeObserver``)."""
    from . import ALL_CHECKS

    wa = plan.profile.toolchain.workaround
    if backend.name != Backend.EXEC or wa is None:
        return []
    variant = runtimes.workaround_profile(plan.profile)
    rows = []
    for name in checks:
        predicted = predictions.get(name)
        if name not in wa.checks or isinstance(predicted, Exception):
            continue
        check = ALL_CHECKS[name]
        pairs: list[tuple[dict[str, Any], Observation]] = []
        try:
            requests = check.requests(plan, predicted, backend)
            pairs = list(zip(requests, observe_distinct(backend, variant, requests)))
            out = check.judge(plan, predicted, backend, pairs)
        except Skip as exc:
            out = CheckOutcome(Status.SKIP, str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed build or run is an error row, not a traceback
            out = CheckOutcome(Status.ERROR, f"{backend.name}: {getattr(exc, 'reason', exc)}",
                               evidence=Evidence.of(getattr(exc, "evidence", None)))
        seen = pairs[0][1].evidence.scalars() if pairs else Evidence()
        evidence = Evidence(backend=backend.name).merged(seen, out.evidence,
                                                         {"build": BUILD, "cflags": tuple(wa.cflags)})
        rows.append(MatrixRow(plan.arch, name, backend.name, out.status, f"{wa.label}: {out.detail}",
                              plain(out.predicted), plain(out.observed), evidence))
    return rows
