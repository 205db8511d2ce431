"""divergence: the types of the spec's headers that GCC and clang lay out differently.

Linux builds most arches with both compilers (``[toolchain] linux_compilers``) and they do
not always agree: ``struct { char :1; int n:25 __attribute__((aligned(1))); }`` puts ``n`` at
bit 32 with GCC 12 and at bit 8 with clang 22.  That is an ABI hazard of its own, not a model
error: the model predicts both layouts (the arch's plan for each compiler, ``ArchPlan.other``)
and states which one it follows (``Profile.model_choice``).

- model row: pass when the two predicted layouts agree on every type the headers define; a
  ``fail`` labelled ``compiler divergence`` naming the types, the members and each compiler's
  answer when they do not; skip where the profile describes one compiler only.
- a layout backend's row (``compiled``, ``compiled-alternate``: one compiler each): the
  compiler's layouts against the model's prediction for that compiler.  A match on a diverging
  type confirms that compiler's half of the divergence (``fail``, same label; the two rows
  together confirm it); a mismatch is a model bug (``error``).
"""

from __future__ import annotations

from typing import Any

from ..layout.typelayout import declared_alike
from ..profiles import COMPILER_NAMES
from ..results import Status
from .base import MODEL_BUG, Check, CheckOutcome, Skip, _require
from .plan import ArchPlan

DIVERGENCE = "compiler divergence"
SHOWN_TYPES = 3  # types spelled out in a row's detail; the prediction lists them all


def compared_layouts(plan: ArchPlan) -> tuple[dict[str, dict[str, dict]], list[str]]:
    """compiler -> type -> layout/1 form, for every complete type the headers define that both
    compilers' plans laid out from the same declaration (the reference compiler first); and the
    types the two routes declare differently (their C libraries' headers), left out."""
    _require(plan)
    other = plan.other
    if other is None:
        described = COMPILER_NAMES[plan.compiler]
        raise Skip(f"the {plan.arch} profile describes {described} only (no [alternate]): nothing to compare"
                   if plan.profile.alternate is None and plan.is_reference else
                   "the other compiler's plan was not made in this run")
    if other.layout is None:
        raise Skip(f"{COMPILER_NAMES[other.compiler]} cannot lay the headers out: {other.layout_error}")
    ref = plan.reference
    alt = other if ref is plan else plan
    out: dict[str, dict[str, dict]] = {ref.compiler: {}, alt.compiler: {}}
    apart: list[str] = []
    for name in ref.layout.tu.defined_type_names():
        a, b = ref.layout.types.get(name), alt.layout.types.get(name)
        if a is None or b is None or not a.complete or not b.complete:
            continue
        if not declared_alike(a, b):  # the two routes' C libraries declare it differently
            apart.append(name)
            continue
        out[ref.compiler][name] = a.to_contract()
        out[alt.compiler][name] = b.to_contract()
    return out, apart


def differences(one: dict, two: dict) -> dict[str, Any]:
    """What differs between two layout/1 forms of one type: size, align, the members."""
    out: dict[str, Any] = {}
    for key in ("size", "align"):
        if one.get(key) != two.get(key):
            out[key] = True
    by_name = {m["name"]: m for m in two.get("members", [])}
    members = [m["name"] for m in one.get("members", [])
               if by_name.get(m["name"]) is not None and
               (m["offset_bits"], m["size_bits"]) != (by_name[m["name"]]["offset_bits"], by_name[m["name"]]["size_bits"])]
    if members:
        out["members"] = members
    return out


def answer(layout: dict, diff: dict[str, Any]) -> dict[str, Any]:
    """One compiler's answer on a diverging type: only what differs."""
    out = {k: layout[k] for k in ("size", "align") if k in diff}
    members = {m["name"]: m for m in layout["members"]}
    for name in diff.get("members", ()):
        out.setdefault("members", {})[name] = {"offset_bits": members[name]["offset_bits"],
                                               "size_bits": members[name]["size_bits"]}
    return out


def describe(type_name: str, answers: dict[str, dict], order: list[str]) -> str:
    """`struct g: n at bit 32 (GCC) vs bit 8 (clang)`: one diverging type in words."""
    a, b = order
    first = answers[a]
    name_a, name_b = (COMPILER_NAMES.get(c, c) for c in order)
    parts = []
    for key in ("size", "align"):
        if key in first:
            parts.append(f"{key} {first[key]} ({name_a}) vs {answers[b][key]} ({name_b})")
    for name, m in first.get("members", {}).items():
        o = answers[b]["members"][name]
        width = f", {m['size_bits']} vs {o['size_bits']} bits wide" if m["size_bits"] != o["size_bits"] else ""
        parts.append(f"{name} at bit {m['offset_bits']} ({name_a}) vs {o['offset_bits']} ({name_b}){width}")
    return f"{type_name}: {'; '.join(parts)}"


