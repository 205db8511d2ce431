"""The report's data: every number the page, the text and the JSON show.

All computation for the report happens here; ``html``, ``svg``, ``text`` and
``json`` only render the plain dict built by :func:`build_report` (STYLE.md
rule 6: rendering never computes, the model never prints).

Two stages:

* :func:`gather` (impure: lays out the spec's headers per arch through
  ``bitlayout.layout``) turns a spec + profiles + a matrix run into the
  ``*Facts`` inputs below;
* :func:`build_report` (pure) turns those inputs into the report dict, with
  bit positions, bounds and tears from the bitmap model and free tag bits from
  the tagging model.  Tests drive it with small hand-made fixtures.

The report dict is the ``bitlayout.report/1`` JSON contract (``--format json``).
Every part works with partial inputs: a bitmap type that could not be laid out
on an arch carries its reason; a matrix run with model rows only marks every
profile unverified.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..toolchains import find_compiler
from ..errors import BitlayoutError
from ..profiles import Profile
from ..results import MatrixRow
from ..bitmap_types import is_unsigned_long, word_kind
from ..ranges import format_bit_ranges

REPORT_SCHEMA = "bitlayout.report/1"

# Worst-first ranking of a grid cell that several backends filled, the same as
# ``matrix.STATUS_ORDER``: an error (model and backend disagree) outranks a
# hazard, a skip shows only when nothing else ran.
STATUS_RANK = {"error": 3, "fail": 2, "pass": 1, "skip": 0}
LAYOUT_CLASS_ORDER = ("LE32", "BE32", "LE64", "BE64")


# ---------------------------------------------------------------------------
# Inputs (what gather() collects; tests build them directly)


@dataclass(frozen=True)
class BitmapArchFacts:
    """One bitmap type on one arch: its memory shape and the flag numbers."""

    arch: str
    geometry: Any | None  # bitlayout.bitmap.BitmapGeometry, None when the type has no layout here
    flags: Mapping[str, int]  # flag name -> bit number
    reason: str = ""  # why geometry is None
    c_type: str = ""
    # Flags the spec gates off on this arch (``only_on``): drawn, but a flag
    # that is not in use here cannot overflow anything.
    unused: frozenset[str] = frozenset()
    # "scalar" (a u32/u64/unsigned long flags word) or "array" (unsigned long[N],
    # DECLARE_BITMAP, a struct wrapping one); word_c_type: the C type of one word.
    shape: str = "array"
    word_c_type: str = "unsigned long"


@dataclass(frozen=True)
class BitmapFacts:
    type: str
    per_arch: Sequence[BitmapArchFacts]
    read_together: Sequence[Sequence[str]] = ()
    label: str = ""  # e.g. "the kernel's choice"; shown next to the type


@dataclass(frozen=True)
class TaggedArchFacts:
    arch: str
    pointee_align_bytes: int | None
    pointee_size_bytes: int | None
    reason: str = ""


@dataclass(frozen=True)
class TaggedFacts:
    field: str  # "struct vm_area_struct.anon_vma"
    pointee: str  # "struct anon_vma"
    tag_bits: int
    allocator: str
    per_arch: Sequence[TaggedArchFacts]


@dataclass(frozen=True)
class StructFacts:
    type: str
    per_arch: Mapping[str, Any]  # arch -> bitlayout.layout.TypeLayout (or None)
    reasons: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Small helpers


def short_flag_name(name: str) -> str:
    """VMA_UFFD_MINOR_BIT -> UFFD_MINOR: the label drawn under a bit cell."""
    base = name
    if base.endswith("_BIT"):
        base = base[: -len("_BIT")]
    head, sep, rest = base.partition("_")
    if sep and rest and head.isupper() and len(head) <= 4:
        base = rest
    return base


def _sorted_profiles(profiles: Iterable[Profile]) -> list[Profile]:
    return sorted(profiles, key=lambda p: p.name)


def _status_of(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    if not statuses:
        return "missing"
    return max(statuses, key=lambda s: STATUS_RANK.get(s, -1))


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings -> JSON-able plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, bytes):
        return value.hex()
    return value


# ---------------------------------------------------------------------------
# Overview grid, arches, evidence


# Backends whose observations come from the arch's own toolchain: ``compiled``
# (its compiler's layout facts) and ``exec`` (its CPU, emulated or native).  The
# ``host`` backend runs the shim on the build machine with the arch's geometry:
# evidence for the bitops semantics, not for the arch.
ARCH_BACKENDS = ("compiled", "exec")


def _arch_entries(profiles: Sequence[Profile], rows: Sequence[MatrixRow]) -> list[dict]:
    """One entry per arch: its class and whether a real toolchain observed anything.

    DESIGN.md: "a profile without any toolchain is marked unverified
    everywhere it appears".  ``verified_by`` says what observed the arch in
    this run: its CPU (``exec``), a compiler for it (``compiled``), or nothing
    (a model-only run).  ``verified`` is true when something observed it in
    this run or, failing that, a compiler for it exists here (its profile
    numbers are then checked by ``bitlayout profiles`` and the truth tests).
    """
    out = []
    for p in profiles:
        mine = [r for r in rows if r.arch == p.name]
        ran = [r for r in mine if r.backend != "model" and r.status in ("pass", "fail")]
        arch_ran = [r for r in ran if r.backend in ARCH_BACKENDS]
        backends = sorted({r.backend for r in ran})
        toolchains = sorted({str(r.evidence.get("toolchain") or r.evidence.get("compiler"))
                             for r in arch_ran if r.evidence.get("toolchain") or r.evidence.get("compiler")})
        runners = sorted({str(r.evidence.get("emulator") or r.evidence.get("runner"))
                          for r in arch_ran if r.evidence.get("emulator") or r.evidence.get("runner")})
        why_not = _why_no_cpu(mine)
        level = ("cpu" if any(r.backend == "exec" for r in arch_ran)
                 else "compiler" if arch_ran else "")
        compiler = None if arch_ran else find_compiler(p)
        if compiler is not None:
            why_not.insert(0, f"not observed in this run (model only); profile checked by {compiler.identity}")
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
            "unverified_reason": "" if level == "cpu" else (
                "; ".join(why_not[:2]) or "no compiler or CPU for this arch observed anything"),
        })
    return out


# The kernel allocators cannot run in user space: for them the exec backend
# re-runs the kernel's alignment formula in C on the arch's CPU
# (csrc/alloc_probe.c: mm/slab_common.c calculate_alignment(), the kmalloc size
# classes of include/linux/slab.h), which emulates the allocator rather than
# observing it.  malloc and static objects are real allocations, observed.
EMULATED_ALLOCATORS = ("slab", "kmalloc")
SHIM_BACKENDS = ("exec", "host")  # the backends that run csrc/alloc_probe.c


def _tag_verbs(obs: dict, allocator: str) -> None:
    """Mark each observer item "emulated" or "observed" (in place), with the note why."""
    emulated = allocator in EMULATED_ALLOCATORS
    for o in obs["by"]:
        o["verb"] = "emulated" if emulated and o["backend"] in SHIM_BACKENDS else "observed"
    obs["note"] = (f"{allocator}: the shim re-runs the kernel's alignment formula in C "
                   "(csrc/alloc_probe.c, after mm/slab_common.c); the kernel allocator itself "
                   "is not observed" if emulated and any(o["verb"] == "emulated" for o in obs["by"]) else "")


def _status_by(rows: Sequence[MatrixRow]) -> list[str]:
    worst = _status_of(r.status for r in rows)
    who = sorted({r.backend for r in rows if r.status == worst})
    return [b for b in who if b != "model"] or who


def _why_no_cpu(rows: Sequence[MatrixRow]) -> list[str]:
    """Why the arch's CPU did not run the shim: the exec backend's own skip/error reasons
    (e.g. "qemu-user 7.2 has no ARC target"), not the per-check skips every arch has by
    design (exec has no probe for layout; compiled observes layout facts only)."""
    def reasons(backend: str) -> list[str]:
        return sorted({r.detail for r in rows
                       if r.backend == backend and r.status in ("skip", "error") and r.detail})

    exec_why = reasons("exec")
    specific = [d for d in exec_why if "no probe for" not in d]
    if specific or exec_why:
        return [f"exec: {d}" if not d.startswith("exec:") else d for d in (specific or exec_why)]
    return [f"compiled: {d}" for d in reasons("compiled")]


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
                "observed_by": sorted(r.backend for r in mine
                                      if r.backend != "model" and r.status in ("pass", "fail")),
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
        if r.arch in wanted and r.check in checks and r.backend != "model" and r.status != "skip":
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
        if ev["status"] == "error":
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
            if r.backend != "model" and r.status in ("pass", "fail"):
                seen.setdefault(r.backend, set()).add(r.arch)
        skipped: dict[tuple[str, str], list[str]] = {}
        for r in mine:
            if r.status == "skip":
                skipped.setdefault((r.backend, r.detail), []).append(r.arch)
        out.append({
            "check": check,
            "counts": dict(sorted(counts.items())),
            "observed_by": {b: len(a) for b, a in sorted(seen.items())},
            "rows": [i for i, r in enumerate(rows) if r.check == check and r.status != "skip"],
            "skipped": [{"backend": b, "detail": d, "arches": a} for (b, d), a in skipped.items()],
        })
    return out


def _evidence(rows: Sequence[MatrixRow]) -> list[dict]:
    """Every matrix row, with what observed it; the page groups them by check."""
    out = []
    for r in rows:
        out.append({
            "arch": r.arch, "check": r.check, "backend": r.backend, "status": r.status,
            "detail": r.detail, "predicted": _plain(r.predicted), "observed": _plain(r.observed),
            "evidence": _plain(r.evidence),
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
    from .. import bitmap as bm  # the pure bit-position model (shim engineer's module)

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


def _differences(main: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """Why a group was drawn apart from the main group of its layout class."""
    out = []
    a, b = main["geometry"], other["geometry"]
    for attr, what in (("word_bytes", "word bytes"), ("nwords", "words"),
                       ("atomic_bytes", "single-copy-atomic bytes")):
        if getattr(a, attr) != getattr(b, attr):
            out.append(f"{what} {getattr(b, attr)} (not {getattr(a, attr)})")
    bits_a = _bits_in_use(main["flags"], main["unused"])
    bits_b = _bits_in_use(other["flags"], other["unused"])
    if set(bits_a) - set(bits_b):
        out.append(f"no flag at bit(s) {_ranges(sorted(set(bits_a) - set(bits_b)))}")
    if set(bits_b) - set(bits_a):
        out.append(f"extra flag bit(s) {_ranges(sorted(set(bits_b) - set(bits_a)))}")
    used = [nr for nr in bits_b if nr in bits_a and bits_b[nr] and not bits_a[nr]]
    unused = [nr for nr in bits_b if nr in bits_a and not bits_b[nr] and bits_a[nr]]
    if used:
        out.append(f"bit(s) {_ranges(used)} in use here")
    if unused:
        out.append(f"bit(s) {_ranges(unused)} gated off here")
    return out


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
            label = cls if i == 0 else f"{cls}: {', '.join(g['arches'][:3])}{' ...' if len(g['arches']) > 3 else ''}"
            entry = _bitmap_group(facts.type, label, sorted(g["arches"]), g["geometry"], g["flags"],
                                  facts.read_together, g["unused"], g["name_arches"])
            entry["class"] = cls
            entry["differs"] = i > 0
            entry["differs_because"] = _differences(members[0], g) if i > 0 else []
            entry["c_type"] = g["c_type"]
            entry["shape"] = g["shape"]
            entry["word_c_type"] = g["word_c_type"]
            # set_bit() and friends take an unsigned long *: their hazards (a word past the
            # end) are the ones of an unsigned long array (include/linux/bitmap.h).  A scalar
            # of another type is used with masks, 1U << nr / BIT_ULL(nr) (include/vdso/bits.h).
            entry["ulong_words"] = g["shape"] != "scalar" or is_unsigned_long(g["word_c_type"])
            out_groups.append(entry)
    # Findings for this type: one line each, plain facts.
    findings = []
    for g in out_groups:
        if g["out_of_bounds"]:
            nrs = [f["nr"] for f in g["flags"] if f["name"] in g["out_of_bounds"]]
            bits = g["bits_in_type"]
            if g["ulong_words"]:
                text = (f"{facts.type}: {len(set(nrs))} flag bit(s) out of bounds on {g['label']} "
                        f"(bits {_ranges(nrs)}; the type holds bits 0..{bits - 1}): "
                        f"set_bit() writes {g['words_past_end']} word(s) past the end "
                        f"on {', '.join(g['arches'])}")
            else:
                shift = ("1U << nr is undefined for nr >= 32 (BIT_ULL() needed) and a wider value "
                         "truncates when stored in it" if bits <= 32 else
                         f"no shift of a {bits}-bit value reaches them (1ULL << nr is undefined for nr >= 64)")
                text = (f"{facts.type}: {len(set(nrs))} flag bit(s) do not fit the {bits}-bit "
                        f"{g['word_c_type']} on {g['label']} (bits {_ranges(nrs)}; it holds bits "
                        f"0..{bits - 1}): {shift}; on {', '.join(g['arches'])}")
            findings.append({"severity": "fail", "arches": list(g["arches"]), "text": text})
    scalar_groups = [g for g in out_groups if not g["ulong_words"]]
    if scalar_groups:
        # set_bit(nr, (unsigned long *)&flags) on a word narrower or wider than a long:
        # the unsigned long it reads and writes is not the flags word.  On big-endian the
        # bit even lands in another byte (bit 0 of a u32 on BE64 is byte 3 of the long
        # at its address: byte 7 of the 8 set_bit() writes).
        wrong_byte = sorted(a for g in scalar_groups if not g["little_endian"] for a in g["arches"]
                            if a in profiles and profiles[a].bits_per_long != g["word_bytes"] * 8)
        other_size = sorted(a for g in scalar_groups for a in g["arches"]
                            if a in profiles and profiles[a].bits_per_long != g["word_bytes"] * 8)
        if other_size:
            ctypes = sorted({g["word_c_type"] for g in scalar_groups})
            findings.append({
                "severity": "warn", "arches": other_size,
                "text": f"{facts.type} is a scalar {' / '.join(ctypes)}, not unsigned long: use masks "
                        f"(BIT()/BIT_ULL()), never set_bit()/test_bit() on it: they access a whole "
                        f"unsigned long of another size on {', '.join(other_size)}"
                        + (f", and pick the wrong byte on big-endian {', '.join(wrong_byte)}"
                           if wrong_byte else ""),
            })
    # Tears are a FAIL, as the matrix's tear check judges them (checks.TearCheck):
    # first the whole value (READ_ONCE() of a u64 on a 32-bit CPU is two loads,
    # Documentation/memory-barriers.txt), then each read_together mask, one line
    # naming every map where it tears.
    whole: dict[tuple[int, int], dict[str, list[str]]] = {}
    for g in out_groups:
        if g["full_read_tears"]:
            w = whole.setdefault((g["size_bytes"] // g["unit_bytes"], g["unit_bytes"]),
                                 {"labels": [], "arches": []})
            w["labels"].append(g["label"])
            w["arches"].extend(g["arches"])
    for (loads, unit), w in whole.items():
        findings.append({
            "severity": "fail", "arches": sorted(w["arches"]),
            "text": f"{facts.type}: a full read is {loads} loads of {unit} bytes on {', '.join(w['labels'])} "
                    f"({_arch_count(w['arches'])}): READ_ONCE() of it can tear",
        })
    tearing: dict[tuple, dict[str, list[str]]] = {}
    for g in out_groups:
        for m in g["masks"]:
            if m["tears"]:
                t = tearing.setdefault((tuple(m["flags"]), g["unit_bytes"]), {"labels": [], "arches": []})
                t["labels"].append(g["label"])
                t["arches"].extend(g["arches"])
    for (mask, unit), t in tearing.items():
        findings.append({
            "severity": "fail", "arches": sorted(t["arches"]),
            "text": f"{facts.type}: reading {' | '.join(short_flag_name(n) for n in mask)} together "
                    f"can tear on {', '.join(t['labels'])} ({_arch_count(t['arches'])}; "
                    f"more than one {unit}-byte access)",
        })
    return {
        "type": facts.type, "label": facts.label,
        # What one drawn word is, for the legend.
        "word_legend": ("one unsigned long word" if all(g["ulong_words"] for g in out_groups) else
                        f"the whole {' / '.join(sorted({g['word_c_type'] for g in scalar_groups}))} value "
                        "(one word)" if not any(g["ulong_words"] for g in out_groups) else
                        "one word (unsigned long, or the whole scalar value)"),
        "flag_count": max((len(g["flags"]) for g in out_groups), default=0),
        "groups": out_groups, "missing": missing, "findings": findings,
    }


def _arch_count(arches: Sequence[str]) -> str:
    n = len(set(arches))
    return f"{n} arch" if n == 1 else f"{n} arches"


def _expect_findings(rows: Sequence[MatrixRow]) -> list[dict]:
    """One headline finding per ``[[expect]]`` expression that is false somewhere,
    with the arches where it is false.

    The expect check's rows carry every expression's verdict in ``predicted``
    (``{"that", "key", "result"}``); the model's row names the expressions, a
    backend's failing row adds its arch when the model had none there.
    """
    false_on: dict[tuple[str, str], list[str]] = {}
    done: set[tuple[str, str, str]] = set()
    failing = [r for r in rows if r.check == "expect" and r.status == "fail"]
    # The model's verdicts first; another backend's only for an arch the model did not judge.
    failing.sort(key=lambda r: r.backend != "model")
    for r in failing:
        items = r.predicted if isinstance(r.predicted, (list, tuple)) else ()
        for item in items:
            if not isinstance(item, Mapping) or item.get("result") is not False:
                continue
            key = (str(item.get("key", "")), str(item.get("that", "")))
            if (key[0], key[1], r.arch) in done:
                continue
            done.add((key[0], key[1], r.arch))
            false_on.setdefault(key, []).append(r.arch)
    out = []
    for (_, that), arches in false_on.items():
        arches = sorted(arches)
        out.append({"severity": "fail", "source": "expect", "check": "expect", "arches": arches,
                    "text": f"expect {that} is false on {', '.join(arches)} ({_arch_count(arches)})"})
    return out


def _ranges(nrs: Sequence[int]) -> str:
    """[32, 33, 34, 40] -> '32..34, 40'."""
    return format_bit_ranges(nrs)

# ---------------------------------------------------------------------------
# Tagged pointers


def _tag_entry(facts: TaggedFacts, profiles: Mapping[str, Profile]) -> dict:
    from .. import tagging  # the pure tag-bit model (shim engineer's module)

    per_arch = []
    findings = []
    for af in facts.per_arch:
        p = profiles.get(af.arch)
        if p is None or af.pointee_align_bytes is None:
            per_arch.append({"arch": af.arch, "ok": None, "reason": af.reason or "no layout"})
            continue
        try:
            tb = tagging.free_tag_bits(p, af.pointee_align_bytes, af.pointee_size_bytes or 0, facts.allocator)
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
            findings.append({
                "severity": "fail",
                "text": f"{facts.field}: {facts.tag_bits} tag bit(s) requested but only {free} "
                        f"free on {af.arch} (pointee align {af.pointee_align_bytes}, "
                        f"{facts.allocator} guarantees {entry['guaranteed_align_bytes']})",
            })
    # The model's reasoning, once per distinct explanation, with the arches it covers.
    why: dict[tuple, list[str]] = {}
    for e in per_arch:
        if e.get("reasoning"):
            why.setdefault(tuple(e["reasoning"]), []).append(e["arch"])
    return {"field": facts.field, "pointee": facts.pointee, "tag_bits": facts.tag_bits,
            "allocator": facts.allocator, "per_arch": per_arch, "findings": findings,
            "reasoning": [{"arches": arches, "lines": list(lines)} for lines, arches in why.items()]}


# ---------------------------------------------------------------------------
# Struct layouts: members, holes, padding, cachelines


def _anonymous_name(t: Any) -> str:
    """An anonymous struct/union member, named by what it holds: 'union {vm_flags, flags}'."""
    kind = getattr(t, "kind", "")
    inner = [m.name or "..." for m in getattr(t, "members", ())]
    return f"{kind} {{{', '.join(inner)}}}" if inner else f"({kind or 'anonymous'})"


def struct_layout(tl: Any, cacheline_bytes: int) -> dict:
    """Members in offset order with the holes between them and the tail padding."""
    size_bits = tl.size_bytes * 8
    segments = []
    cursor = 0
    holes = 0
    for m in sorted(tl.members, key=lambda m: (m.offset_bits, -m.size_bits)):
        if m.offset_bits > cursor:
            segments.append({"kind": "hole", "name": "", "offset_bits": cursor,
                             "size_bits": m.offset_bits - cursor})
            holes += m.offset_bits - cursor
        end = m.offset_bits + m.size_bits
        line_first = m.offset_bits // (cacheline_bytes * 8)
        line_last = max(m.offset_bits, end - 1) // (cacheline_bytes * 8)
        segments.append({
            "kind": "member", "name": m.name or _anonymous_name(m.type),
            "offset_bits": m.offset_bits, "size_bits": m.size_bits,
            "bitfield": bool(m.bitfield), "c_type": getattr(m.type, "c_type", "") or getattr(m.type, "name", ""),
            "align_bytes": getattr(m.type, "align_bytes", None),
            "crosses_cacheline": line_last != line_first,
        })
        cursor = max(cursor, end)
    padding = size_bits - cursor if size_bits > cursor else 0
    if padding:
        segments.append({"kind": "padding", "name": "", "offset_bits": cursor, "size_bits": padding})
    return {
        "size_bytes": tl.size_bytes, "align_bytes": tl.align_bytes, "kind": tl.kind,
        "cacheline_bytes": cacheline_bytes,
        "cachelines": -(-tl.size_bytes // cacheline_bytes) if tl.size_bytes else 0,
        "hole_bits": holes, "padding_bits": padding, "segments": segments,
    }


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
    title: str = "bitlayout report",
    spec: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
) -> dict:
    """The report dict (``bitlayout.report/1``): pure, deterministic for equal inputs."""
    profiles = _sorted_profiles(profiles)
    by_name = {p.name: p for p in profiles}
    rows = list(rows)
    arches = _arch_entries(profiles, rows)
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
    findings.extend(_expect_findings(rows))
    failed = [r for r in rows if r.status == "fail"]
    errors = [r for r in rows if r.status == "error"]
    # Matrix rows that did not pass, one finding per (status, check, backend, detail)
    # naming the arches: 26 arches with the same verdict are one line, not 26.
    same: dict[tuple, dict[str, list[str]]] = {}
    for r in errors + failed:
        g = same.setdefault((r.status, r.backend, r.detail), {"checks": [], "arches": []})
        for key, value in (("checks", r.check), ("arches", r.arch)):
            if value not in g[key]:
                g[key].append(value)
    n_checks = len({r.check for r in rows})
    for (status, backend, detail), g in same.items():
        checks = ("all checks" if len(g["checks"]) == n_checks and n_checks > 1
                  else ", ".join(g["checks"]))
        findings.append({"severity": status, "source": "matrix", "checks": g["checks"], "backend": backend,
                         "arches": g["arches"], "headline": status != "fail",
                         "text": f"{checks} [{backend}] on {', '.join(g['arches'])}: {detail}"})
    unverified = [a["name"] for a in arches if not a["verified"]]
    if unverified:
        findings.append({"severity": "note", "text": f"unverified (no compiler for these arches here; "
                                                      f"model only): {', '.join(unverified)}"})
    model_only = [a["name"] for a in arches if a["verified"] and not a["verified_by"]]
    if model_only:
        findings.append({"severity": "note", "text": f"model only in this run (their profiles are checked "
                                                      f"by a compiler here): {', '.join(model_only)}"})
    compiler_only = [a["name"] for a in arches if a["verified_by"] == "compiler"]
    if compiler_only:
        findings.append({"severity": "note", "text": f"layouts checked by a compiler, but no CPU ran the shim: "
                                                      f"{', '.join(compiler_only)}"})

    # Headline findings open the page; the failing matrix rows behind them are
    # the same hazards per check and backend, shown folded.
    for f in findings:
        f.setdefault("headline", True)

    classes: dict[str, list[str]] = {}
    for a in arches:
        classes.setdefault(a["layout_class"], []).append(a["name"])
    return {
        "schema": REPORT_SCHEMA,
        "title": title,
        "spec": _plain(dict(spec or {})),
        "run": _plain(dict(run or {})),
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
            "fail": len(failed), "error": len(errors),
            "pass": sum(1 for r in rows if r.status == "pass"),
            "skip": sum(1 for r in rows if r.status == "skip"),
            "out_of_bounds_classes": sum(1 for e in bitmap_entries for g in e["groups"] if g["out_of_bounds"]),
        },
    }


# ---------------------------------------------------------------------------
# Gathering the facts for a spec (impure: the layout engine may run the
# compiler's preprocessor).  Reuses the checks' per-arch model plan so that
# the page draws exactly what the matrix judged.


def layout_all(spec: Any, profiles: Sequence[Profile], result: Any = None) -> tuple[dict[str, Any], dict[str, str]]:
    """arch -> LayoutSet for the spec's headers, and arch -> reason for the arches that failed.

    ``result``: a ``matrix.MatrixResult`` of the same spec; the arches it already laid out
    (``result.layouts`` / ``result.layout_errors``) are reused, the others are laid out here
    (e.g. for ``bitlayout diff``, or an arch whose LayoutSet a worker could not send back).
    """
    layouts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    done = getattr(result, "layouts", None) or {}
    done_errors = getattr(result, "layout_errors", None) or {}
    if result is not None and getattr(result, "spec_path", spec.path) != spec.path:
        done, done_errors = {}, {}
    todo = []
    for p in profiles:
        if done.get(p.name) is not None:
            layouts[p.name] = done[p.name]
        elif done_errors.get(p.name):
            errors[p.name] = _without_class(done_errors[p.name])
        else:
            todo.append(p)
    if not todo:
        return layouts, errors
    from ..kernel.inputs import KernelSource, layout_for

    kernel = KernelSource.open(spec.kernel) if getattr(spec, "kernel", None) else None
    # Serial on purpose: the C parser (pycparser + pycparserext) keeps shared
    # lexer/parser state and gives garbage when threads share it (measured).
    for p in todo:
        try:
            layouts[p.name] = layout_for(spec.headers, p, spec.include_dirs, spec.defines, kernel=kernel)
        except BitlayoutError as exc:
            errors[p.name] = str(exc)
    return layouts, errors


def _without_class(reason: str) -> str:
    """matrix records 'LayoutError: why'; the report's reasons are the message alone."""
    head, sep, rest = reason.partition(": ")
    return rest if sep and head.isidentifier() and head.endswith("Error") else reason


