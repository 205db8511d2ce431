"""The report's English: every sentence the page, the text and the JSON say about the data.

``report.model`` computes the numbers (groups, positions, masks, evidence) and
calls these functions for the words; a finding is ``{"severity", "text",
...}`` with ``severity`` one of fail, error, warn, note.  Keeping the prose in
one module lets it be read, reviewed and reworded without touching a number.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ..profiles import Profile
from ..ranges import format_bit_ranges
from ..results import Backend, MatrixRow, Status


def short_flag_name(name: str) -> str:
    """VMA_UFFD_MINOR_BIT -> UFFD_MINOR: the label drawn under a bit cell."""
    base = name
    if base.endswith("_BIT"):
        base = base[: -len("_BIT")]
    head, sep, rest = base.partition("_")
    if sep and rest and head.isupper() and len(head) <= 4:
        base = rest
    return base


def inline(value: Any, *, pair: str, items: str, seq: str) -> str:
    """Nested plain data on one line: mapping items as ``key<pair>value`` joined by ``items``,
    list elements joined by ``seq`` (the evidence cell of the page, a detail line of the text)."""
    if isinstance(value, Mapping):
        return items.join(f"{k}{pair}{inline(v, pair=pair, items=items, seq=seq)}" for k, v in value.items())
    if isinstance(value, list):
        return seq.join(inline(v, pair=pair, items=items, seq=seq) for v in value)
    return str(value)


def bit_ranges(nrs: Sequence[int]) -> str:
    """[32, 33, 34, 40] -> '32..34, 40'."""
    return format_bit_ranges(nrs)


def arch_count(arches: Sequence[str]) -> str:
    n = len(set(arches))
    return f"{n} arch" if n == 1 else f"{n} arches"


# ---------------------------------------------------------------------------
# Bitmaps


def group_label(layout_class: str, arches: Sequence[str], main: bool) -> str:
    """A drawn map's name: its layout class, or the class and its first arches when the class splits."""
    if main:
        return layout_class
    return f"{layout_class}: {', '.join(arches[:3])}{' ...' if len(arches) > 3 else ''}"


def group_differences(main: Mapping[str, Any], other: Mapping[str, Any],
                      bits_main: Mapping[int, bool], bits_other: Mapping[int, bool]) -> list[str]:
    """Why a group was drawn apart from the main group of its layout class (``bits_*``: bit
    number -> in use)."""
    out = []
    a, b = main["geometry"], other["geometry"]
    for attr, what in (("word_bytes", "word bytes"), ("nwords", "words"),
                       ("atomic_bytes", "single-copy-atomic bytes")):
        if getattr(a, attr) != getattr(b, attr):
            out.append(f"{what} {getattr(b, attr)} (not {getattr(a, attr)})")
    if set(bits_main) - set(bits_other):
        out.append(f"no flag at bit(s) {bit_ranges(sorted(set(bits_main) - set(bits_other)))}")
    if set(bits_other) - set(bits_main):
        out.append(f"extra flag bit(s) {bit_ranges(sorted(set(bits_other) - set(bits_main)))}")
    used = [nr for nr in bits_other if nr in bits_main and bits_other[nr] and not bits_main[nr]]
    unused = [nr for nr in bits_other if nr in bits_main and not bits_other[nr] and bits_main[nr]]
    if used:
        out.append(f"bit(s) {bit_ranges(used)} in use here")
    if unused:
        out.append(f"bit(s) {bit_ranges(unused)} gated off here")
    return out


def word_legend(groups: Sequence[Mapping[str, Any]]) -> str:
    """What one drawn word is, for the legend."""
    scalar_types = " / ".join(sorted({g["word_c_type"] for g in groups if not g["ulong_words"]}))
    if all(g["ulong_words"] for g in groups):
        return "one unsigned long word"
    if not any(g["ulong_words"] for g in groups):
        return f"the whole {scalar_types} value (one word)"
    return "one word (unsigned long, or the whole scalar value)"


def _where(keyed: Iterable[tuple[Any, Mapping[str, Any]]]) -> dict[Any, dict[str, list[str]]]:
    """key -> the labels and arches of the groups under it: one finding names every map it holds for."""
    out: dict[Any, dict[str, list[str]]] = {}
    for key, g in keyed:
        w = out.setdefault(key, {"labels": [], "arches": []})
        w["labels"].append(g["label"])
        w["arches"].extend(g["arches"])
    return out


