"""Check outcomes -> MatrixRows: the model's row, known toolchain defects (DEFECT)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BitlayoutError
from ..expressions import ExprEvalError
from ..profiles import Profile
from ..results import Backend, MatrixRow, Status, plain
from .base import CHECKS, DEFECT, MODEL_BUG, Check, CheckOutcome, Skip
from .plan import ArchPlan

if TYPE_CHECKING:
    from ..backends import Observer


def model_row(check: Check, plan: ArchPlan) -> tuple[MatrixRow, Any]:
    """The model backend's row for one check on one arch, and the prediction (for other backends)."""
    if plan.layout is None and check.name != "profile":
        if plan.layout_error.skip:
            why = plan.layout_error.message
            return MatrixRow(plan.arch, check.name, Backend.MODEL, Status.SKIP, why), Skip(why)
        why = f"no layout for this arch: {plan.layout_error}"
        return MatrixRow(plan.arch, check.name, Backend.MODEL, Status.ERROR, why), Skip(why)
    try:
        predicted = check.predict(plan)
    except Skip as exc:
        return MatrixRow(plan.arch, check.name, Backend.MODEL, Status.SKIP, str(exc)), Skip(str(exc))
    except (BitlayoutError, ExprEvalError) as exc:
        return MatrixRow(plan.arch, check.name, Backend.MODEL, Status.ERROR, f"model: {exc}"), exc
    except Exception as exc:  # noqa: BLE001 - a bug in a check is an error row, never a lost arch
        return MatrixRow(plan.arch, check.name, Backend.MODEL, Status.ERROR,
                         f"internal error in the {check.name} check: {type(exc).__name__}: {exc}"), exc
    out = check.model_outcome(plan, predicted)
    return MatrixRow(plan.arch, check.name, Backend.MODEL, out.status, out.detail, plain(out.predicted),
                     plain(out.observed), out.evidence), predicted


def known_issues_for(profile: Profile, check: str) -> list[str]:
    """The profile's ``[toolchain] known_issues`` that apply to ``check``.

    An entry ``"<check>: <reason>"`` (``<check>`` one of ``CHECKS``) applies to that check
    only; any other entry applies to every check on the arch.  Returns the reasons.
    """
    out = []
    for entry in profile.toolchain.known_issues:
        head, sep, rest = entry.partition(":")
        if sep and head.strip() in CHECKS:
            if head.strip() == check:
                out.append(rest.strip())
        else:
            out.append(entry.strip())
    return out


def label_known_issue(profile: Profile, check: str, backend: Observer, out: CheckOutcome) -> CheckOutcome:
    """Relabel a model-vs-backend disagreement that a known toolchain/emulator defect explains.

    Only an ``error`` whose detail is a ``MODEL_BUG`` on a backend whose observations come
    from the profile's toolchain (``on_arch``: its compiler, its emulator) is relabelled; it
    stays an error (the observation is still wrong) and keeps the original comparison after
    the reason.
    """
    if out.status != Status.ERROR or not out.detail.startswith(MODEL_BUG) or not backend.on_arch:
        return out
    reasons = known_issues_for(profile, check)
    if not reasons:
        return out
    rest = out.detail[len(MODEL_BUG):].lstrip(": ")
    return CheckOutcome(out.status, f"{DEFECT}: {'; '.join(reasons)} (observed: {rest})",
                        out.predicted, out.observed, out.evidence.merged({"known_issues": reasons}))


def outcome_row(check: Check, plan: ArchPlan, backend: Observer, out: CheckOutcome) -> MatrixRow:
    out = label_known_issue(plan.profile, check.name, backend, out)
    return MatrixRow(plan.arch, check.name, backend.name, out.status, out.detail, plain(out.predicted),
                     plain(out.observed), out.evidence)
