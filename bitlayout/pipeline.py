"""Below the matrix: a spec laid out once per arch and run, planned once, handed to every consumer.

``plan_for(spec, profile)`` is the one place the spec's headers go through the
layout engine (once per arch, and once more for the arch's other compiler when asked); it returns the arch's ``checks.ArchPlan`` (the LayoutSet, the
bitmap geometries and flags) with a failed layout kept as a
``checks.LayoutFailure`` object.  The matrix plans each arch in its worker and
sends the plan back (``matrix.MatrixResult.plans``); the report takes those
plans (``plan_all(..., done=result.plans)``) instead of laying anything out
again; the pytest plugin plans an arch the first time a test asks for it.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from .checks import ArchPlan, LayoutFailure, plan_arch
from .errors import BitlayoutError
from .layout import LayoutSet, layout_headers
from .profiles import Profile
from .spec import Spec


def lay_out(spec: Spec, profile: Profile) -> tuple[LayoutSet | None, LayoutFailure | None]:
    """The spec's headers laid out for one arch, or why they cannot be (with the spec's ``kernel``:
    taken from that tree with Kbuild's flags; an arch it is not prepared for fails with ``skip``)."""
    try:
        if spec.kernel:
            from .kernel.inputs import KernelSource, kernel_layout

            return kernel_layout(KernelSource.open(spec.kernel), spec.headers, profile, spec.include_dirs,
                                 spec.defines), None
        return layout_headers(list(spec.headers), profile, include_dirs=list(spec.include_dirs),
                              defines=dict(spec.defines)), None
    except BitlayoutError as exc:
        return None, LayoutFailure.of(exc)


def plan_for(spec: Spec, profile: Profile, *, alternate: bool = False) -> ArchPlan:
    """The arch's plan: its layout (or the failure) and everything the model derives from it.

    ``alternate``: also plan the spec for the profile's other compiler (its ``[alternate]``),
    linked as ``plan.other`` (the compiler divergence check and the ``-alternate`` backends need
    it): one more call of the layout engine on the arches that describe two compilers.
    """
    layout, failure = lay_out(spec, profile)
    # A kernel TU is laid out with the profile as Kbuild's flags change it (kernel.abi): that is
    # the arch's profile for every check of the plan (the compiled backend compiles with them too).
    model_profile = layout.profile if layout is not None and spec.kernel else profile
    plan = plan_arch(spec, model_profile, layout, failure)
    if model_profile is not profile:
        plan.shipped_profile = profile
    # A kernel tree is built with Kbuild's one compiler per arch: no second plan for it.
    if alternate and profile.alternate is not None and not spec.kernel:
        alt = profile.for_compiler(profile.alternate.compiler)
        other = plan_arch(spec, alt, *lay_out(spec, alt))
        other.is_reference = False
        plan.other, other.other = other, plan
    return plan


def plan_all(spec: Spec, profiles: Iterable[Profile],
             done: Mapping[str, ArchPlan | None] | None = None) -> dict[str, ArchPlan]:
    """arch -> plan for every profile, reusing ``done`` (a matrix run's plans of the same spec).

    An arch missing from ``done`` (or None there: its plan could not be sent back from a
    worker process) is planned here.  Serial on purpose: the C parser (pycparser +
    pycparserext) keeps shared lexer/parser state and gives garbage when threads share it.
    """
    done = done or {}
    out: dict[str, ArchPlan] = {}
    for p in profiles:
        plan = done.get(p.name)
        out[p.name] = plan if plan is not None and plan.spec.path == spec.path else plan_for(spec, p)
    return out
