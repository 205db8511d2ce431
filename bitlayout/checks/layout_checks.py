"""profile and layout: the profile's scalars and the layout engine's types vs a compiler/CPU."""

from __future__ import annotations

from ..errors import BitlayoutError
from ..results import Status
from .base import MODEL_BUG, Check, CheckOutcome, Skip, _require, probe
from .plan import ArchPlan, pointee_of


def truth_problems(profile, run: bool) -> list[str]:
    """What ``bitlayout profiles`` finds wrong with the profile (bitlayout.profile_truth: every
    number, the ``[macros]``, the atomicity and allocator claims, compiled and, with ``run``,
    executed): one text per mismatch, or the reason the probe itself failed.  The ``profile``
    row passes only where this is empty, so it never passes a profile the verdict calls MISMATCH."""
    from ..profile_truth import verify_profile

    verdict = verify_profile(profile, run=run)
    out = [f"{m.field}: profile {m.profile_value!r}, {m.via} {m.compiler_value!r}" for m in verdict.mismatches]
    if verdict.error:
        out.append(f"the profile probe failed: {verdict.error}")
    return out


class ProfileCheck(Check):
    """Profile numbers (sizes, alignments, endianness) vs what a real compiler/CPU says, and
    every claim ``bitlayout profiles`` checks with the arch's own toolchain."""

    name = "profile"
    model_verdict = False

    def predict(self, plan):
        p = plan.profile
        return {
            "bits_per_long": p.bits_per_long, "endianness": p.endianness,
            "char_signed": p.char_signed,
            "scalars": {k: {"size": s.size_bytes, "align": s.align_bytes, "gnu_align": s.gnu_align_bytes}
                        for k, s in p.scalars.items()},
        }

    def model_outcome(self, plan, predicted):
        return CheckOutcome(Status.SKIP, "model only: a profile is checked against a compiler or CPU "
                            "(use --backend compiled,exec)", predicted)

    def requests(self, plan, predicted, backend):
        if not backend.on_arch and not plan.profile.toolchain.host_native:
            raise Skip(f"the {backend.name} backend runs on this machine's ABI; it checks the host's own profile only "
                       "(use --backend exec)")
        return [probe("info")]

    def judge(self, plan, predicted, backend, pairs):
        (_, obs), = pairs
        v = obs.values
        want = {"sizeof_long": predicted["scalars"]["long"]["size"],
                "sizeof_pointer": predicted["scalars"]["pointer"]["size"],
                "sizeof_long_long": predicted["scalars"]["long_long"]["size"],
                "little_endian": predicted["endianness"] == "little"}
        got = {k: v.get(k) for k in want}
        if want != got:
            diff = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: profile vs {backend.name} (profile, observed): {diff}",
                                want, got)
        problems = truth_problems(plan.shipped_profile or plan.profile, run=True)
        if problems:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: {backend.name} confirms the sizes, but the profile "
                                "does not hold (bitlayout profiles): " + "; ".join(problems), want, got)
        return CheckOutcome(Status.PASS, f"{backend.name} confirms sizeof long/pointer/long long "
                            f"{got['sizeof_long']}/{got['sizeof_pointer']}/{got['sizeof_long_long']}, "
                            f"{predicted['endianness']}-endian; every profile claim holds", want, got)

    def layout_types(self, plan, predicted, backend):
        from ..profiles import C_SPELLING

        return [C_SPELLING[k] for k in plan.profile.scalars]

    def judge_layout(self, plan, predicted, backend, facts):
        from ..profiles import C_SPELLING

        from ..profiles import SCALAR_KEYS

        diffs = {}
        seen = {}
        absent = [k for k in SCALAR_KEYS if facts.get(C_SPELLING[k]) is None]
        if absent:  # every profile has these: a compiler that did not describe them confirmed nothing
            return CheckOutcome(Status.ERROR, f"{backend.name} did not report the scalars "
                                f"{', '.join(absent)}: nothing to compare", predicted, {})
        for key, want in predicted["scalars"].items():
            got = facts.get(C_SPELLING[key])
            if got is None:
                continue  # an optional type this compiler lacks (profile_truth compares presence)
            seen[key] = {"size": got["size"], "align": got["align"]}
            if (got["size"], got["align"]) != (want["size"], want["align"]):
                diffs[key] = {"profile": [want["size"], want["align"]], "compiler": [got["size"], got["align"]]}
        if diffs:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: profile scalars differ from the compiler "
                                "(size, _Alignof): "
                                + "; ".join(f"{k} {v['profile']} vs {v['compiler']}" for k, v in diffs.items()),
                                predicted, seen)
        problems = truth_problems(plan.shipped_profile or plan.profile, run=False)
        if problems:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: the compiler agrees on {len(seen)} scalars, but the "
                                "profile does not hold (bitlayout profiles): " + "; ".join(problems), predicted, seen)
        return CheckOutcome(Status.PASS, f"compiler agrees on size and _Alignof of {len(seen)} scalars and on "
                            "every other profile claim", predicted, seen)


