"""Checks: a model prediction + a backend observation + an assertion, as ``MatrixRow``s.

Every check runs in two phases so that a backend that is expensive to start
(the exec backend runs one emulator process per arch) is asked once per arch:

1. ``plan_arch(spec, profile, layout)`` computes everything the model says for
   one arch (pure: layout engine + bitmap/tagging models), and each check's
   ``requests(plan)`` lists the probes it wants observed (plain data,
   ``bitlayout.probes`` formats them);
2. after the backend answered, ``judge(plan, predicted, backend, pairs)`` compares
   ((request, observation) pairs, in request order).

Status meanings (``results.Status``, ``bitlayout.matrix/1``):

- ``pass``: the model and the observation agree and there is no hazard;
- ``fail``: a **real hazard** (a flag that exists on this arch but lies outside
  its type, a mask or value read that can tear, too few free tag bits, a false
  expectation) — confirmed by the backend when one observed it;
- ``error``: the model and the backend **disagree** ("model/profile bug"), or the
  check could not be computed (layout error, crashed probe);
- ``skip``: this backend cannot observe this check here (the reason says why
  and how to get the tool).

For the ``model`` backend, hazard checks report the model's own finding;
checks that only compare (profile, bitops, lost-update) skip with the reason.

Modules: ``base`` (names, Check protocol, probe requests), ``plan`` (per-arch
plan), ``rows`` (outcomes -> rows, known issues), ``layout_checks`` (profile,
layout), ``bitmap_checks`` (bit-position, bitops, arr64, bounds),
``concurrency`` (tear, lost-update), ``tag_bits`` (tag-bits), ``expect``.
This module is the registry and re-exports the public names.
"""

from __future__ import annotations

from ..probes import GUARD_WORDS
from .base import CHECKS, DEFECT, HAZARD, MODEL_BUG, Check, CheckOutcome, Skip, probe
from .bitmap_checks import Arr64Check, BitopsCheck, BitPositionCheck, BoundsCheck
from .concurrency import LostUpdateCheck, TearCheck
from .expect import ExpectCheck, ModelContext
from .layout_checks import LayoutCheck, ProfileCheck
from .plan import (ArchPlan, BitmapPlan, Flag, LayoutFailure, enumerators, flags_on_arch, plan_arch, pointee_of,
                   pointer_member)
from .rows import known_issues_for, label_known_issue, model_row, outcome_row
from .tag_bits import TagBitsCheck, tag_prediction

ALL_CHECKS: dict[str, Check] = {c.name: c for c in (
    ProfileCheck(), LayoutCheck(), BitPositionCheck(), BitopsCheck(), Arr64Check(), BoundsCheck(),
    TearCheck(), LostUpdateCheck(), TagBitsCheck(), ExpectCheck())}
assert tuple(ALL_CHECKS) == CHECKS

__all__ = [
    "ALL_CHECKS", "CHECKS", "DEFECT", "GUARD_WORDS", "HAZARD", "MODEL_BUG",
    "ArchPlan", "Arr64Check", "BitPositionCheck", "BitmapPlan", "BitopsCheck", "BoundsCheck",
    "Check", "CheckOutcome", "ExpectCheck", "Flag", "LayoutCheck", "LayoutFailure", "LostUpdateCheck", "ModelContext",
    "ProfileCheck", "Skip", "TagBitsCheck", "TearCheck", "enumerators", "flags_on_arch", "known_issues_for",
    "label_known_issue", "model_row", "outcome_row", "plan_arch", "pointee_of", "pointer_member", "probe",
    "tag_prediction",
]
