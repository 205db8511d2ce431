"""The report's data: every number the page, the text and the JSON show.

``build_report`` turns the inputs (``report.facts``: per-arch facts from the
run's plans, the matrix rows, the compilers found here) into the plain dict
that ``html``, ``svg``, ``text`` and ``json`` render, with bit positions,
bounds and tears from the bitmap model and free tag bits from the tagging
model.  It is pure: equal inputs give an equal dict, nothing is laid out,
compiled or looked up on this machine.  The sentences come from
``report.findings``; rendering never computes, the model never prints.

The report dict is the ``bitlayout.report/1`` JSON contract (``--format json``).
Every part works with partial inputs: a bitmap type that could not be laid out
on an arch carries its reason; a matrix run with model rows only marks every
profile unverified.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from .. import bitmap as bm
from ..backends import Observes, backend_class
from ..bitmap_types import is_unsigned_long
from ..errors import BitlayoutError
from ..profiles import Profile
from ..results import FAILED, RAN, STATUS_RANK, Backend, MatrixRow, Status, plain, worst_status
from ..struct_layout import struct_layout
from ..tagging import free_tag_bits
from .facts import BitmapFacts, StructFacts, TaggedFacts
from .findings import (bitmap_findings, emulated_allocator_note, expect_findings, group_differences, group_label,
                       matrix_findings, model_only_reason, short_flag_name, tag_shortfall, unverified_reason,
                       verification_notes, why_no_cpu, word_legend)

REPORT_SCHEMA = "bitlayout.report/1"
LAYOUT_CLASS_ORDER = ("LE32", "BE32", "LE64", "BE64")
NO_ROWS = "missing"  # a grid cell no row filled


def _sorted_profiles(profiles: Iterable[Profile]) -> list[Profile]:
    return sorted(profiles, key=lambda p: p.name)


def _status_of(statuses: Iterable[str]) -> str:
    return worst_status(statuses) or NO_ROWS


# ---------------------------------------------------------------------------
# What each backend's rows are evidence of (``backends``: observes, on_arch)


def _is(backend: str, observes: Observes, on_arch: bool | None = None) -> bool:
    cls = backend_class(backend)
    return cls is not None and cls.observes is observes and (on_arch is None or cls.on_arch == on_arch)


def _on_arch(backend: str) -> bool:
    """Observations from the arch's own toolchain (its compiler's layout facts, its CPU); the
    host backend runs the shim on the build machine with the arch's geometry: evidence for
    the bitops semantics, not for the arch."""
    cls = backend_class(backend)
    return cls is not None and cls.on_arch


# ---------------------------------------------------------------------------
# Overview grid, arches, evidence


def _arch_entries(profiles: Sequence[Profile], rows: Sequence[MatrixRow], compilers: Mapping[str, str]) -> list[dict]:
    """One entry per arch: its class and whether a real toolchain observed anything.

    A profile without any toolchain is marked unverified everywhere it appears
    (docs/profiles.md).  ``verified_by`` says what observed the arch in this
    run: its CPU (a probe backend on the arch: ``exec``), a compiler for it (a
    layout backend: ``compiled``), or nothing (a model-only run).  ``verified``
    is true when something observed it in this run or, failing that, a compiler
    for it exists here (``compilers``: its profile numbers are then checked by
    ``bitlayout profiles`` and the truth tests).
    """
    cpu_backends = sorted({r.backend for r in rows if _is(r.backend, Observes.PROBES, on_arch=True)})
    compiler_backends = sorted({r.backend for r in rows if _is(r.backend, Observes.LAYOUT, on_arch=True)})
    out = []
    for p in profiles:
        mine = [r for r in rows if r.arch == p.name]
        ran = [r for r in mine if r.backend != Backend.MODEL and r.status in RAN]
        arch_ran = [r for r in ran if _on_arch(r.backend)]
        backends = sorted({r.backend for r in ran})
        toolchains = sorted({str(r.evidence["toolchain"]) for r in arch_ran if "toolchain" in r.evidence})
        runners = sorted({str(r.evidence["emulator"]) for r in arch_ran if "emulator" in r.evidence})
        why_not = why_no_cpu(mine, cpu_backends, compiler_backends)
        level = ("cpu" if any(r.backend in cpu_backends for r in arch_ran)
                 else "compiler" if arch_ran else "")
        compiler = None if arch_ran else compilers.get(p.name)
        if compiler is not None:
            why_not.insert(0, model_only_reason(compiler))
        out.append({
            "name": p.name,
            "kernel_arch": p.kernel_arch,
            "description": p.description,
            "layout_class": p.layout_class,
            "bits_per_long": p.bits_per_long,
            "endianness": p.endianness,
            "cacheline_bytes": p.cacheline_bytes,
            "single_copy_atomic_bytes": p.atomicity.single_copy_atomic_bytes,
            "atomic64": p.atomicity.atomic64,
            "verified": bool(arch_ran) or compiler is not None,
            "verified_by": level,
            "observed_by": backends,
            "toolchains": toolchains,
            "runners": runners,
            "unverified_reason": "" if level == "cpu" else unverified_reason(why_not),
        })
    return out


# The kernel allocators cannot run in user space: for them the shim re-runs the
# kernel's alignment formula in C (csrc/alloc_probe.c: mm/slab_common.c
# calculate_alignment(), the kmalloc size classes of include/linux/slab.h),
# which emulates the allocator rather than observing it.  malloc and static
# objects are real allocations, observed.  The shim runs in the probe backends.
EMULATED_ALLOCATORS = ("slab", "kmalloc")


def _tag_verbs(obs: dict, allocator: str) -> None:
    """Mark each observer item "emulated" or "observed" (in place), with the note why."""
    emulated = allocator in EMULATED_ALLOCATORS
    for o in obs["by"]:
        o["verb"] = "emulated" if emulated and _is(o["backend"], Observes.PROBES) else "observed"
    obs["note"] = (emulated_allocator_note(allocator)
                   if emulated and any(o["verb"] == "emulated" for o in obs["by"]) else "")


def _status_by(rows: Sequence[MatrixRow]) -> list[str]:
    worst = _status_of(r.status for r in rows)
    who = sorted({r.backend for r in rows if r.status == worst})
    return [b for b in who if b != Backend.MODEL] or who


def _grid(arches: Sequence[str], rows: Sequence[MatrixRow]) -> dict:
    checks: list[str] = []
    for r in rows:
        if r.check not in checks:
            checks.append(r.check)
    cells: dict[str, dict[str, dict]] = {}
    for arch in arches:
        cells[arch] = {}
        for check in checks:
            mine = [r for r in rows if r.arch == arch and r.check == check]
            cells[arch][check] = {
                "status": _status_of(r.status for r in mine),
                "backends": {r.backend: r.status for r in mine},
                # Who actually observed it (the model's row is the prediction).
                "observed_by": sorted(r.backend for r in mine if r.backend != Backend.MODEL and r.status in RAN),
                # The backends behind the cell's (worst) status: an error raised by exec
                # names exec, not the host that passed.  The model only when no backend
                # reached that status (its row is the prediction).
                "status_by": _status_by(mine),
                "detail": "; ".join(f"{r.backend}: {r.detail}" for r in mine if r.detail),
            }
    totals = {s: sum(1 for r in rows if r.status == s) for s in STATUS_RANK}
    return {"checks": checks, "cells": cells, "totals": totals, "rows": len(rows)}


# The checks whose rows back a bitmap map's claims (positions, bounds, tears).
BITMAP_CHECKS = ("bit-position", "bounds", "tear")


def claim_evidence(rows: Sequence[MatrixRow], arches: Sequence[str], checks: Sequence[str]) -> list[dict]:
    """Per check and observing backend: status -> arches, for the arches a picture covers.

    Model rows are left out: they are the prediction, not evidence.
    """
    wanted = set(arches)
    out: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        if r.arch in wanted and r.check in checks and r.backend != Backend.MODEL and r.status != Status.SKIP:
            out.setdefault((r.check, r.backend, r.status), []).append(r.arch)
    order = {c: i for i, c in enumerate(checks)}
    return [{"check": c, "backend": b, "status": st, "arches": sorted(a)}
            for (c, b, st), a in sorted(out.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2]))]


def observers(items: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """``claim_evidence`` items regrouped for a caption: who observed which checks on
    which arches (statuses belong to the whole check, so they are not repeated
    here), and the rows where a backend disagreed with the model or could not run."""
    by_who: dict[tuple[str, str], list[str]] = {}
    errors = []
    for ev in items:
        if ev["status"] == Status.ERROR:
            errors.append({"check": ev["check"], "backend": ev["backend"], "arches": ev["arches"]})
            continue
        arches = by_who.setdefault((ev["backend"], ev["check"]), [])
        arches.extend(a for a in ev["arches"] if a not in arches)
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (backend, check), arches in by_who.items():
        merged.setdefault((backend, tuple(sorted(arches))), []).append(check)
    return {"by": [{"backend": b, "arches": list(a), "checks": c} for (b, a), c in merged.items()],
            "errors": errors}


def _evidence_by_check(rows: Sequence[MatrixRow]) -> list[dict]:
    """Per check: status counts, who observed it, the rows that ran, skips grouped by reason."""
    checks: list[str] = []
    for r in rows:
        if r.check not in checks:
            checks.append(r.check)
    out = []
    for check in checks:
        mine = [r for r in rows if r.check == check]
        counts: dict[str, int] = {}
        for r in mine:
            counts[r.status] = counts.get(r.status, 0) + 1
        seen: dict[str, set[str]] = {}
        for r in mine:
            if r.backend != Backend.MODEL and r.status in RAN:
                seen.setdefault(r.backend, set()).add(r.arch)
        skipped: dict[tuple[str, str], list[str]] = {}
        for r in mine:
            if r.status == Status.SKIP:
                skipped.setdefault((r.backend, r.detail), []).append(r.arch)
        out.append({
            "check": check,
            "counts": dict(sorted(counts.items())),
            "observed_by": {b: len(a) for b, a in sorted(seen.items())},
            "rows": [i for i, r in enumerate(rows) if r.check == check and r.status != Status.SKIP],
            "skipped": [{"backend": b, "detail": d, "arches": a} for (b, d), a in skipped.items()],
        })
    return out


def _evidence(rows: Sequence[MatrixRow]) -> list[dict]:
    """Every matrix row, with what observed it; the page groups them by check."""
    out = []
    for r in rows:
        out.append({
            "arch": r.arch, "check": r.check, "backend": r.backend, "status": r.status,
            "detail": r.detail, "predicted": plain(r.predicted), "observed": plain(r.observed),
            "evidence": plain(r.evidence),
        })
    return out


# ---------------------------------------------------------------------------
# Bitmaps


def _bits_in_use(flags: Mapping[str, int], unused: frozenset[str]) -> dict[int, bool]:
    """bit number -> in use on this arch (a bit is in use when any of its names is)."""
    out: dict[int, bool] = {}
    for name, nr in flags.items():
        out[nr] = out.get(nr, False) or name not in unused
    return out


def _geometry_key(geom: Any, flags: Mapping[str, int], unused: frozenset[str]) -> tuple:
    # Arches differ in flag *names* (aliases such as VMA_PKEY_BIT0 = VMA_HIGH_ARCH_0)
    # without differing in where bits land: group on the bit numbers only.
    return (geom.word_bytes, geom.nwords, geom.little_endian, geom.atomic_bytes,
            tuple(sorted(_bits_in_use(flags, unused).items())))


def _bitmap_group(type_name: str, label: str, arches: list[str], geom: Any,
                  flags: Mapping[str, int], read_together: Sequence[Sequence[str]],
                  unused: frozenset[str] = frozenset(),
                  name_arches: Mapping[str, Sequence[str]] | None = None) -> dict:
    """One drawn map: one cell per bit number, named by its most widespread name.

    ``flags`` is every name any arch of the group defines; ``name_arches`` says
    which arches define each (all of them when not given); the other names of
    a bit are listed as aliases with their arches.
    """
    name_arches = name_arches or {n: arches for n in flags}
    size_bytes = geom.word_bytes * geom.nwords
    unit_bytes = min(geom.word_bytes, geom.atomic_bytes)
    in_use = _bits_in_use(flags, unused)
    by_nr: dict[int, list[str]] = {}
    for name, nr in flags.items():
        by_nr.setdefault(nr, []).append(name)
    placed = []
    for nr in sorted(by_nr):
        names = sorted(by_nr[nr], key=lambda n: (-len(name_arches.get(n, ())), n))
        pos = bm.bit_position(geom, nr)
        placed.append({
            "name": names[0], "short": short_flag_name(names[0]), "nr": nr,
            "aliases": [{"name": n, "arches": sorted(name_arches.get(n, ()))} for n in names[1:]],
            "word": pos.word, "bit_in_word": pos.bit_in_word,
            "byte": pos.byte_offset, "bit_in_byte": pos.bit_in_byte,
            "in_bounds": bool(pos.in_bounds),
            "in_use": in_use[nr],
            "unit": pos.byte_offset // unit_bytes,
        })
    oob_nrs = set(bm.out_of_bounds(geom, list(by_nr)))
    oob = [f["name"] for f in placed if f["nr"] in oob_nrs and f["in_use"]]
    oob_unused = [f["name"] for f in placed if f["nr"] in oob_nrs and not f["in_use"]]
    cell_of = {name: f for f in placed for name in [f["name"]] + [a["name"] for a in f["aliases"]]}
    masks = []
    for group in read_together:
        # A flag gated off on these arches is not part of the mask there
        # (include/linux/mm.h defines e.g. VM_SEALED as VM_NONE on 32-bit).
        known = [n for n in group if n in cell_of and n not in unused]
        missing = [n for n in group if n not in known]
        # Tearing is about the bits inside the object: a flag past its end is already a bounds
        # FAIL, and counting its word as "a second access" would report a tear the tear check
        # (checks.TearCheck, in-bounds bits only) does not.
        nrs = [cell_of[n]["nr"] for n in known if cell_of[n]["in_bounds"]]
        tears = bool(bm.read_tears(geom, nrs)) if nrs else False
        masks.append({
            "flags": list(group), "missing": missing,
            "units": sorted({cell_of[n]["unit"] for n in known}),
            "bytes": sorted({cell_of[n]["byte"] for n in known}),
            "tears": tears,
            "out_of_bounds": [n for n in known if not cell_of[n]["in_bounds"]],
        })
    end = max([size_bytes] + [f["byte"] + 1 for f in placed])
    # Draw whole words past the end: set_bit() writes the whole word it computes.
    guard_bytes = -(-(end - size_bytes) // geom.word_bytes) * geom.word_bytes
    return {
        "type": type_name, "label": label, "arches": arches,
        "word_bytes": geom.word_bytes, "nwords": geom.nwords, "size_bytes": size_bytes,
        "little_endian": bool(geom.little_endian), "atomic_bytes": geom.atomic_bytes,
        "unit_bytes": unit_bytes, "guard_bytes": guard_bytes,
        "bits_in_type": size_bytes * 8,
        "flags": placed, "out_of_bounds": oob, "out_of_bounds_unused": oob_unused, "masks": masks,
        "words_past_end": guard_bytes // geom.word_bytes,
        "full_read_tears": bool(bm.full_read_tears(geom)),
        "image_hex": bytes(bm.memory_image(geom, [f["nr"] for f in placed if f["in_bounds"]])).hex(),
    }


def _bitmap_entry(facts: BitmapFacts, profiles: Mapping[str, Profile]) -> dict:
    groups: dict[tuple, dict] = {}
    missing = []
    for af in facts.per_arch:
        if af.geometry is None:
            missing.append({"arch": af.arch, "reason": af.reason or "no layout"})
            continue
        key = _geometry_key(af.geometry, af.flags, frozenset(af.unused))
        g = groups.setdefault(key, {"arches": [], "geometry": af.geometry, "flags": {}, "name_arches": {},
                                    "c_type": af.c_type, "unused_on": {}, "shape": af.shape,
                                    "word_c_type": af.word_c_type})
        g["arches"].append(af.arch)
        for name, nr in af.flags.items():
            g["flags"][name] = nr
            g["name_arches"].setdefault(name, []).append(af.arch)
            g["unused_on"].setdefault(name, []).append(name in af.unused)
    for g in groups.values():
        # A name is out of use in the group when every arch that defines it gates it off.
        g["unused"] = frozenset(n for n, flags in g["unused_on"].items() if all(flags))
    # Name each group by its layout class; when one class splits (x32's 8-byte
    # atomics, m68k's alignment), the biggest group keeps the plain name and
    # the others are named after their arches.
    by_class: dict[str, list[dict]] = {}
    for g in groups.values():
        cls = profiles[g["arches"][0]].layout_class if g["arches"][0] in profiles else "?"
        g["class"] = cls
        by_class.setdefault(cls, []).append(g)
    out_groups = []
    for cls in sorted(by_class, key=lambda c: (LAYOUT_CLASS_ORDER.index(c) if c in LAYOUT_CLASS_ORDER else 9, c)):
        members = sorted(by_class[cls], key=lambda g: (-len(g["arches"]), g["arches"]))
        for i, g in enumerate(members):
            label = group_label(cls, g["arches"], i == 0)
            entry = _bitmap_group(facts.type, label, sorted(g["arches"]), g["geometry"], g["flags"],
                                  facts.read_together, g["unused"], g["name_arches"])
            entry["class"] = cls
            entry["differs"] = i > 0
            entry["differs_because"] = group_differences(
                members[0], g, _bits_in_use(members[0]["flags"], members[0]["unused"]),
                _bits_in_use(g["flags"], g["unused"])) if i > 0 else []
            entry["c_type"] = g["c_type"]
            entry["shape"] = g["shape"]
            entry["word_c_type"] = g["word_c_type"]
            # set_bit() and friends take an unsigned long *: their hazards (a word past the
            # end) are the ones of an unsigned long array (include/linux/bitmap.h).  A scalar
            # of another type is used with masks, 1U << nr / BIT_ULL(nr) (include/vdso/bits.h).
            entry["ulong_words"] = g["shape"] != "scalar" or is_unsigned_long(g["word_c_type"])
            out_groups.append(entry)
    return {
        "type": facts.type, "label": facts.label,
        # What one drawn word is, for the legend.
        "word_legend": word_legend(out_groups),
        "flag_count": max((len(g["flags"]) for g in out_groups), default=0),
        "groups": out_groups, "missing": missing, "findings": bitmap_findings(facts.type, out_groups, profiles),
    }


# ---------------------------------------------------------------------------
# Tagged pointers


def _tag_entry(facts: TaggedFacts, profiles: Mapping[str, Profile]) -> dict:
    per_arch = []
    findings = []
    for af in facts.per_arch:
        p = profiles.get(af.arch)
        if p is None or af.pointee_align_bytes is None:
            per_arch.append({"arch": af.arch, "ok": None, "reason": af.reason or "no layout"})
            continue
        try:
            tb = free_tag_bits(p, af.pointee_align_bytes, af.pointee_size_bytes or 0, facts.allocator)
        except BitlayoutError as exc:
            per_arch.append({"arch": af.arch, "ok": None, "reason": str(exc)})
            continue
        free = tb.free_bits
        entry = {
            "arch": af.arch, "bits_per_long": p.bits_per_long,
            "pointee_align_bytes": af.pointee_align_bytes,
            "pointee_size_bytes": af.pointee_size_bytes,
            "allocator": facts.allocator,
            "guaranteed_align_bytes": tb.guaranteed_align_bytes,
            "reasoning": list(tb.reasoning),
            "free_bits": free, "tag_bits": facts.tag_bits,
            "ok": bool(tb.fits(facts.tag_bits)),
            "reason": "",
        }
        per_arch.append(entry)
        if not entry["ok"]:
            findings.append(tag_shortfall(facts.field, entry))
    # The model's reasoning, once per distinct explanation, with the arches it covers.
    why: dict[tuple, list[str]] = {}
    for e in per_arch:
        if e.get("reasoning"):
            why.setdefault(tuple(e["reasoning"]), []).append(e["arch"])
    return {"field": facts.field, "pointee": facts.pointee, "tag_bits": facts.tag_bits,
            "allocator": facts.allocator, "per_arch": per_arch, "findings": findings,
            "reasoning": [{"arches": arches, "lines": list(lines)} for lines, arches in why.items()]}


# ---------------------------------------------------------------------------
# Struct layouts: members, holes, padding, cachelines (``bitlayout.struct_layout``)


def _struct_entry(facts: StructFacts, profiles: Mapping[str, Profile]) -> dict:
    """Arches with the same member layout share one picture; cacheline sizes are
    listed per arch and the picture uses the group's most common one."""
    groups: dict[str, dict] = {}
    order: list[str] = []
    missing = []
    for arch, tl in facts.per_arch.items():
        if tl is None:
            missing.append({"arch": arch, "reason": facts.reasons.get(arch, "no layout")})
            continue
        lay = struct_layout(tl, profiles[arch].cacheline_bytes)
        key = repr((lay["size_bytes"], lay["align_bytes"],
                    [{k: v for k, v in seg.items() if k != "crosses_cacheline"} for seg in lay["segments"]]))
        if key not in groups:
            groups[key] = {"arches": [], "tl": tl, "by_cacheline": {}}
            order.append(key)
        groups[key]["arches"].append(arch)
        groups[key]["by_cacheline"].setdefault(profiles[arch].cacheline_bytes, []).append(arch)
    out = []
    for k in order:
        g = groups[k]
        line = max(g["by_cacheline"], key=lambda c: (len(g["by_cacheline"][c]), -c))
        out.append({"arches": sorted(g["arches"]), **struct_layout(g["tl"], line),
                    "cacheline_arches": {str(c): a for c, a in sorted(g["by_cacheline"].items())}})
    out.sort(key=lambda g: (g["size_bytes"], g["arches"]))
    return {"type": facts.type, "groups": out, "missing": missing}


