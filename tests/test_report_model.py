"""report.model: the data behind the page, from small hand-made inputs.

Expected positions are computed here from the kernel's definition
(include/asm-generic/bitops/generic-non-atomic.h: BIT_WORD(nr) = nr /
BITS_PER_LONG, BIT_MASK(nr) = 1UL << (nr % BITS_PER_LONG)) plus the byte order
of the word, independently of bitlayout.bitmap, and compared as plain data.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from bitlayout.bitmap_types import is_unsigned_long, word_kind

from test_report_fixtures import VMA_FLAGS, fixture_profiles, fixture_rows

from bitlayout.report import facts, findings, model
from bitlayout.struct_layout import struct_layout


def expected_position(nr: int, word_bytes: int, little_endian: bool) -> tuple[int, int]:
    """(byte offset, bit in byte) of flag ``nr`` in an array of words, per the kernel bitops."""
    word, bit = divmod(nr, word_bytes * 8)
    byte_in_word = bit // 8 if little_endian else word_bytes - 1 - bit // 8
    return word * word_bytes + byte_in_word, nr % 8


def geometry(p, kind: str):
    from bitlayout.bitmap import BitmapGeometry

    if kind == "one_long":  # DECLARE_BITMAP(x, BITS_PER_LONG)
        return BitmapGeometry(word_bytes=p.word_bytes, nwords=1, little_endian=p.little_endian,
                              atomic_bytes=p.word_bytes)
    if kind == "longs_64":  # unsigned long x[8 / sizeof(unsigned long)]
        return BitmapGeometry(word_bytes=p.word_bytes, nwords=8 // p.word_bytes, little_endian=p.little_endian,
                              atomic_bytes=p.word_bytes)
    return BitmapGeometry(word_bytes=8, nwords=1, little_endian=p.little_endian,  # u64
                          atomic_bytes=min(8, p.atomicity.single_copy_atomic_bytes))


def fixture_report():
    ps = fixture_profiles()
    gated = frozenset({"VMA_SEALED_BIT"})
    bitmaps = [
        facts.BitmapFacts(name, [facts.BitmapArchFacts(p.name, geometry(p, kind), VMA_FLAGS,
                                                       unused=gated if p.bits_per_long == 32 else frozenset())
                                 for p in ps],
                          read_together=[["VMA_READ_BIT", "VMA_SEALED_BIT"], ["VMA_READ_BIT", "VMA_UFFD_MINOR_BIT"],
                                         ["VMA_READ_BIT", "VMA_WRITE_BIT"]])
        for name, kind in (("vma_flags_t", "one_long"), ("vm_flags_t", "longs_64"), ("vm_flags_u64_t", "u64"))
    ]
    return model.build_report(profiles=ps, rows=fixture_rows(), bitmaps=bitmaps, title="fixture")


def groups_by_class(report, type_name):
    entry = next(b for b in report["bitmaps"] if b["type"] == type_name)
    return {g["label"]: g for g in entry["groups"]}


def test_schema_and_summary():
    r = fixture_report()
    assert r["schema"] == "bitlayout.report/1"
    assert r["summary"]["arches"] == 5
    assert r["summary"]["fail"] == 1 and r["summary"]["pass"] == 6 and r["summary"]["skip"] == 1


def test_grid_takes_the_worst_status_and_marks_unverified_arches():
    r = fixture_report()
    cells = r["grid"]["cells"]
    assert cells["i386"]["tear"]["status"] == "fail"
    assert cells["mips"]["bit-position"]["status"] == "pass"
    assert cells["mips"]["bit-position"]["backends"] == {"exec": "pass", "model": "pass"}
    assert cells["s390x"]["bit-position"]["status"] == "skip"
    assert cells["x86_64"]["tear"]["status"] == "missing"
    verified = {a["name"]: a["verified_by"] for a in r["arches"]}
    # s390x only skipped, x32 only has model rows: neither was observed by anything real;
    # x86_64's host row does not count, its compiler's does.
    assert verified == {"i386": "cpu", "mips": "cpu", "s390x": "", "x32": "", "x86_64": "compiler"}
    assert [a["name"] for a in r["arches"] if not a["verified"]] == ["s390x", "x32"]
    x86 = next(a for a in r["arches"] if a["name"] == "x86_64")
    assert x86["toolchains"] == ["gcc 12.2.0"] and x86["observed_by"] == ["compiled", "host"]
    mips = next(a for a in r["arches"] if a["name"] == "mips")
    assert mips["toolchains"] == ["zig mips-linux-musleabi"] and mips["runners"] == ["qemu-mips"]


@pytest.mark.parametrize("type_name,kind", [("vma_flags_t", "one_long"), ("vm_flags_t", "longs_64"),
                                            ("vm_flags_u64_t", "u64")])
def test_every_flag_lands_where_the_kernel_bitops_put_it(type_name, kind):
    r = fixture_report()
    by_arch = {p.name: p for p in fixture_profiles()}
    for g in groups_by_class(r, type_name).values():
        p = by_arch[g["arches"][0]]
        word_bytes = geometry(p, kind).word_bytes
        got = {f["name"]: (f["byte"], f["bit_in_byte"]) for f in g["flags"]}
        want = {n: expected_position(nr, word_bytes, p.little_endian) for n, nr in VMA_FLAGS.items()}
        assert got == want, g["label"]


def test_bit_36_of_a_64_bit_bitmap_on_mips_is_in_byte_7():
    g = groups_by_class(fixture_report(), "vm_flags_t")["BE32"]
    assert g["arches"] == ["mips"]
    f = next(f for f in g["flags"] if f["nr"] == 36)
    assert (f["word"], f["byte"], f["bit_in_byte"], f["in_bounds"]) == (1, 7, 4, True)


def test_one_long_bitmap_overflows_on_32_bit_only():
    groups = groups_by_class(fixture_report(), "vma_flags_t")
    assert set(groups) == {"LE32", "BE32", "LE64", "BE64"}
    for label in ("LE32", "BE32"):
        g = groups[label]
        # SEALED (42) is out of range too but gated off on 32-bit: not a finding.
        assert g["out_of_bounds"] == ["VMA_HIGH_ARCH_4_BIT", "VMA_UFFD_MINOR_BIT", "VMA_UFFD_RWP_BIT"]
        assert g["out_of_bounds_unused"] == ["VMA_SEALED_BIT"]
        assert (g["size_bytes"], g["guard_bytes"], g["words_past_end"]) == (4, 4, 1)
    assert sorted(groups["LE32"]["arches"]) == ["i386", "x32"]
    for label in ("LE64", "BE64"):
        assert groups[label]["out_of_bounds"] == [] and groups[label]["guard_bytes"] == 0
    texts = [f["text"] for f in fixture_report()["findings"] if f["severity"] == "fail"]
    assert any("vma_flags_t: 3 flag bit(s) out of bounds on BE32 (bits 36, 41, 43" in t for t in texts)


def test_an_arch_that_differs_gets_its_own_map():
    # A u64 on x32 is one 8-byte access; on i386 it is two 4-byte loads.
    groups = groups_by_class(fixture_report(), "vm_flags_u64_t")
    assert sorted(groups) == ["BE32", "BE64", "LE32", "LE32: x32", "LE64"]
    assert groups["LE32"]["arches"] == ["i386"] and groups["LE32"]["full_read_tears"] is True
    assert groups["LE32: x32"]["differs"] is True and groups["LE32: x32"]["full_read_tears"] is False


def test_masks_tear_only_across_single_copy_atomic_units():
    groups = groups_by_class(fixture_report(), "vm_flags_t")
    masks = {tuple(m["flags"]): m for m in groups["BE32"]["masks"]}
    assert masks[("VMA_READ_BIT", "VMA_UFFD_MINOR_BIT")]["tears"] is True
    assert masks[("VMA_READ_BIT", "VMA_UFFD_MINOR_BIT")]["units"] == [0, 1]
    assert masks[("VMA_READ_BIT", "VMA_WRITE_BIT")]["tears"] is False
    # SEALED is not in use on 32-bit, so that mask is READ alone there.
    assert masks[("VMA_READ_BIT", "VMA_SEALED_BIT")] | {} == {
        "flags": ["VMA_READ_BIT", "VMA_SEALED_BIT"], "missing": ["VMA_SEALED_BIT"], "units": [0], "bytes": [3],
        "tears": False, "out_of_bounds": []}
    be64 = {tuple(m["flags"]): m for m in groups["BE64"]["masks"]}
    assert not any(m["tears"] for m in be64.values())


def test_memory_image_matches_the_positions():
    g = groups_by_class(fixture_report(), "vm_flags_t")["BE32"]
    image = bytes.fromhex(g["image_hex"])
    want = bytearray(8)
    for f in g["flags"]:
        want[f["byte"]] |= 1 << f["bit_in_byte"]
    assert image == bytes(want)


def test_missing_geometry_is_reported_not_dropped():
    ps = fixture_profiles()[:2]
    given = facts.BitmapFacts("t", [facts.BitmapArchFacts("i386", None, {}, reason="type not declared"),
                                    facts.BitmapArchFacts("mips", geometry(ps[1], "u64"), {"A": 3})])
    r = model.build_report(profiles=ps, bitmaps=[given])
    entry = r["bitmaps"][0]
    assert entry["missing"] == [{"arch": "i386", "reason": "type not declared"}]
    assert [g["arches"] for g in entry["groups"]] == [["mips"]]
    # No matrix rows at all: every arch is unverified and the grid is empty.
    assert r["grid"]["checks"] == [] and not any(a["verified"] for a in r["arches"])


def _member(name, offset, size, ctype="int", align=4):
    return NS(name=name, offset_bits=offset * 8, size_bits=size * 8, bitfield=False,
              type=NS(c_type=ctype, name=ctype, align_bytes=align))


def test_struct_holes_padding_and_cachelines():
    # struct { char c; long l; char tail; } on a 64-bit arch: 7-byte hole, 7-byte tail padding.
    tl = NS(size_bytes=24, align_bytes=8, kind="struct",
            members=(_member("c", 0, 1, "char", 1), _member("l", 8, 8, "long", 8), _member("tail", 16, 1, "char", 1)))
    lay = struct_layout(tl, cacheline_bytes=16)
    kinds = [(s["kind"], s["name"], s["offset_bits"] // 8, s["size_bits"] // 8) for s in lay["segments"]]
    assert kinds == [("member", "c", 0, 1), ("hole", "", 1, 7), ("member", "l", 8, 8),
                     ("member", "tail", 16, 1), ("padding", "", 17, 7)]
    assert (lay["hole_bits"], lay["padding_bits"], lay["cachelines"]) == (56, 56, 2)
    # A member straddling a cacheline boundary is flagged.
    tl2 = NS(size_bytes=24, align_bytes=4, kind="struct", members=(_member("a", 0, 12), _member("b", 12, 8)))
    segs = struct_layout(tl2, cacheline_bytes=16)["segments"]
    assert [s["crosses_cacheline"] for s in segs if s["kind"] == "member"] == [False, True]


def test_struct_entry_groups_identical_layouts():
    ps = fixture_profiles()
    def tl(w):
        return NS(size_bytes=2 * w, align_bytes=w, kind="struct",
                  members=(_member("a", 0, w, "long", w), _member("b", w, w, "long", w)))
    given = facts.StructFacts("struct s", {p.name: tl(p.word_bytes) for p in ps if p.name != "x32"} | {"x32": None},
                              {"x32": "not declared"})
    r = model.build_report(profiles=ps, structs=[given])
    groups = r["structs"][0]["groups"]
    assert [g["arches"] for g in groups] == [["i386", "mips"], ["s390x", "x86_64"]]
    assert [g["size_bytes"] for g in groups] == [8, 16]
    # s390x has 256-byte cachelines: listed, and the picture uses one of the group's sizes.
    assert groups[1]["cacheline_arches"] == {"64": ["x86_64"], "256": ["s390x"]}
    assert groups[1]["cacheline_bytes"] == 64
    assert r["structs"][0]["missing"] == [{"arch": "x32", "reason": "not declared"}]


def test_tag_bits_follow_the_tagging_model():
    from bitlayout import tagging
    ps = fixture_profiles()
    given = facts.TaggedFacts("struct vm_area_struct.anon_vma", "struct anon_vma", 3, "slab",
                              [facts.TaggedArchFacts(p.name, p.word_bytes, 10 * p.word_bytes) for p in ps])
    r = model.build_report(profiles=ps, tagged=[given])
    rows = {row["arch"]: row for row in r["tagged_pointers"][0]["per_arch"]}
    for p in ps:
        tb = tagging.free_tag_bits(p, p.word_bytes, 10 * p.word_bytes, "slab")
        free = int(getattr(tb, "free_bits"))
        assert rows[p.name]["free_bits"] == free
        assert rows[p.name]["ok"] == (free >= 3)
    failing = [f for f in r["tagged_pointers"][0]["findings"]]
    assert len(failing) == sum(1 for row in rows.values() if not row["ok"])


def test_short_flag_names():
    assert findings.short_flag_name("VMA_UFFD_MINOR_BIT") == "UFFD_MINOR"
    assert findings.short_flag_name("PG_locked") == "locked"
    assert findings.short_flag_name("FLAG") == "FLAG"


def test_each_picture_says_who_observed_its_claims():
    r = fixture_report()
    g = groups_by_class(r, "vm_flags_t")["BE32"]
    # mips: exec observed bit positions; the model row is the prediction, not evidence.
    assert g["evidence"] == [{"check": "bit-position", "backend": "exec", "status": "pass", "arches": ["mips"]}]
    le32 = groups_by_class(r, "vm_flags_t")["LE32"]
    assert le32["evidence"] == [{"check": "bit-position", "backend": "exec", "status": "pass", "arches": ["i386"]},
                                {"check": "tear", "backend": "exec", "status": "fail", "arches": ["i386"]}]
    assert groups_by_class(r, "vm_flags_t")["BE64"]["evidence"] == []  # s390x only skipped


def test_a_mask_with_an_out_of_bounds_flag_is_a_bounds_finding_not_a_tear():
    """vma_flags_t is one long: on 32-bit UFFD_MINOR (41) is past the end, so READ|UFFD_MINOR
    is a bounds FAIL; its "second word" is not a tear (the tear check agrees: in-bounds only)."""
    r = fixture_report()
    masks = {tuple(m["flags"]): m for m in groups_by_class(r, "vma_flags_t")["BE32"]["masks"]}
    m = masks[("VMA_READ_BIT", "VMA_UFFD_MINOR_BIT")]
    assert m["out_of_bounds"] == ["VMA_UFFD_MINOR_BIT"] and m["tears"] is False
    fails = [f["text"] for f in r["findings"] if f["severity"] == "fail"]
    assert not any(t.startswith("vma_flags_t: reading") for t in fails), fails
    assert any(t.startswith("vm_flags_t: reading READ | UFFD_MINOR together can tear") for t in fails), fails


def test_tear_findings_are_fails_like_the_matrix_and_include_the_whole_value():
    """The tear check FAILs (exit 1) on a torn read; the headline must not call it a WARN.
    The whole-value tear (READ_ONCE() of a u64 on 32-bit) is a finding too, with its arches."""
    r = fixture_report()
    tears = {f["text"]: f for f in r["findings"] if "tear" in f["text"] and f.get("source") != "matrix"}
    assert {f["severity"] for f in tears.values()} == {"fail"}
    assert all(f["headline"] for f in tears.values())
    # u64 on 32-bit: two 4-byte loads on i386 and mips; x32 has 8-byte single-copy atomics.
    whole = [t for t in tears if t.startswith("vm_flags_u64_t: a full read")]
    assert whole == ["vm_flags_u64_t: a full read is 2 loads of 4 bytes on LE32, BE32 (2 arches): "
                     "READ_ONCE() of it can tear"], sorted(tears)
    assert tears[whole[0]]["arches"] == ["i386", "mips"]
    # unsigned long[2] on 32-bit: two words, two loads (x32 included: its long is 4 bytes).
    assert ("vm_flags_t: a full read is 2 loads of 4 bytes on LE32, BE32 (3 arches): "
            "READ_ONCE() of it can tear") in tears, sorted(tears)
    # One long never tears as a whole.
    assert not any(t.startswith("vma_flags_t: a full read") for t in tears)


def expect_row(arch, backend, verdicts):
    from bitlayout.results import MatrixRow

    status = "fail" if not all(verdicts.values()) else "pass"
    return MatrixRow(arch, "expect", backend, status, "false here: ...",
                     predicted=[{"that": that, "key": f"expect[{i}]", "result": ok, "terms": {}}
                                for i, (that, ok) in enumerate(verdicts.items())])


def test_each_false_expect_is_a_headline_finding_with_its_arches():
    """A failing [[expect]] must reach the headline Findings, not only the folded matrix rows."""
    ps = fixture_profiles()
    fits = "fits(VMA_UFFD_MINOR_BIT, vma_flags_t)"
    size = "sizeof(vm_flags_t) == 8"
    rows = []
    for p in ps:
        v = {size: True, fits: p.bits_per_long == 64}
        rows += [expect_row(p.name, "model", v), expect_row(p.name, "compiled", v)]
    rows.append(expect_row("s390x", "compiled", {size: False, fits: True}))  # a backend-only verdict
    r = model.build_report(profiles=ps, rows=rows)
    heads = [f for f in r["findings"] if f["headline"] and f.get("source") == "expect"]
    assert [(f["severity"], f["text"], f["arches"]) for f in heads] == [
        ("fail", f"expect {fits} is false on i386, mips, x32 (3 arches)", ["i386", "mips", "x32"]),
        ("fail", f"expect {size} is false on s390x (1 arch)", ["s390x"]),
    ]
    assert not [f for f in model.build_report(profiles=ps, rows=[expect_row("mips", "model", {size: True})])[
        "findings"] if f.get("source") == "expect"]


def test_grid_cell_names_the_backend_behind_its_worst_status():
    """host passed, exec raised an error: the cell is an error *by exec*, not "!h"."""
    from bitlayout.results import MatrixRow

    rows = [MatrixRow("mips", "bitops", "model", "pass", ""),
            MatrixRow("mips", "bitops", "host", "pass", ""),
            MatrixRow("mips", "bitops", "exec", "error", "model and exec disagree"),
            MatrixRow("i386", "bitops", "model", "fail", "real hazard"),
            MatrixRow("i386", "bitops", "host", "fail", "real hazard, confirmed"),
            MatrixRow("i386", "bitops", "exec", "pass", ""),
            MatrixRow("x32", "bitops", "model", "fail", "real hazard"),
            MatrixRow("x32", "bitops", "exec", "skip", "no qemu")]
    cells = model.build_report(profiles=fixture_profiles(), rows=rows)["grid"]["cells"]
    got = {a: (cells[a]["bitops"]["status"], cells[a]["bitops"]["status_by"]) for a in ("mips", "i386", "x32")}
    assert got == {"mips": ("error", ["exec"]), "i386": ("fail", ["host"]), "x32": ("fail", ["model"])}


@pytest.mark.parametrize("allocator, verb", [("slab", "emulated"), ("kmalloc", "emulated"), ("malloc", "observed")])
def test_tag_bits_of_kernel_allocators_are_emulated_not_observed(allocator, verb):
    """exec re-runs mm/slab_common.c's alignment formula in C (csrc/alloc_probe.c) for slab and
    kmalloc: that emulates the kernel allocator; only malloc is a real observation."""
    from bitlayout.results import MatrixRow

    ps = fixture_profiles()
    given = facts.TaggedFacts("struct a.p", "struct b", 2, allocator,
                              [facts.TaggedArchFacts(p.name, 8, 24) for p in ps])
    rows = [MatrixRow(p.name, "tag-bits", b, "pass", "") for p in ps[:3] for b in ("exec", "compiled", "model")]
    obs = model.build_report(profiles=ps, rows=rows, tagged=[given])["tagged_pointers"][0]["observers"]
    assert {o["backend"]: o["verb"] for o in obs["by"]} == {"exec": verb, "compiled": "observed"}
    assert ("alloc_probe.c" in obs["note"]) == (verb == "emulated")


def test_a_scalar_flags_word_is_worded_as_a_scalar_not_as_set_bit_past_the_end():
    """A u32 flags word: bit 40 does not fit (1U << 40 is undefined, the value truncates);
    set_bit() must not be used on it at all (it accesses an unsigned long: wrong byte on BE64)."""
    from bitlayout.bitmap import BitmapGeometry

    ps = fixture_profiles()
    flags = {"FOO_BIT0": 0, "FOO_BIT40": 40}
    given = facts.BitmapFacts("foo_flags_t", [
        facts.BitmapArchFacts(p.name, BitmapGeometry(4, 1, p.little_endian, 4), flags,
                              shape="scalar", word_c_type="u32") for p in ps])
    array = facts.BitmapFacts("vma_flags_t", [
        facts.BitmapArchFacts(p.name, BitmapGeometry(p.word_bytes, 1, p.little_endian, p.word_bytes), flags)
        for p in ps])
    r = model.build_report(profiles=ps, bitmaps=[given, array])
    scalar, arr = r["bitmaps"]
    texts = [f["text"] for f in scalar["findings"]]
    assert texts[0].startswith("foo_flags_t: 1 flag bit(s) do not fit the 32-bit u32 on LE32 (bits 40; "
                               "it holds bits 0..31): 1U << nr is undefined for nr >= 32"), texts
    assert not any("set_bit() writes" in t for t in texts)
    warn = [f for f in scalar["findings"] if f["severity"] == "warn"]
    assert [w["arches"] for w in warn] == [["s390x", "x86_64"]]
    assert warn[0]["text"].endswith("pick the wrong byte on big-endian s390x")
    assert scalar["word_legend"] == "the whole u32 value (one word)"
    # An unsigned long bitmap keeps the set_bit() wording and legend.
    assert any("set_bit() writes 1 word(s) past the end" in f["text"] for f in arr["findings"])
    assert arr["word_legend"] == "one unsigned long word"


def test_word_kind_sees_through_typedefs_and_wrapping_structs():
    u32 = NS(kind="typedef", name="u32", c_type="u32", element=NS(kind="scalar", c_type="unsigned int", name=""))
    foo = NS(kind="typedef", name="foo_flags_t", c_type="foo_flags_t", element=u32)
    ul = NS(kind="scalar", c_type="unsigned long", name="")
    bitmap = NS(kind="struct", members=[NS(name="b", type=NS(kind="array", element=ul, count=2), bitfield=False)])
    assert word_kind(foo) == ("scalar", "u32")
    assert word_kind(bitmap) == ("array", "unsigned long")
    assert word_kind(NS(kind="typedef", name="x", element=ul)) == ("scalar", "unsigned long")
    assert is_unsigned_long("long unsigned int") and not is_unsigned_long("unsigned long long")


def test_an_arch_without_a_cpu_run_names_why_exec_could_not_run():
    """arc: the compiler ran, the CPU did not; the reason is exec's, not the compiled
    backend's by-design per-check skips."""
    from bitlayout.results import MatrixRow

    rows = [MatrixRow("mips", "layout", "compiled", "pass", "compiler agrees"),
            MatrixRow("mips", "bit-position", "compiled", "skip",
                      "the compiled backend observes layout facts only, not bit-position (see host/exec)"),
            MatrixRow("mips", "arr64", "compiled", "skip",
                      "the compiled backend observes layout facts only, not arr64 (see host/exec)"),
            MatrixRow("mips", "layout", "exec", "skip", "exec backend has no probe for layout"),
            MatrixRow("mips", "profile", "exec", "skip", "exec: built but cannot run: no qemu-mips here")]
    a = next(a for a in model.build_report(profiles=fixture_profiles(), rows=rows)["arches"] if a["name"] == "mips")
    assert a["verified_by"] == "compiler"
    assert a["unverified_reason"] == "exec: built but cannot run: no qemu-mips here"