_NO_TYPES = ("no complete type to compare: the spec's [[bitmap]] types, tagged-pointer containers and "
             "pointees (none here)")


class LayoutCheck(Check):
    """The layout engine's sizes/offsets of the spec's types vs a real compiler."""

    name = "layout"

    def types_of_interest(self, plan: ArchPlan) -> list[str]:
        names = [t for _, t in plan.spec.bitmap_types]
        names += [tp.container for tp in plan.spec.tagged_pointers]
        for tp in plan.spec.tagged_pointers:
            try:
                _, pointee = pointee_of(plan.layout, tp.field)
                names.append(pointee.name)
            except BitlayoutError:
                pass
        seen = []
        for n in names:
            if n and n not in seen:
                seen.append(n)
        return seen

    def predict(self, plan):
        _require(plan)
        out = {}
        for name in self.types_of_interest(plan):
            t = plan.layout.find(name)
            if t is None or not t.complete:
                continue  # an incomplete type has no size to compare (layout/1 marks it incomplete)
            # The layout/1 contract form: anonymous members flattened, absolute offsets.
            contract = t.to_contract()
            out[name] = {"size": contract["size"], "align": contract["align"],
                         "members": [{k: m[k] for k in ("name", "offset_bits", "size_bits")}
                                     for m in contract["members"]]}
        return out

    def model_outcome(self, plan, predicted):
        if not predicted:
            return CheckOutcome(Status.SKIP, _NO_TYPES, predicted)
        sizes = ", ".join(f"{k} {v['size']}B/{v['align']}" for k, v in predicted.items())
        return CheckOutcome(Status.PASS, f"layout engine (nothing observed): {sizes}", predicted)

    def layout_types(self, plan, predicted, backend):
        if not predicted:  # comparing nothing is no evidence: never a pass
            raise Skip(_NO_TYPES)
        return list(predicted)

    def judge_layout(self, plan, predicted, backend, facts):
        diffs = []
        for name, want in predicted.items():
            got = facts.get(name)
            if got is None:
                diffs.append(f"{name}: not in the compiler's debug info")
                continue
            if (got["size"], got["align"]) != (want["size"], want["align"]):
                diffs.append(f"{name}: size/align {want['size']}/{want['align']} vs compiler {got['size']}/{got['align']}")
            wm = [(m["name"], m["offset_bits"], m["size_bits"]) for m in want["members"]]
            gm = [(m["name"], m["offset_bits"], m["size_bits"]) for m in got.get("members", [])]
            if wm and gm and wm != gm:
                first = next(((a, b) for a, b in zip(wm, gm) if a != b), (wm[len(gm):] or None, gm[len(wm):] or None))
                diffs.append(f"{name}: member (name, offset_bits, size_bits) {first[0]} vs compiler {first[1]}")
        observed = {k: facts.get(k) for k in predicted}
        if diffs:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: layout engine vs compiler: " + "; ".join(diffs),
                                predicted, observed)
        return CheckOutcome(Status.PASS, f"compiler agrees on size, alignment and every member offset of "
                            f"{len(predicted)} types", predicted, observed)
