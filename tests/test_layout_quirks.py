"""One named test per ABI quirk the differential tests found (each is a field of the profile's
[layout] table or of its scalar table).  Each test states the fact, checks the model predicts it,
and confirms it with the arch's real compiler when one is installed."""

from __future__ import annotations

import pytest

from bitlayout import layout
from bitlayout.backends import compiled
from test_layout_support import profile, require_compiler


def check(arch: str, text: str, tmp_path, expect: dict) -> dict:
    """expect: type -> (size, align, {member: offset_bits}); model first, then the compiler."""
    p = profile(arch)
    header = tmp_path / f"quirk_{arch}.h"
    header.write_text(text)
    model = layout.layout_text(text, p, str(header), (str(header),)).to_contract()
    for name, (size, align, offsets) in expect.items():
        t = model["types"][name]
        got = {m["name"]: m["offset_bits"] for m in t["members"] if m["name"] in offsets}
        assert (t["size"], t["align"], got) == (size, align, offsets), (arch, name, t)
    require_compiler(p)
    observed = compiled.compiled_layout([header], p, list(model["types"]))
    assert observed == model, arch
    return model


def test_i386_long_long_and_double_are_4_aligned_in_structs_but_gnu_alignof_is_8(tmp_path):
    text = "struct q { char c; long long ll; double d; };\nenum { GNU = __alignof__(long long) };\n"
    check("i386", text, tmp_path, {"struct q": (20, 4, {"ll": 32, "d": 96})})
    check("x86_64", text, tmp_path, {"struct q": (24, 8, {"ll": 64, "d": 128})})
    p = profile("i386")
    assert (p.scalar("long_long").align_bytes, p.scalar("long_long").gnu_align_bytes) == (4, 8)
    assert layout.layout_text(text, p).enum_constants["GNU"] == 8


def test_i386_enum_with_64bit_values_is_8_bytes_4_aligned(tmp_path):
    check("i386", "enum big { B = 0x100000000ULL };\n", tmp_path, {"enum big": (8, 4, {})})


def test_x32_is_ilp32_but_long_long_stays_8_aligned(tmp_path):
    check("x32", "struct q { char c; long l; long long ll; void *p; };\n", tmp_path,
          {"struct q": (24, 8, {"l": 32, "ll": 64, "p": 128})})


def test_m68k_int_long_pointer_long_long_are_2_aligned(tmp_path):
    check("m68k", "struct q { char c; int i; char d; long long ll; char e; void *p; };\n", tmp_path,
          {"struct q": (22, 2, {"i": 16, "ll": 64, "p": 144})})


def test_m68k_bitfields_ignore_their_declared_type(tmp_path):
    """PCC_BITFIELD_TYPE_MATTERS is 0 on m68k: bits follow bits, the type neither aligns nor
    straddle-checks the field, and adds nothing to the struct's alignment."""
    assert profile("m68k").layout.pcc_bitfield_type_matters is False
    text = "struct bf { char c; int x:30; };\nstruct bc { char a:3; char b:6; };\n"
    check("m68k", text, tmp_path, {"struct bf": (5, 1, {"x": 8}), "struct bc": (2, 1, {"b": 3})})
    check("x86_64", text, tmp_path, {"struct bf": (8, 4, {"x": 32}), "struct bc": (2, 1, {"b": 8})})


def test_m68k_zero_width_bitfield_aligns_to_empty_field_boundary(tmp_path):
    assert profile("m68k").layout.empty_field_boundary_bytes == 2
    text = "struct z { char a; int :0; char b; };\nstruct zc { char a:3; char :0; char b:3; };\n"
    check("m68k", text, tmp_path, {"struct z": (4, 2, {"b": 16}), "struct zc": (4, 2, {"b": 16})})


def test_m68k_whole_mode_bitfield_at_aligned_position_raises_alignment(tmp_path):
    """Without PCC rules, layout_decl turns an aligned 32-bit field into an SImode field."""
    check("m68k", "struct w { unsigned int a:32; unsigned int b:32; };\n", tmp_path, {"struct w": (8, 2, {"b": 32})})


@pytest.mark.parametrize("arch", ["arm", "armeb", "aarch64", "aarch64_be"])
def test_aapcs_unnamed_bitfields_raise_struct_alignment(arch, tmp_path):
    """AAPCS/AAPCS64: an unnamed bit-field's declared type still counts for the struct's alignment
    (GCC TARGET_ALIGN_ANON_BITFIELD); System V ignores it."""
    assert profile(arch).layout.unnamed_bitfield_affects_alignment
    text = "struct u { char a; int :5; char b; };\nstruct z { char a; int :0; char b; };\n"
    check(arch, text, tmp_path, {"struct u": (4, 4, {"b": 16}), "struct z": (8, 4, {"b": 32})})


def test_system_v_unnamed_bitfields_do_not_align(tmp_path):
    text = "struct u { char a; int :5; char b; };\nstruct z { char a; int :0; char b; };\n"
    check("x86_64", text, tmp_path, {"struct u": (3, 1, {"b": 16}), "struct z": (5, 1, {"b": 32})})


def test_arm_eabi_enums_are_int_sized(tmp_path):
    """Linux ARM EABI does not use -fshort-enums (AAPCS leaves it to the platform)."""
    check("arm", "enum small { S0, S1 };\nstruct e { char c; enum small s; };\n", tmp_path,
          {"enum small": (4, 4, {}), "struct e": (8, 4, {"s": 32})})


