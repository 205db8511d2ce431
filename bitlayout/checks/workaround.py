"""Rows from a profile's ``[toolchain.workaround]`` build: the checks a known toolchain
defect spoils, observed again with a build the defect does not affect.

The default build's row stays (labelled as the defect, ``rows.label_known_issue``);
this adds one more exec row per listed check, its detail starting with the
workaround's label ("built with -mcpu=hexagonv55 to avoid llvm#205489: ...") and
its evidence saying ``"build": "workaround"`` and the flags.  The row is judged like
any other: a disagreement here is not excused by the known issue.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..backends import runtimes
from ..profiles import Profile
from ..results import MatrixRow, Observation
from .base import CheckOutcome, Skip, _plain
from .plan import ArchPlan

BUILD = "workaround"

Observe = Callable[[Profile, Sequence[dict[str, Any]]], list[Observation]]


def workaround_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any], backend: str,
                    observe: Observe) -> list[MatrixRow]:
    """One row per check in ``checks`` that the profile's workaround covers (exec only)."""
    from . import ALL_CHECKS

    wa = plan.profile.toolchain.workaround
    if backend != "exec" or wa is None:
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
            pairs = list(zip(requests, observe(variant, requests)))
            out = check.judge(plan, predicted, backend, pairs)
        except Skip as exc:
            out = CheckOutcome("skip", str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed build or run is an error row, not a traceback
            out = CheckOutcome("error", f"{backend}: {getattr(exc, 'reason', exc)}",
                               evidence=dict(getattr(exc, "evidence", {}) or {}))
        seen = pairs[0][1].evidence if pairs else {}
        evidence = {"backend": backend, **{k: v for k, v in seen.items() if not isinstance(v, (dict, list))},
                    **out.evidence, "build": BUILD, "cflags": list(wa.cflags)}
        rows.append(MatrixRow(plan.arch, name, backend, out.status, f"{wa.label}: {out.detail}",
                              _plain(out.predicted), _plain(out.observed), evidence))
    return rows