# ---------------------------------------------------------------------------
# The report


def build_report(
    *,
    profiles: Sequence[Profile],
    rows: Sequence[MatrixRow] = (),
    bitmaps: Sequence[BitmapFacts] = (),
    tagged: Sequence[TaggedFacts] = (),
    structs: Sequence[StructFacts] = (),
    compilers: Mapping[str, str] | None = None,
    title: str = "bitlayout report",
    spec: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
) -> dict:
    """The report dict (``bitlayout.report/1``): pure, deterministic for equal inputs.

    ``compilers``: arch -> identity of the compiler found here (``facts.compilers_here``);
    an arch without one that nothing observed in this run is unverified.
    """
    profiles = _sorted_profiles(profiles)
    by_name = {p.name: p for p in profiles}
    rows = list(rows)
    arches = _arch_entries(profiles, rows, compilers or {})
    bitmap_entries = [_bitmap_entry(b, by_name) for b in bitmaps]
    tag_entries = [_tag_entry(t, by_name) for t in tagged]
    struct_entries = [_struct_entry(s, by_name) for s in structs]
    # Next to each picture: which backends observed the claims it draws.
    for e in bitmap_entries:
        for g in e["groups"]:
            g["evidence"] = claim_evidence(rows, g["arches"], BITMAP_CHECKS)
            g["observers"] = observers(g["evidence"])
    for e in tag_entries:
        e["evidence"] = claim_evidence(rows, [r["arch"] for r in e["per_arch"]], ("tag-bits",))
        e["observers"] = observers(e["evidence"])
        _tag_verbs(e["observers"], e["allocator"])
    for e in struct_entries:
        for g in e["groups"]:
            g["evidence"] = claim_evidence(rows, g["arches"], ("layout",))
            g["observers"] = observers(g["evidence"])

    findings: list[dict] = []
    for e in bitmap_entries + tag_entries:
        findings.extend(e["findings"])
    # Each false [[expect]] is a headline of its own: the matrix rows below fold
    # every fail group out of the headline, and an expect is the user's own claim.
    findings.extend(expect_findings(rows))
    findings.extend(matrix_findings(rows))
    findings.extend(verification_notes(arches))
    # Headline findings open the page; the failing matrix rows behind them are
    # the same hazards per check and backend, shown folded.
    for f in findings:
        f.setdefault("headline", True)

    classes: dict[str, list[str]] = {}
    for a in arches:
        classes.setdefault(a["layout_class"], []).append(a["name"])
    unverified = [a for a in arches if not a["verified"]]
    return {
        "schema": REPORT_SCHEMA,
        "title": title,
        "spec": plain(dict(spec or {})),
        "run": plain(dict(run or {})),
        "arches": arches,
        "layout_classes": {c: classes[c] for c in sorted(classes, key=lambda c: (
            LAYOUT_CLASS_ORDER.index(c) if c in LAYOUT_CLASS_ORDER else 9, c))},
        "grid": _grid([p.name for p in profiles], rows),
        "bitmaps": bitmap_entries,
        "tagged_pointers": tag_entries,
        "structs": struct_entries,
        "findings": findings,
        "evidence": _evidence(rows),
        "evidence_by_check": _evidence_by_check(rows),  # "rows" index into "evidence"
        "summary": {
            "arches": len(arches),
            "verified_arches": len(arches) - len(unverified),
            "rows": len(rows),
            **{s.value: sum(1 for r in rows if r.status == s) for s in (*FAILED, Status.PASS, Status.SKIP)},
            "out_of_bounds_classes": sum(1 for e in bitmap_entries for g in e["groups"] if g["out_of_bounds"]),
        },
    }
