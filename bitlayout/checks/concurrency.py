"""tear and lost-update: reads that span atomic accesses, racing read-modify-writes."""

from __future__ import annotations

from ..results import Status
from .base import HAZARD, MODEL_BUG, Check, CheckOutcome, _bitmaps_ok, probe


# The least work one stress probe must do before its "nothing happened" counts as evidence: a
# tear needs reads that overlap writes, a lost update needs read-modify-writes.  Threads start
# late on a loaded machine or under an emulator (a 5 ms budget can end before the first read):
# such a run observed nothing, and says so in an error row instead of passing.
MIN_STRESS_OPS = 1000


def _too_little_work(backend, seen: list[dict], counters: tuple[str, ...], events: str) -> str:
    """'' when every probe did enough work (or saw the event it looks for), else why not."""
    seen = [s for s in seen if "same_run_as" not in s]
    short = [s for s in seen if not int(s.get(events) or 0)
             and any(int(s.get(c) or 0) < MIN_STRESS_OPS for c in counters)]
    if not short:
        return ""
    s = short[0]
    done = ", ".join(f"{s.get(c) or 0} {c}" for c in counters)
    return (f"{backend.name} did too little work to be evidence: {s['type']} ({s.get('how') or s.get('mode')}): "
            f"{done} in a {backend.options.stress_ms} ms run, at least {MIN_STRESS_OPS} each needed "
            f"({len(short)} of {len(seen)} runs short; raise --stress-ms)")


def _shared_runs(pairs) -> list[str | None]:
    """Per (request, observation) pair: None for the first pair holding its observation, else the
    type whose run it shares (``backends.observe_distinct`` sends equal requests once), so work
    summed over the runs counts each run once."""
    first: dict[int, str] = {}
    out: list[str | None] = []
    for req, obs in pairs:
        out.append(first.get(id(obs)))
        first.setdefault(id(obs), req["meta"]["type"])
    return out


def _budget(backend) -> dict[str, int]:
    """A stress probe's bounds: the run's time budget and the operation cap that goes with it, and
    its first event (a torn read, a lost update): one is all a verdict needs, either the expected
    race shown or the model contradicted, so the run ends there instead of using its whole budget."""
    return {"ms": backend.options.stress_ms, "max": backend.options.stress_max, "events": 1}


class TearCheck(Check):
    """Masks read together and full-value reads that span more than one atomic access."""

    name = "tear"

    def predict(self, plan):
        from ..bitmap import bit_position, full_read_tears, read_tears

        out = {}
        for b in _bitmaps_ok(plan):
            masks = []
            for group in b.spec.read_together:
                flags = [b.flag(n) for n in group]
                missing = [n for n, f in zip(group, flags) if f is None or not f.in_use]
                nrs = [f.nr for f in flags if f is not None and f.in_use]
                in_b = [nr for nr in nrs if bit_position(b.geometry, nr).in_bounds]
                entry = {"mask": list(group), "bits": nrs}
                if missing:
                    entry["not_in_use_here"] = missing
                if len(in_b) != len(nrs):
                    entry["out_of_bounds"] = sorted(set(nrs) - set(in_b))
                entry["tears"] = bool(in_b) and len(in_b) > 1 and bool(read_tears(b.geometry, in_b))
                entry["words"] = sorted({bit_position(b.geometry, nr).word for nr in in_b})
                # Which single-copy-atomic loads the mask needs (a u64 on a 32-bit CPU is one
                # word but two loads).
                entry["atomic_units"] = sorted({bit_position(b.geometry, nr).byte_offset // b.geometry.atomic_bytes
                                                for nr in in_b})
                masks.append(entry)
            out[b.type] = {"full_read_tears": bool(full_read_tears(b.geometry)),
                           "atomic_bytes": b.geometry.atomic_bytes,
                           "size_bytes": b.geometry.word_bytes * b.geometry.nwords,
                           "masks": masks}
        return out

    def model_outcome(self, plan, predicted):
        return self._verdict(predicted, "")

    def _verdict(self, predicted, how):
        parts = []
        for t, d in predicted.items():
            torn = [m for m in d["masks"] if m["tears"]]
            if not (d["full_read_tears"] or torn):
                continue
            loads = d["size_bytes"] // d["atomic_bytes"]
            text = f"{t}: a full read is {loads} loads of {d['atomic_bytes']} bytes"
            if torn:
                text += "; masks spanning loads: " + ", ".join("|".join(m["mask"]) for m in torn)
            parts.append(text)
        if parts:
            return CheckOutcome(Status.FAIL, f"{HAZARD}: can tear: " + "; ".join(parts) + how, predicted)
        return CheckOutcome(Status.PASS, "no mask or full read spans more than one atomic access" + how, predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            g = b.geometry
            size = g.word_bytes * g.nwords
            if g.nwords > 1:
                # word by word, as the C code for an array reads it
                reqs.append(probe("tear", {"type": b.type, "how": f"{g.nwords} loads of {g.word_bytes}"},
                                  w=g.word_bytes * 8, n=g.nwords, mode="words", readers=1,
                                  **_budget(backend)))
            elif backend.on_arch or g.word_bytes <= g.atomic_bytes:
                # one C load of the whole value: the real compiler and CPU decide how many accesses
                reqs.append(probe("tear", {"type": b.type, "how": f"one {size}-byte C load"},
                                  w=g.word_bytes * 8, mode="whole", readers=1, **_budget(backend)))
            else:
                # host: this CPU loads 8 bytes at once; emulate the arch's atomic_bytes-wide loads
                k = size // g.atomic_bytes
                reqs.append(probe("tear", {"type": b.type, "how": f"emulated: {k} loads of {g.atomic_bytes}"},
                                  w=g.atomic_bytes * 8, n=k, mode="words", readers=1,
                                  **_budget(backend)))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        seen = []
        disagree = []
        for (req, obs), shared in zip(pairs, _shared_runs(pairs)):
            t = req["meta"]["type"]
            torn, reads, writes = (int(obs.values[k]) for k in ("torn", "reads", "writes"))
            seen.append({"type": t, "how": req["meta"]["how"], "torn": torn, "reads": reads, "writes": writes,
                         "first_us": obs.values.get("first_us"), **({"same_run_as": shared} if shared else {})})
            if torn and not predicted.get(t, {}).get("full_read_tears"):
                disagree.append(f"{t} ({req['meta']['how']}): {torn} torn reads")
        if disagree:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: {backend.name} saw tearing the model rules out: "
                                + "; ".join(disagree), predicted, seen)
        short = _too_little_work(backend, seen, ("reads", "writes"), "torn")
        if short:
            return CheckOutcome(Status.ERROR, short, predicted, seen)
        confirmed = [f"{s['type']} torn in {s['torn']}/{s['reads']} reads ({s['how']})" for s in seen if s["torn"]]
        if confirmed:
            how = f" (observed by {backend.name}: {'; '.join(confirmed)})"
        else:
            how = f" ({backend.name}: no tear in {sum(s['reads'] for s in seen if 'same_run_as' not in s)} reads)"
        out = self._verdict(predicted, how)
        out.observed = seen
        return out


