"""expect: the spec's [[expect]] expressions, on the model and on a compiler's DWARF."""

from __future__ import annotations

from typing import Any

from ..errors import BitlayoutError
from ..expressions import ExprEvalError, UndefinedName
from ..profiles import select_profiles
from ..results import Status
from .base import HAZARD, MODEL_BUG, Check, CheckOutcome, Skip, _require
from .plan import ArchPlan
from .tag_bits import tag_prediction


# ---------------------------------------------------------------------------
# Expression context on the model (per arch).


class ModelContext:
    """Answers ``[[expect]]`` questions from the layout engine and the models."""

    def __init__(self, plan: ArchPlan):
        self.plan = plan
        self.layout = plan.layout
        self.profile = plan.profile

    def _eval(self, expr: str) -> int:
        try:
            return int(self.layout.eval(expr))
        except BitlayoutError as exc:
            raise ExprEvalError(str(exc)) from None

    def name(self, ident: str) -> int:
        for table in (self.layout.enum_constants, self.layout.macros):
            if ident in table:
                return int(table[ident])
        try:
            return int(self.layout.eval(ident))
        except BitlayoutError:
            raise UndefinedName(ident) from None

    def sizeof(self, ctype: str) -> int:
        return self._eval(f"sizeof({ctype})")

    def alignof(self, ctype: str) -> int:
        return self._eval(f"_Alignof({ctype})")

    def gnu_alignof(self, ctype: str) -> int:
        try:
            return int(self.layout.type(ctype).gnu_align_bytes)
        except (BitlayoutError, AttributeError):
            return self._eval(f"__alignof__({ctype})")

    def offsetof(self, ctype: str, member: str) -> int:
        try:
            return int(self.layout.eval(f"offsetof({ctype}, {member})"))
        except BitlayoutError:
            pass
        # Walk the laid-out members (anonymous struct/union members are flattened).
        from ..bitmap_types import strip_typedefs

        try:
            t = strip_typedefs(self.layout.type(ctype))
        except BitlayoutError as exc:
            raise ExprEvalError(str(exc)) from None
        offset_bits = 0
        for part in member.split("."):
            hit = next((m for m in t.flat_members() if m.name == part), None)
            if hit is None:
                raise ExprEvalError(f"{ctype!r} has no member {part!r}")
            offset_bits += hit.offset_bits
            t = strip_typedefs(hit.type)
        return offset_bits // 8

    def geometry(self, ctype: str):
        from ..bitmap_types import geometry_of

        t = self.layout.types.get(ctype)
        if t is None:
            raise ExprEvalError(f"unknown type {ctype!r}")
        return geometry_of(t, self.profile, ctype)

    def fits(self, nr: int, ctype: str) -> bool:
        from ..bitmap import bit_position

        return bool(bit_position(self.geometry(ctype), nr).in_bounds)

    def bit_word(self, nr: int, ctype: str) -> int:
        from ..bitmap import bit_position

        return bit_position(self.geometry(ctype), nr).word

    def byte_offset(self, nr: int, ctype: str) -> int:
        from ..bitmap import bit_position

        return bit_position(self.geometry(ctype), nr).byte_offset

    def tag_bits(self, fld: str, allocator: str) -> int:
        return tag_prediction(self.plan, fld, allocator)["free_bits"]


class ExpectCheck(Check):
    """The spec's [[expect]] expressions, evaluated per arch."""

    name = "expect"

    def predict(self, plan):
        _require(plan, plan.spec.expects, "expect")
        ctx = ModelContext(plan)
        out = []
        for e in plan.spec.expects:
            entry: dict[str, Any] = {"that": e.that.text, "key": e.key}
            if e.on and plan.arch not in {p.name for p in select_profiles(e.on)}:
                entry["skipped"] = f"only on {e.on}"
            else:
                try:
                    ex = e.that.explain(ctx)
                    entry["result"] = bool(ex["result"])
                    entry["terms"] = ex["terms"]
                except UndefinedName as exc:
                    entry["skipped"] = str(exc)
                except (ExprEvalError, BitlayoutError) as exc:
                    entry["error"] = str(exc)
            out.append(entry)
        return out

    def model_outcome(self, plan, predicted):
        errors = [e for e in predicted if "error" in e]
        false = [e for e in predicted if e.get("result") is False]
        ran = [e for e in predicted if "result" in e]
        if errors:
            return CheckOutcome(Status.ERROR, f"cannot evaluate {errors[0]['that']!r}: {errors[0]['error']}", predicted)
        if false:
            return CheckOutcome(Status.FAIL, f"{HAZARD}: false here: " + "; ".join(
                f"{e['that']} ({', '.join(f'{k}={v}' for k, v in e['terms'].items())})" for e in false), predicted)
        if not ran:
            return CheckOutcome(Status.SKIP, "no expectation applies to this arch: " +
                                "; ".join(e.get("skipped", "") for e in predicted), predicted)
        return CheckOutcome(Status.PASS, f"{len(ran)}/{len(predicted)} expectations hold"
                            + (f" ({len(predicted) - len(ran)} not for this arch)" if len(ran) < len(predicted) else ""),
                            predicted)

    def layout_types(self, plan, predicted, backend):
        names = []
        for e in plan.spec.expects:
            for fname, pos, arg in e.that.type_args:
                if fname in ("sizeof", "alignof", "offsetof") and pos == 0 and arg not in names:
                    names.append(arg)
        if not names:
            raise Skip("no sizeof/alignof/offsetof in the expectations: nothing for a compiler to confirm")
        return names

    def judge_layout(self, plan, predicted, backend, facts):
        ctx = _ObservedLayoutContext(plan, facts)
        disagree = []
        confirmed = 0
        for e, pred in zip(plan.spec.expects, predicted):
            if "result" not in pred:
                continue
            try:
                ex = e.that.explain(ctx)
            except (ExprEvalError, BitlayoutError) as exc:
                disagree.append(f"{e.that.text!r}: {exc}")
                continue
            diff = {k: (pred["terms"].get(k), v) for k, v in ex["terms"].items() if pred["terms"].get(k) != v}
            if diff:
                disagree.append(f"{e.that.text!r}: (model, compiler) {diff}")
            else:
                confirmed += ctx.used
            ctx.used = 0
        if disagree:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: " + "; ".join(disagree), predicted)
        out = self.model_outcome(plan, predicted)
        out.detail += f" (compiler confirms the {confirmed} sizeof/alignof/offsetof terms)"
        out.observed = {"terms_confirmed": confirmed}
        return out


class _ObservedLayoutContext(ModelContext):
    """sizeof/alignof/offsetof from the compiler's DWARF; everything else from the model."""

    def __init__(self, plan: ArchPlan, facts: dict[str, Any]):
        super().__init__(plan)
        self.facts = facts
        self.used = 0

    def _fact(self, ctype: str) -> dict[str, Any]:
        got = self.facts.get(ctype)
        if got is None:
            raise ExprEvalError(f"{ctype!r} is not in the compiler's debug info")
        self.used += 1
        return got

    def sizeof(self, ctype: str) -> int:
        return self._fact(ctype)["size"]

    def alignof(self, ctype: str) -> int:
        return self._fact(ctype)["align"]

    def offsetof(self, ctype: str, member: str) -> int:
        if "." in member:
            return super().offsetof(ctype, member)
        for m in self._fact(ctype).get("members", []):
            if m["name"] == member:
                return m["offset_bits"] // 8
        raise ExprEvalError(f"{ctype!r} has no member {member!r} in the compiler's debug info")