def test_hexagon_enums_are_short(tmp_path):
    assert profile("hexagon").layout.enum_min_size_bytes == 1
    check("hexagon", "enum small { S0, S1 };\nenum mid { M = 300 };\nstruct e { char c; enum mid m; };\n",
          tmp_path, {"enum small": (1, 1, {}), "enum mid": (2, 2, {}), "struct e": (4, 2, {"m": 16})})


@pytest.mark.parametrize("arch,align", [("arm", 8), ("m68k", 2), ("sh4", 4), ("arc", 4), ("s390x", 8),
                                        ("parisc", 8), ("mips", 8), ("x86_64", 16), ("sparc", 16)])
def test_bare_aligned_attribute_means_biggest_alignment(arch, align, tmp_path):
    """`__attribute__((aligned))` = __BIGGEST_ALIGNMENT__ for GCC; clang (zig) uses 16 on mips,
    sparc and hexagon although their __BIGGEST_ALIGNMENT__ is 8 (mips's [alternate] says so)."""
    assert profile(arch).layout.biggest_alignment_bytes == align
    check(arch, "struct b { char c; } __attribute__((aligned));\n", tmp_path, {"struct b": (align, align, {})})


@pytest.mark.parametrize("arch", ["x86_64", "mips", "m68k"])
def test_packed_bitfield_never_moves_to_a_new_unit(arch, tmp_path):
    """GCC >= 4.4: a packed bit-field goes at the next free bit even if it straddles its type's
    unit (stor-layout.c only informs "offset of packed bit-field has changed")."""
    check(arch, "struct p { signed char a:1; int b:1; signed char c:8; } __attribute__((packed));\n", tmp_path,
          {"struct p": (2, 1, {"c": 2})})


@pytest.mark.parametrize("arch", ["mips", "s390x", "x86_64"])
def test_bitfield_straddling_its_unit_moves_to_the_next(arch, tmp_path):
    check(arch, "struct s { char c; int x:30; short y:9; short z:9; };\n", tmp_path,
          {"struct s": (12, 4, {"x": 32, "y": 64, "z": 80})})


def test_big_endian_bitfields_are_msb_first_in_the_storage_unit():
    """offset_bits is in memory order on both (that is what DWARF data_bit_offset says); where the
    field sits inside the unit's *value* differs, which is what masks and shifts see."""
    from bitlayout.commands.layout import render_table

    text = "struct f { unsigned int a:3; unsigned int b:5; };\n"
    for arch, first_value_bit in (("mips", 29), ("mipsel", 0)):
        p = profile(arch)
        assert p.layout.bitfields_msb_first == (not p.little_endian)
        t = layout.layout_text(text, p).types["struct f"]
        assert [m.offset_bits for m in t.flat_members()] == [0, 3]
        assert f"value bit {first_value_bit} of 32-bit unit" in render_table(t, p)


STRICT_TEXT = ("typedef float v32 __attribute__((vector_size(32)));\n"
               "typedef signed char c1 __attribute__((aligned(1)));\n"
               "struct s8 { int a, b; } __attribute__((aligned(8)));\n"
               "struct in8 { v32 v; struct s8 s; };\n"
               "struct in_arr { v32 v; c1 a[1]; };\n"
               "struct in_pair { v32 v; c1 a[2]; };\n")


@pytest.mark.parametrize("arch,strict,capped", [("mips", True, 8), ("riscv64", True, 16), ("sparc64", True, 16),
                                                ("m68k", False, 2), ("arc", False, 4), ("x86_64", False, 16)])
def test_strict_alignment_clears_user_alignment_of_aggregates_with_a_mode(arch, strict, capped, tmp_path):
    """GCC STRICT_ALIGNMENT: an aligned(8) struct of 8 bytes (DImode) or a one-byte array of an
    aligned(1) char (QImode) is no longer user-aligned, so a struct holding it next to a 32-byte
    vector has its _Alignof capped at __BIGGEST_ALIGNMENT__; a two-byte array of it stays BLKmode
    (under-aligned for HImode) and keeps the flag.  Elsewhere nothing is capped."""
    assert profile(arch).layout.strict_alignment is strict
    cap = capped if strict else 32
    check(arch, STRICT_TEXT, tmp_path, {"struct in8": (64, cap, {"s": 256}), "struct in_arr": (64, cap, {"a": 256}),
                                        "struct in_pair": (64, 32, {"a": 256})})


def test_i386_record_with_flexible_array_is_not_capped(tmp_path):
    """compute_record_mode: a flexible array member has no size, so its record is BLKmode and
    x86_field_alignment leaves an 8-aligned one 8-aligned as a member; a zero-length array is
    passed over and the record is capped at 4 like a plain _Atomic long long's."""
    text = ("struct fam { _Atomic long long x; char f[]; };\nstruct in_fam { char c; struct fam y; };\n"
            "struct zla { _Atomic long long x; char z[0]; };\nstruct in_zla { char c; struct zla y; };\n")
    check("i386", text, tmp_path, {"struct fam": (8, 8, {}), "struct in_fam": (16, 8, {"y": 64}),
                                   "struct zla": (8, 4, {}), "struct in_zla": (12, 4, {"y": 32})})