def _spec_struct_names(spec: Any, layouts: Mapping[str, Any]) -> list[str]:
    """Structs to draw: the tagged pointers' containers and pointees, then every other struct."""
    from ..checks import pointee_of

    names: list[str] = []
    for tp in spec.tagged_pointers:
        names.append(tp.container)
        for ls in layouts.values():
            try:
                names.append(pointee_of(ls, tp.field)[1].name)
                break
            except BitlayoutError:
                continue
    for ls in layouts.values():
        for name, t in ls.types.items():
            if name.startswith("struct ") and t.kind == "struct" and t.size_bytes:
                names.append(name)
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


def gather(spec: Any, profiles: Sequence[Profile], layouts: Mapping[str, Any],
           layout_errors: Mapping[str, str]) -> tuple[list[BitmapFacts], list[TaggedFacts], list[StructFacts]]:
    """The report inputs for a spec, from per-arch layouts (``layout_all``)."""
    from ..checks import plan_arch, pointee_of

    plans = {p.name: plan_arch(spec, p, layouts.get(p.name), layout_errors.get(p.name, ""))
             for p in profiles}
    bitmaps = []
    for bspec, tname in spec.bitmap_types:
        per_arch = []
        for p in profiles:
            plan = plans[p.name]
            bp = next((b for b in plan.bitmaps if b.type == tname and b.spec is bspec), None)
            if plan.layout is None or bp is None:
                per_arch.append(BitmapArchFacts(p.name, None, {}, reason=plan.layout_error or "no layout"))
                continue
            if bp.error:
                per_arch.append(BitmapArchFacts(p.name, None, {}, reason=bp.error))
                continue
            t = plan.layout.types.get(tname)
            shape, word_c_type = word_kind(t)
            per_arch.append(BitmapArchFacts(
                p.name, bp.geometry, {f.name: f.nr for f in bp.flags},
                c_type=getattr(t, "c_type", "") or "",
                unused=frozenset(f.name for f in bp.flags if not f.in_use),
                shape=shape, word_c_type=word_c_type))
        bitmaps.append(BitmapFacts(tname, per_arch, bspec.read_together,
                                   label=f"flag numbers from {bspec.bits.describe()}"))
    tagged = []
    for tp in spec.tagged_pointers:
        per_arch_t = []
        pointee_name = ""
        for p in profiles:
            ls = layouts.get(p.name)
            if ls is None:
                per_arch_t.append(TaggedArchFacts(p.name, None, None, layout_errors.get(p.name, "no layout")))
                continue
            try:
                _, pointee = pointee_of(ls, tp.field)
            except BitlayoutError as exc:
                per_arch_t.append(TaggedArchFacts(p.name, None, None, str(exc)))
                continue
            pointee_name = pointee_name or pointee.name
            per_arch_t.append(TaggedArchFacts(p.name, pointee.align_bytes, pointee.size_bytes))
        tagged.append(TaggedFacts(tp.field, pointee_name, tp.tag_bits, tp.allocator, per_arch_t))
    structs = []
    for sname in _spec_struct_names(spec, layouts):
        per: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for p in profiles:
            ls = layouts.get(p.name)
            t = ls.types.get(sname) if ls is not None else None
            # A typedef'd struct draws as the struct it names (a typedef has no members).
            per[p.name] = t.resolved() if t is not None and t.size_bytes else None
            if per[p.name] is None:
                reasons[p.name] = layout_errors.get(p.name) or f"{sname} not declared here"
        structs.append(StructFacts(sname, per, reasons))
    return bitmaps, tagged, structs