class LostUpdateCheck(Check):
    """Atomic set_bit from two threads on one word never loses an update; plain RMW may."""

    name = "lost-update"
    model_verdict = False

    def predict(self, plan):
        out = {}
        for b in _bitmaps_ok(plan):
            # Two flags in the same word: __set_bit (plain RMW) races; set_bit must not.
            out[b.type] = {"atomic_lost": 0, "word_bytes": b.geometry.word_bytes,
                           "nonatomic_may_lose": True}
        return out

    def model_outcome(self, plan, predicted):
        return CheckOutcome(Status.SKIP, "model only: lost updates are observed by a two-thread stress run "
                            "(use --backend host or exec)", predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            if b.type not in predicted:
                continue
            for mode in ("atomic", "nonatomic"):
                reqs.append(probe("lost_update", {"type": b.type, "mode": mode}, w=b.geometry.word_bytes * 8,
                                  threads=2, mode=mode, **_budget(backend)))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        seen = [{**req["meta"], "ops": int(obs.values["ops"]), "lost": int(obs.values["lost"]),
                 **({"same_run_as": shared} if shared else {})}
                for (req, obs), shared in zip(pairs, _shared_runs(pairs))]
        runs = [s for s in seen if "same_run_as" not in s]
        bad = [s for s in seen if s["mode"] == "atomic" and s["lost"]]
        if bad:
            return CheckOutcome(Status.ERROR, f"{MODEL_BUG}: atomic set_bit lost updates on {backend.name}: {bad[0]}",
                                predicted, seen)
        short = _too_little_work(backend, seen, ("ops",), "lost")
        if short:
            return CheckOutcome(Status.ERROR, short, predicted, seen)
        lost = [s for s in seen if s["mode"] == "nonatomic" and s["lost"]]
        n_lost = sum(s["lost"] for s in runs if s["mode"] == "nonatomic")
        note = (f"; plain __set_bit lost {n_lost} updates on "
                f"{', '.join(s['type'] for s in lost)} (non-atomic RMW races, as expected)" if lost else "")
        n_atomic = sum(s["ops"] for s in runs if s["mode"] == "atomic")
        return CheckOutcome(Status.PASS, f"atomic set_bit lost none of {n_atomic} updates on "
                            f"{len(predicted)} types{note}", predicted, seen)