def _apart_note(predicted: dict) -> str:
    apart = predicted.get("declared_apart") or []
    if not apart:
        return ""
    shown = ", ".join(apart[:SHOWN_TYPES]) + (f" and {len(apart) - SHOWN_TYPES} more" if len(apart) > SHOWN_TYPES else "")
    return (f"; {len(apart)} types not compared: the two routes' C libraries declare them differently "
            f"({shown})")


class DivergenceCheck(Check):
    """GCC and clang lay a type of the headers out differently (a finding, never a model error)."""

    name = "divergence"

    def predict(self, plan):
        layouts, apart = compared_layouts(plan)
        order = list(layouts)  # the reference compiler first
        a, b = order
        diverging = {}
        for name in layouts[a]:
            diff = differences(layouts[a][name], layouts[b][name])
            if diff:
                diverging[name] = {"differs": sorted(diff), "members": diff.get("members", []),
                                   "answers": {c: answer(layouts[c][name], diff) for c in order}}
        ref = plan.reference.profile
        return {"compilers": order, "follows": order[0], "model_choice": ref.model_choice(),
                "linux_compilers": list(ref.toolchain.linux_compilers),
                "compared": len(layouts[a]), "diverging": diverging, "layouts": layouts,
                "declared_apart": apart}

    @staticmethod
    def _summary(predicted: dict) -> dict:
        """The prediction as a row shows it: without every type's full layout."""
        return {k: v for k, v in predicted.items() if k != "layouts"}

    @staticmethod
    def _detail(predicted: dict, lead: str) -> str:
        items = list(predicted["diverging"].items())
        text = "; ".join(describe(n, d["answers"], predicted["compilers"]) for n, d in items[:SHOWN_TYPES])
        more = f"; and {len(items) - SHOWN_TYPES} more types" if len(items) > SHOWN_TYPES else ""
        return f"{DIVERGENCE}: {lead}{text}{more} — {predicted['model_choice']}{_apart_note(predicted)}"

    def model_outcome(self, plan, predicted):
        names = " and ".join(COMPILER_NAMES[c] for c in predicted["compilers"])
        if not predicted["diverging"]:
            return CheckOutcome(Status.PASS, f"{names} lay out all {predicted['compared']} types of the headers "
                                "alike (model)" + _apart_note(predicted), self._summary(predicted))
        n = len(predicted["diverging"])
        return CheckOutcome(Status.FAIL, self._detail(predicted, f"{names} differ on {n} of {predicted['compared']} "
                                                      "types (model): "), self._summary(predicted))

    def layout_types(self, plan, predicted, backend):
        return list(predicted["layouts"][predicted["compilers"][0]])

    def judge_layout(self, plan, predicted, backend, facts):
        mine = plan.compiler  # the matrix hands a backend the plan of the compiler it observed through
        want = predicted["layouts"][mine]
        wrong = []
        for name, layout in want.items():
            got = facts.get(name)
            if got is None:
                wrong.append(f"{name}: not in the compiler's debug info")
            elif differences(layout, got):
                diff = differences(layout, got)
                wrong.append(describe(name, {"model": answer(layout, diff), "observed": answer(got, diff)},
                                      ["model", "observed"]))
        summary = self._summary(predicted)
        observed = {n: facts.get(n) for n in predicted["diverging"]}
        if wrong:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: the model's {COMPILER_NAMES[mine]} layouts vs "
                                f"{backend.name}: " + "; ".join(wrong[:SHOWN_TYPES]), summary, observed)
        if not predicted["diverging"]:
            return CheckOutcome(Status.PASS, f"{COMPILER_NAMES[mine]} lays out all {predicted['compared']} types "
                                "as the model predicts, and GCC and clang agree on them", summary, observed)
        n = len(predicted["diverging"])
        return CheckOutcome(Status.FAIL, self._detail(
            predicted, f"{COMPILER_NAMES[mine]}'s half confirmed ({n} types laid out as predicted for "
            f"{COMPILER_NAMES[mine]}): "), summary, observed)
