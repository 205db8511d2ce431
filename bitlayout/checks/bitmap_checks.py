"""bit-position, bitops, arr64, bounds: where flag bits land and what bitops do with them."""

from __future__ import annotations

from ..probes import GUARD_WORDS
from ..ranges import format_bit_ranges
from ..results import Status, plain
from .base import HAZARD, MODEL_BUG, Check, CheckOutcome, _bitmap_errors, _bitmaps_ok, _errors_text, _wn, probe


def _bit_ranges(nrs) -> str:
    return format_bit_ranges(nrs, sep=",")


class BitPositionCheck(Check):
    """Where each flag bit lands in memory: word, byte, bit of byte."""

    name = "bit-position"

    def predict(self, plan):
        from ..bitmap import bit_position, memory_image

        out = {}
        for b in _bitmaps_ok(plan):
            positions = {}
            for f in b.flags:
                pos = bit_position(b.geometry, f.nr)
                if pos.in_bounds:
                    positions[f.name] = {"nr": f.nr, "word": pos.word, "byte": pos.byte_offset,
                                         "bit_in_byte": pos.bit_in_byte}
            in_bounds = sorted({p["nr"] for p in positions.values()})
            out[b.type] = {"positions": positions,
                           "image_hex": {str(nr): memory_image(b.geometry, [nr]).hex() for nr in in_bounds}}
        return out

    def model_outcome(self, plan, predicted):
        if not predicted:
            return CheckOutcome(Status.ERROR, f"no bitmap type could be placed: {_errors_text(_bitmap_errors(plan))}",
                                predicted)
        parts = []
        for tname, d in predicted.items():
            hi = max(d["positions"].values(), key=lambda p: p["nr"], default=None)
            if hi:
                parts.append(f"{tname}: bit {hi['nr']} at byte {hi['byte']} bit {hi['bit_in_byte']}")
        return CheckOutcome(Status.PASS, "predicted only: " + "; ".join(parts), predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            for nr in sorted({int(k) for k in predicted.get(b.type, {}).get("image_hex", {})}):
                reqs.append(probe("image", {"type": b.type, "nr": nr}, **_wn(b.geometry), bits=[nr]))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        mismatches = []
        for req, obs in pairs:
            tname, nr = req["meta"]["type"], req["meta"]["nr"]
            want = predicted[tname]["image_hex"][str(nr)]
            got = obs.values.get("bytes")
            if want != got or obs.values.get("guards"):
                mismatches.append({"type": tname, "nr": nr, "predicted": want, "observed": got,
                                   "guards": obs.values.get("guards")})
        if mismatches:
            m = mismatches[0]
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: {len(mismatches)}/{len(pairs)} bit images differ, e.g. "
                                f"{m['type']} bit {m['nr']}: model {m['predicted']} vs {backend.name} {m['observed']}",
                                predicted, mismatches)
        return CheckOutcome(Status.PASS, f"{backend.name}: __set_bit put all {len(pairs)} flag bits at the "
                            "predicted byte and bit", predicted, {"images_compared": len(pairs)})


