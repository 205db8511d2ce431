"""report.model: the data behind the page, from small hand-made inputs.

Expected positions are computed here from the kernel's definition
(include/asm-generic/bitops/generic-non-atomic.h: BIT_WORD(nr) = nr /
BITS_PER_LONG, BIT_MASK(nr) = 1UL << (nr % BITS_PER_LONG)) plus the byte order
of the word, independently of bitlayout.bitmap, and compared as plain data.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from test_report_fixtures import VMA_FLAGS, fixture_profiles, fixture_rows

from bitlayout.report import model


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
        model.BitmapFacts(name, [model.BitmapArchFacts(p.name, geometry(p, kind), VMA_FLAGS,
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
    facts = model.BitmapFacts("t", [model.BitmapArchFacts("i386", None, {}, reason="type not declared"),
                                    model.BitmapArchFacts("mips", geometry(ps[1], "u64"), {"A": 3})])
    r = model.build_report(profiles=ps, bitmaps=[facts])
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
    lay = model.struct_layout(tl, cacheline_bytes=16)
    kinds = [(s["kind"], s["name"], s["offset_bits"] // 8, s["size_bits"] // 8) for s in lay["segments"]]
    assert kinds == [("member", "c", 0, 1), ("hole", "", 1, 7), ("member", "l", 8, 8),
                     ("member", "tail", 16, 1), ("padding", "", 17, 7)]
    assert (lay["hole_bits"], lay["padding_bits"], lay["cachelines"]) == (56, 56, 2)
    # A member straddling a cacheline boundary is flagged.
    tl2 = NS(size_bytes=24, align_bytes=4, kind="struct", members=(_member("a", 0, 12), _member("b", 12, 8)))
    segs = model.struct_layout(tl2, cacheline_bytes=16)["segments"]
    assert [s["crosses_cacheline"] for s in segs if s["kind"] == "member"] == [False, True]


def test_struct_entry_groups_identical_layouts():
    ps = fixture_profiles()
    def tl(w):
        return NS(size_bytes=2 * w, align_bytes=w, kind="struct",
                  members=(_member("a", 0, w, "long", w), _member("b", w, w, "long", w)))
    facts = model.StructFacts("struct s", {p.name: tl(p.word_bytes) for p in ps if p.name != "x32"} | {"x32": None},
                              {"x32": "not declared"})
    r = model.build_report(profiles=ps, structs=[facts])
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
    facts = model.TaggedFacts("struct vm_area_struct.anon_vma", "struct anon_vma", 3, "slab",
                              [model.TaggedArchFacts(p.name, p.word_bytes, 10 * p.word_bytes) for p in ps])
    r = model.build_report(profiles=ps, tagged=[facts])
    rows = {row["arch"]: row for row in r["tagged_pointers"][0]["per_arch"]}
    for p in ps:
        tb = tagging.free_tag_bits(p, p.word_bytes, 10 * p.word_bytes, "slab")
        free = int(getattr(tb, "free_bits"))
        assert rows[p.name]["free_bits"] == free
        assert rows[p.name]["ok"] == (free >= 3)
    failing = [f for f in r["tagged_pointers"][0]["findings"]]
    assert len(failing) == sum(1 for row in rows.values() if not row["ok"])


def test_short_flag_names():
    assert model.short_flag_name("VMA_UFFD_MINOR_BIT") == "UFFD_MINOR"
    assert model.short_flag_name("PG_locked") == "locked"
    assert model.short_flag_name("FLAG") == "FLAG"


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
    warns = [f["text"] for f in r["findings"] if f["severity"] == "warn"]
    assert not any(t.startswith("vma_flags_t: reading") for t in warns), warns
    assert any(t.startswith("vm_flags_t: reading READ | UFFD_MINOR together can tear") for t in warns), warns


def test_layout_all_reuses_the_matrix_layouts_and_lays_out_only_the_rest(monkeypatch):
    """The report must not lay the headers out a second time for arches the matrix already did."""
    pytest.importorskip("bitlayout.layout", reason="the layout engine (bitlayout.layout) is not built yet")
    import bitlayout.layout as layout_mod
    from bitlayout.matrix import run_matrix
    from bitlayout.spec import load_default_spec

    spec = load_default_spec()
    profiles = spec.select_arches("i386,x86_64,mips")
    result = run_matrix(spec, profiles, "model", ["bounds"], jobs=1)
    fresh, fresh_errors = model.layout_all(spec, profiles)
    real = layout_mod.layout_headers
    calls = []

    def counting(headers, profile, **kw):
        calls.append(profile.name)
        return real(headers, profile, **kw)

    monkeypatch.setattr(layout_mod, "layout_headers", counting)
    reused, errors = model.layout_all(spec, profiles, result)
    assert calls == [] and errors == fresh_errors == {}
    assert {a: ls is result.layouts[a] for a, ls in reused.items()} == {p.name: True for p in profiles}
    # The page drawn from the reused layouts is the page drawn from fresh ones.
    assert model.gather(spec, profiles, reused, errors) == model.gather(spec, profiles, fresh, fresh_errors)

    result.layouts["mips"] = None  # e.g. a worker could not send it back
    reused, _ = model.layout_all(spec, profiles, result)
    assert calls == ["mips"] and reused["mips"].profile.name == "mips"
    calls.clear()
    result.spec_path = "/elsewhere/other.toml"  # another spec's run is never reused
    model.layout_all(spec, profiles, result)
    assert sorted(calls) == sorted(p.name for p in profiles)