def bitmap_findings(type_name: str, groups: Sequence[Mapping[str, Any]],
                    profiles: Mapping[str, Profile]) -> list[dict]:
    """One line per hazard of one bitmap type: flags out of bounds, a scalar used as a bitmap, tears."""
    findings = []
    for g in groups:
        if g["out_of_bounds"]:
            nrs = [f["nr"] for f in g["flags"] if f["name"] in g["out_of_bounds"]]
            bits = g["bits_in_type"]
            if g["ulong_words"]:
                text = (f"{type_name}: {len(set(nrs))} flag bit(s) out of bounds on {g['label']} "
                        f"(bits {bit_ranges(nrs)}; the type holds bits 0..{bits - 1}): "
                        f"set_bit() writes {g['words_past_end']} word(s) past the end "
                        f"on {', '.join(g['arches'])}")
            else:
                shift = ("1U << nr is undefined for nr >= 32 (BIT_ULL() needed) and a wider value "
                         "truncates when stored in it" if bits <= 32 else
                         f"no shift of a {bits}-bit value reaches them (1ULL << nr is undefined for nr >= 64)")
                text = (f"{type_name}: {len(set(nrs))} flag bit(s) do not fit the {bits}-bit "
                        f"{g['word_c_type']} on {g['label']} (bits {bit_ranges(nrs)}; it holds bits "
                        f"0..{bits - 1}): {shift}; on {', '.join(g['arches'])}")
            findings.append({"severity": "fail", "arches": list(g["arches"]), "text": text})
    scalar_groups = [g for g in groups if not g["ulong_words"]]
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
                "text": f"{type_name} is a scalar {' / '.join(ctypes)}, not unsigned long: use masks "
                        f"(BIT()/BIT_ULL()), never set_bit()/test_bit() on it: they access a whole "
                        f"unsigned long of another size on {', '.join(other_size)}"
                        + (f", and pick the wrong byte on big-endian {', '.join(wrong_byte)}"
                           if wrong_byte else ""),
            })
    # Tears are a FAIL, as the matrix's tear check judges them (checks.TearCheck):
    # first the whole value (READ_ONCE() of a u64 on a 32-bit CPU is two loads,
    # Documentation/memory-barriers.txt), then each read_together mask, one line
    # naming every map where it tears.
    whole = _where(((g["size_bytes"] // g["unit_bytes"], g["unit_bytes"]), g)
                   for g in groups if g["full_read_tears"])
    for (loads, unit), w in whole.items():
        findings.append({
            "severity": "fail", "arches": sorted(w["arches"]),
            "text": f"{type_name}: a full read is {loads} loads of {unit} bytes on {', '.join(w['labels'])} "
                    f"({arch_count(w['arches'])}): READ_ONCE() of it can tear",
        })
    tearing = _where(((tuple(m["flags"]), g["unit_bytes"]), g) for g in groups for m in g["masks"] if m["tears"])
    for (mask, unit), t in tearing.items():
        findings.append({
            "severity": "fail", "arches": sorted(t["arches"]),
            "text": f"{type_name}: reading {' | '.join(short_flag_name(n) for n in mask)} together "
                    f"can tear on {', '.join(t['labels'])} ({arch_count(t['arches'])}; "
                    f"more than one {unit}-byte access)",
        })
    return findings


# ---------------------------------------------------------------------------
# Tagged pointers


def tag_shortfall(field: str, entry: Mapping[str, Any]) -> dict:
    """Too few free low bits for the tags on one arch."""
    return {
        "severity": "fail",
        "text": f"{field}: {entry['tag_bits']} tag bit(s) requested but only {entry['free_bits']} "
                f"free on {entry['arch']} (pointee align {entry['pointee_align_bytes']}, "
                f"{entry['allocator']} guarantees {entry['guaranteed_align_bytes']})",
    }


def emulated_allocator_note(allocator: str) -> str:
    """Why a kernel allocator's tag bits are emulated, not observed (csrc/alloc_probe.c)."""
    return (f"{allocator}: the shim re-runs the kernel's alignment formula in C "
            "(csrc/alloc_probe.c, after mm/slab_common.c); the kernel allocator itself "
            "is not observed")


# ---------------------------------------------------------------------------
# Matrix rows, expectations and arches


def expect_findings(rows: Sequence[MatrixRow]) -> list[dict]:
    """One headline finding per ``[[expect]]`` expression that is false somewhere,
    with the arches where it is false.

    The expect check's rows carry every expression's verdict in ``predicted``
    (``{"that", "key", "result"}``); the model's row names the expressions, a
    backend's failing row adds its arch when the model had none there.
    """
    false_on: dict[tuple[str, str], list[str]] = {}
    done: set[tuple[str, str, str]] = set()
    failing = [r for r in rows if r.check == "expect" and r.status == Status.FAIL]
    # The model's verdicts first; another backend's only for an arch the model did not judge.
    failing.sort(key=lambda r: r.backend != Backend.MODEL)
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
                    "text": f"expect {that} is false on {', '.join(arches)} ({arch_count(arches)})"})
    return out