class BoundsCheck(Check):
    """Flags that exist on this arch but lie outside their type (out-of-bounds set_bit)."""

    name = "bounds"

    def predict(self, plan):
        from ..bitmap import bit_position
        from ..bitmap_types import is_unsigned_long, word_kind

        out = {}
        for b in _bitmaps_ok(plan):
            oob = [f for f in b.flags if not bit_position(b.geometry, f.nr).in_bounds]
            shape, word_c_type = word_kind(plan.layout.types.get(b.type)) if plan.layout else ("array", "")
            out[b.type] = {
                "nbits": b.nbits,
                # A u32/u64 flags word is not what bitops index: the hazard is the flag not
                # fitting the value (1U << nr undefined, truncation), not a write past an array.
                "scalar_word": word_c_type if shape == "scalar" and not is_unsigned_long(word_c_type) else "",
                "oob_in_use": [{"name": f.name, "nr": f.nr, "word": bit_position(b.geometry, f.nr).word}
                               for f in oob if f.in_use],
                "oob_gated": [{"name": f.name, "nr": f.nr, "gate": f.gate} for f in oob if not f.in_use],
            }
        if _bitmap_errors(plan):
            out["_errors"] = _bitmap_errors(plan)
        return out

    def model_outcome(self, plan, predicted):
        return self._verdict(plan, predicted, None)

    def _verdict(self, plan, predicted, confirmed, by: str = ""):
        bad = {t: d for t, d in predicted.items() if not t.startswith("_") and d["oob_in_use"]}
        gated = {t: d for t, d in predicted.items() if not t.startswith("_") and d["oob_gated"]}
        how = f", confirmed by {by}: {confirmed}" if confirmed else ""
        if bad:
            parts = []
            for t, d in bad.items():
                nrs = [x["nr"] for x in d["oob_in_use"]]
                worst = max(d["oob_in_use"], key=lambda x: x["nr"])
                if d.get("scalar_word"):
                    consequence = (f"they do not fit the {d['nbits']}-bit {d['scalar_word']}: 1 << {worst['nr']} "
                                   f"is undefined or truncated there, and set_bit() on it is wrong")
                else:
                    consequence = f"set_bit({worst['nr']}) writes word {worst['word']}, past the end"
                parts.append(f"{t} holds {d['nbits']} bits but flags {_bit_ranges(nrs)} "
                             f"({len(nrs)} in use) lie outside: {consequence}")
            note = ""
            if gated:
                note = "; gated off here (fine): " + "; ".join(
                    f"{t}: {_bit_ranges([x['nr'] for x in d['oob_gated']])}" for t, d in gated.items())
            return CheckOutcome(Status.FAIL, f"{HAZARD}: " + "; ".join(parts) + note + how, predicted)
        if "_errors" in predicted:
            return CheckOutcome(Status.ERROR, f"cannot place: {_errors_text(predicted['_errors'])}", predicted)
        note = ""
        if gated:
            note = " (out of range but not in use here: " + "; ".join(
                f"{t}: {_bit_ranges([x['nr'] for x in d['oob_gated']])}" for t, d in gated.items()) + ")"
        return CheckOutcome(Status.PASS, "every flag in use fits its type" + note + how, predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            d = predicted.get(b.type)
            if not d:
                continue
            wn = _wn(b.geometry)
            limit = (wn["n"] + GUARD_WORDS) * wn["w"]
            oob = sorted({x["nr"] for x in d["oob_in_use"] + d["oob_gated"] if x["nr"] < limit})
            if oob:
                # __set_bit on each out-of-bounds flag (writes land in the guard words after the
                # object) and test_bit on them against all-ones guards (reads come from there).
                reqs.append(probe("image", {"type": b.type, "kind": "oob", "bits": oob}, **wn, bits=oob))
                reqs.append(probe("oob_read", {"type": b.type, "kind": "oob_read", "bits": oob}, **wn, reads=oob))
            inside = [f.nr for f in b.flags if f.nr < d["nbits"]]
            if inside:
                top = max(inside)
                reqs.append(probe("image", {"type": b.type, "kind": "control", "bits": [top]}, **wn, bits=[top]))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        from ..bitmap import bit_position

        geoms = {b.type: b.geometry for b in plan.bitmaps if not b.error}
        disagree = []
        seen = []
        for req, obs in pairs:
            meta = req["meta"]
            tname, kind, bits = meta["type"], meta["kind"], meta["bits"]
            g = geoms[tname]
            if kind == "oob_read":
                want = sorted(bits)
                got = sorted(obs.values.get("guard_reads", []))
                if want != got:
                    disagree.append(f"test_bit({bits}) on {tname}: model reads guards for {want}, {backend.name} {got}")
                else:
                    seen.append(f"test_bit({bits[-1]}) on {tname} read a guard word")
                continue
            want_set = set()
            for nr in bits:
                pos = bit_position(g, nr)
                if not pos.in_bounds:
                    want_set.add(("after", pos.word - g.nwords, pos.bit_in_word))
            got_set = {(x["side"], x["index"], bit) for x in obs.values.get("guards", []) for bit in x["bits"]}
            if want_set != got_set:
                disagree.append(f"__set_bit({bits}) on {tname}: model guard changes {sorted(want_set)}, "
                                f"{backend.name} {sorted(got_set)}")
            elif got_set:
                side, idx, bit = max(got_set, key=lambda t: (t[1], t[2]))
                seen.append(f"__set_bit({bits[-1]}) on {tname} flipped bit {bit} of guard word {idx} after it")
        if disagree:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: " + "; ".join(disagree), predicted,
                                [plain(o.values) for _, o in pairs])
        out = self._verdict(plan, predicted, "; ".join(seen), backend.name)
        out.observed = [{**req["meta"], **plain(obs.values)} for req, obs in pairs]
        return out


