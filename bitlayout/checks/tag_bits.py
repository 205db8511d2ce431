"""tag-bits: low pointer bits free for tags (pointee alignment x allocator guarantees)."""

from __future__ import annotations

from typing import Any

from ..errors import BitlayoutError
from ..results import Backend, Status, plain
from .base import HAZARD, MODEL_BUG, Check, CheckOutcome, _errors_text, _require, probe
from .plan import ArchPlan, pointee_of


def tag_prediction(plan: ArchPlan, fld: str, allocator: str) -> dict[str, Any]:
    from ..tagging import free_tag_bits

    _, pointee = pointee_of(plan.layout, fld)
    tb = free_tag_bits(plan.profile, pointee.align_bytes, pointee.size_bytes, allocator)
    out = {"pointee": pointee.name, "pointee_align_bytes": pointee.align_bytes,
           "pointee_size_bytes": pointee.size_bytes, "allocator": allocator}
    out.update(plain(tb))
    return out


class TagBitsCheck(Check):
    """Low pointer bits free for tags, given the pointee alignment and the allocator."""

    name = "tag-bits"

    def predict(self, plan):
        _require(plan, plan.spec.tagged_pointers, "tagged_pointer")
        out = {}
        for tp in plan.spec.tagged_pointers:
            try:
                d = tag_prediction(plan, tp.field, tp.allocator)
            except BitlayoutError as exc:
                d = {"error": str(exc)}
            d["wanted"] = tp.tag_bits
            out[f"{tp.field}@{tp.allocator}"] = d
        return out

    def model_outcome(self, plan, predicted):
        errors = {k: d["error"] for k, d in predicted.items() if "error" in d}
        if errors:
            return CheckOutcome(Status.ERROR, f"cannot compute: {_errors_text(errors)}", predicted)
        short = [f"{k}: {d['free_bits']} free < {d['wanted']} wanted (alignof {d['pointee']} = "
                 f"{d['pointee_align_bytes']})" for k, d in predicted.items() if d["free_bits"] < d["wanted"]]
        if short:
            return CheckOutcome(Status.FAIL, f"{HAZARD}: " + "; ".join(short), predicted)
        return CheckOutcome(Status.PASS, "; ".join(f"{k}: {d['free_bits']} free >= {d['wanted']}"
                                              for k, d in predicted.items()), predicted)

    def requests(self, plan, predicted, backend):
        a = plan.profile.allocators
        reqs = []
        for key, d in predicted.items():
            if "error" in d or d["allocator"] == "static":
                continue
            if d["allocator"] == "malloc" and not backend.on_arch and not plan.profile.toolchain.host_native:
                continue  # the host's malloc is not this arch's
            if d["allocator"] == "malloc" and backend.name == Backend.EXEC \
                    and plan.profile.toolchain.runtime == "freestanding":
                continue  # no C library in that driver: its malloc is not observable (csrc/alloc_probe.c)
            reqs.append(probe("alloc", {"key": key}, size=d["pointee_size_bytes"], align=d["pointee_align_bytes"],
                              slab_minalign=a.arch_slab_minalign, kmalloc_minalign=a.arch_kmalloc_minalign,
                              count=256))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        bad = []
        unobserved = []
        seen = {}
        for req, obs in pairs:
            key = req["meta"]["key"]
            d = predicted[key]
            got = obs.values.get(d["allocator"])
            if got is None:  # the shim could not observe it (a build without libc): never a pass
                unobserved.append(f"{key}: {obs.evidence.get(d['allocator'], 'no value')}")
                continue
            got = int(got)
            seen[key] = {"min_free_bits": got, **{k: obs.values.get(k) for k in ("slab_align", "kmalloc_align")}}
            # Observed objects may happen to be better aligned than guaranteed; never worse.
            if got < d["free_bits"]:
                bad.append(f"{key}: model promises {d['free_bits']} free bits, {backend.name} saw objects "
                           f"with only {got}")
        if bad:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: " + "; ".join(bad), predicted, seen)
        if unobserved:
            return CheckOutcome(Status.ERROR, f"{backend.name} could not observe: " + "; ".join(unobserved),
                                predicted, seen)
        out = self.model_outcome(plan, predicted)
        out.observed = seen
        out.detail += f" ({backend.name}: {len(pairs)} allocator emulations agree: " + ", ".join(
            f"{k} min {v['min_free_bits']} free" for k, v in seen.items()) + ")"
        return out