def matrix_findings(rows: Sequence[MatrixRow]) -> list[dict]:
    """Matrix rows that did not pass, one finding per (status, backend, detail) naming the
    checks and arches: 26 arches with the same verdict are one line, not 26.  A fail is a
    hazard the bitmap and tag findings already headline, so it is shown folded."""
    same: dict[tuple, dict[str, list[str]]] = {}
    for r in [r for r in rows if r.status == Status.ERROR] + [r for r in rows if r.status == Status.FAIL]:
        g = same.setdefault((r.status, r.backend, r.detail), {"checks": [], "arches": []})
        for key, value in (("checks", r.check), ("arches", r.arch)):
            if value not in g[key]:
                g[key].append(value)
    n_checks = len({r.check for r in rows})
    out = []
    for (status, backend, detail), g in same.items():
        checks = ("all checks" if len(g["checks"]) == n_checks and n_checks > 1
                  else ", ".join(g["checks"]))
        out.append({"severity": status, "source": "matrix", "checks": g["checks"], "backend": backend,
                    "arches": g["arches"], "headline": status != Status.FAIL,
                    "text": f"{checks} [{backend}] on {', '.join(g['arches'])}: {detail}"})
    return out


def verification_notes(arches: Sequence[Mapping[str, Any]]) -> list[dict]:
    """What observed the arches: none, a compiler only, nothing in this run."""
    out = []
    unverified = [a["name"] for a in arches if not a["verified"]]
    if unverified:
        out.append({"severity": "note", "text": f"unverified (no compiler for these arches here; "
                                                 f"model only): {', '.join(unverified)}"})
    model_only = [a["name"] for a in arches if a["verified"] and not a["verified_by"]]
    if model_only:
        out.append({"severity": "note", "text": f"model only in this run (their profiles are checked "
                                                 f"by a compiler here): {', '.join(model_only)}"})
    compiler_only = [a["name"] for a in arches if a["verified_by"] == "compiler"]
    if compiler_only:
        out.append({"severity": "note", "text": f"layouts checked by a compiler, but no CPU ran the shim: "
                                                 f"{', '.join(compiler_only)}"})
    return out


def why_no_cpu(rows: Sequence[MatrixRow], cpu_backends: Sequence[str], compiler_backends: Sequence[str]) -> list[str]:
    """Why the arch's CPU did not run the shim: the CPU backends' own skip/error reasons
    (e.g. "qemu-user 7.2 has no ARC target"), not the per-check skips every arch has by
    design (exec has no probe for layout; compiled observes layout facts only)."""
    def reasons(backends: Sequence[str]) -> list[tuple[str, str]]:
        return [(b, d) for b in backends for d in sorted({r.detail for r in rows
                if r.backend == b and r.status in (Status.SKIP, Status.ERROR) and r.detail})]

    cpu_why = reasons(cpu_backends)
    specific = [(b, d) for b, d in cpu_why if "no probe for" not in d]
    if specific or cpu_why:
        return [f"{b}: {d}" if not d.startswith(f"{b}:") else d for b, d in (specific or cpu_why)]
    return [f"{b}: {d}" for b, d in reasons(compiler_backends)]


def model_only_reason(compiler_identity: str) -> str:
    return f"not observed in this run (model only); profile checked by {compiler_identity}"


def unverified_reason(why: Sequence[str]) -> str:
    return "; ".join(why[:2]) or "no compiler or CPU for this arch observed anything"


__all__ = ["arch_count", "bit_ranges", "inline", "bitmap_findings", "emulated_allocator_note", "expect_findings",
           "group_differences", "group_label", "matrix_findings", "model_only_reason", "short_flag_name",
           "tag_shortfall", "unverified_reason", "verification_notes", "why_no_cpu", "word_legend"]