class Arr64Check(Check):
    """bitmap_to_arr64() vs a naive (u64 *) cast of the bitmap (include/linux/bitmap.h)."""

    name = "arr64"

    def predict(self, plan):
        from ..bitmap import naive_u64_view, to_arr64

        out = {}
        for b in _bitmaps_ok(plan):
            if b.geometry.word_bytes * b.geometry.nwords % 8:
                continue
            nrs = sorted({f.nr for f in b.flags if f.nr < b.nbits})
            arr = list(to_arr64(nrs, b.nbits))
            naive = list(naive_u64_view(b.geometry, nrs, b.nbits))
            out[b.type] = {"bits": nrs, "arr64": arr, "naive_u64": naive, "naive_is_wrong": arr != naive}
        return out

    def model_outcome(self, plan, predicted):
        wrong = [t for t, d in predicted.items() if d["naive_is_wrong"]]
        note = (f"; a naive (u64 *) cast of {', '.join(wrong)} reads the words swapped here: use bitmap_to_arr64()"
                if wrong else "")
        return CheckOutcome(Status.PASS, f"predicted only: arr64 of {len(predicted)} types{note}", predicted)

    def requests(self, plan, predicted, backend):
        return [probe("arr64", {"type": b.type}, **_wn(b.geometry), nbits=b.nbits, bits=predicted[b.type]["bits"])
                for b in _bitmaps_ok(plan) if b.type in predicted]

    def judge(self, plan, predicted, backend, pairs):
        bad = []
        observed = {}
        for req, obs in pairs:
            t = req["meta"]["type"]
            d = predicted[t]
            arr = [int(x, 16) for x in obs.values.get("to_arr64", [])]
            naive = [int(x, 16) for x in obs.values.get("naive_u64", [])]
            observed[t] = {"arr64": arr, "naive_u64": naive}
            if arr != list(d["arr64"]) or naive != list(d["naive_u64"]):
                bad.append(t)
        if bad:
            t = bad[0]
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: {t}: model arr64 {predicted[t]['arr64']} naive "
                                f"{predicted[t]['naive_u64']}, {backend.name} {observed[t]}", predicted, observed)
        wrong = [t for t, d in predicted.items() if d["naive_is_wrong"]]
        note = f"; a naive (u64 *) cast of {', '.join(wrong)} is wrong here (observed)" if wrong else ""
        return CheckOutcome(Status.PASS, f"{backend.name}: bitmap_to_arr64 and the naive view match the model for "
                            f"{len(pairs)} types{note}", predicted, observed)

class BitopsCheck(Check):
    """Kernel bitops semantics: an ops sequence run by the backend vs the model's result."""

    name = "bitops"
    model_verdict = False

    def predict(self, plan):
        from ..bitmap import memory_image

        out = {}
        for b in _bitmaps_ok(plan):
            nrs = sorted({f.nr for f in b.flags if f.nr < b.nbits})
            if not nrs:
                continue
            # set every flag, clear every other one, change the last: a known final set.
            final = set(nrs)
            ops = [("set", nr) for nr in nrs] + [("clear", nr) for nr in nrs[::2]] + [("change", nrs[-1])]
            for op, nr in ops[len(nrs):]:
                if op == "clear":
                    final.discard(nr)
                elif op == "change":
                    final ^= {nr}
            out[b.type] = {"ops": ops, "final_bits": sorted(final),
                           "image_hex": memory_image(b.geometry, sorted(final)).hex()}
        return out

    def model_outcome(self, plan, predicted):
        return CheckOutcome(Status.SKIP, "model only: bitops semantics are checked by running them "
                            "(use --backend host or exec)", predicted)

    def requests(self, plan, predicted, backend):
        return [probe("ops", {"type": b.type}, **_wn(b.geometry), ops=[list(x) for x in predicted[b.type]["ops"]])
                for b in _bitmaps_ok(plan) if b.type in predicted]

    def judge(self, plan, predicted, backend, pairs):
        bad = [(req, obs) for req, obs in pairs
               if obs.values.get("bytes") != predicted[req["meta"]["type"]]["image_hex"] or obs.values.get("guards")]
        observed = {req["meta"]["type"]: obs.values.get("bytes") for req, obs in pairs}
        if bad:
            req, obs = bad[0]
            t = req["meta"]["type"]
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: {t}: after {len(predicted[t]['ops'])} ops the model has "
                                f"{predicted[t]['image_hex']}, {backend.name} {obs.values.get('bytes')}",
                                predicted, observed)
        return CheckOutcome(Status.PASS, f"{backend.name} ran set/clear/change on {len(pairs)} types; memory matches "
                            "the model", predicted, observed)
