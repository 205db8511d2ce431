"""bitlayout.kernel.abi: Kbuild's flags -> the profile the model lays a kernel TU out with.

The rules as plain data first; then each rule that changes something, against the profile's own
GCC run with and without the flag (skipped with the install command when it is missing).  The
whole mapping against Kbuild's real commands is in tests/test_kernel_real.py.
"""

from __future__ import annotations

import pytest

from bitlayout.errors import KernelTreeError
from bitlayout.kernel.abi import RULES, flags, kernel_profile, layout_changes
from bitlayout.profile_truth import command_facts
from bitlayout.profiles import profile_by_name
from bitlayout.toolchains import find_compiler, install_hint


def gcc(arch: str) -> str:
    return f"/usr/bin/{arch}-gcc"  # only its name matters to the mapping: a gcc


def test_unsigned_char_is_the_one_change_on_x86_64():
    argv = [gcc("x86_64-linux-gnu"), "-m64", "-mcmodel=kernel", "-funsigned-char", "-fshort-wchar", "-O2"]
    assert layout_changes(profile_by_name("x86_64"), argv) == {"char_signed": (True, False)}


def test_the_last_char_flag_wins():
    argv = [gcc("mips-linux-gnu"), "-funsigned-char", "-fsigned-char"]
    assert layout_changes(profile_by_name("mips"), argv) == {}


def test_sh_without_fpu_has_a_pointer_va_list():
    argv = [gcc("sh4-linux-gnu"), "-m4-nofpu", "-ml"]
    changes = layout_changes(profile_by_name("sh4"), argv)
    assert changes["types.va_list"] == ((20, 4, 4), (4, 4, 4)) and changes["layout.va_list"][1] == "void *"
    assert set(changes) == {"types.va_list", "layout.va_list"}


def test_soft_float_removes_float128_on_powerpc_only():
    changes = layout_changes(profile_by_name("ppc64le"), [gcc("powerpc64le-linux-gnu"), "-msoft-float"])
    assert set(changes) == {"types.float128", "types.gnu_float128", "types.float64x"}
    assert all(new is None for _, new in changes.values())
    assert layout_changes(profile_by_name("arm"), [gcc("arm-linux-gnueabihf"), "-msoft-float"]) == {}


def test_a_flag_known_on_one_arch_is_unknown_on_another():
    with pytest.raises(KernelTreeError, match=r"ppc64le: Kbuild passes -mno-sse2, whose effect .* bitlayout/kernel/abi.py"):
        kernel_profile(profile_by_name("ppc64le"), [gcc("powerpc64le-linux-gnu"), "-mno-sse2"])


def test_an_unknown_flag_is_named_not_guessed():
    argv = [gcc("x86_64-linux-gnu"), "-fshort-enums", "-O2", "-fpack-struct=4", "-fshort-enums"]
    with pytest.raises(KernelTreeError) as exc:
        kernel_profile(profile_by_name("x86_64"), argv)
    assert "Kbuild passes -fshort-enums, -fpack-struct=4, whose effect on type layout" in str(exc.value)


def test_a_compiler_that_is_neither_gcc_nor_clang_is_an_error():
    with pytest.raises(KernelTreeError, match="neither gcc nor clang"):
        kernel_profile(profile_by_name("x86_64"), ["/usr/bin/tcc", "-O2"])


def test_values_of_separate_argument_options_are_not_flags():
    argv = ["gcc", "-include", "-weird.h", "-G", "0", "-I", "-dir", "-D", "X=1", "-O2"]
    assert list(flags(argv)) == ["-include", "-G", "-I", "-D", "-O2"]


def test_a_profile_of_the_other_compiler_keeps_its_psabi_numbers_only():
    profile = profile_by_name("aarch64_be")  # zig's clang; Kbuild builds it with aarch64-linux-gnu-gcc
    kp = kernel_profile(profile, [gcc("aarch64-linux-gnu"), "-mbig-endian"])
    assert kp.layout.compiler == "gcc"
    assert {"int128", "va_list", "long_double", "pointer"} <= set(kp.scalars)
    assert not {"float16", "fp16", "bf16"} & set(kp.scalars)
    assert kernel_profile(profile, ["/usr/bin/clang", "--target=aarch64_be-linux-gnu"]).scalars == profile.scalars


def test_sparc_under_gcc_takes_gccs_biggest_alignment():
    changes = layout_changes(profile_by_name("sparc"), [gcc("sparc64-linux-gnu"), "-m32", "-mcpu=v8"])
    assert changes["layout.biggest_alignment_bytes"] == (16, 8)


def test_every_rule_says_why():
    assert all(r.why.strip() for r in RULES)


# ---------------------------------------------------------------------------
# Each rule that changes the profile, against the profile's own GCC with and without the flag.

CHANGES = [(arch, flag) for arch, flags_ in {
    "x86_64": ("-funsigned-char", "-mlong-double-64", "-mlong-double-128", "-mno-sse", "-mno-sse2"),
    "i386": ("-mlong-double-64", "-mlong-double-128"),
    "ppc64le": ("-msoft-float", "-mno-vsx", "-mno-altivec", "-mlong-double-64", "-mlong-double-128"),
    "ppc": ("-mlong-double-64",),
    "sh4": ("-m4-nofpu", "-m4a-nofpu"),
    "arm": ("-fsigned-char",),
    "mips": ("-funsigned-char",),
}.items() for flag in flags_]


def _scalars(facts: dict) -> dict:
    """Compiler facts in layout_changes' shape: char_signed, and each scalar as (size, align, gnu_align)."""
    out = {"char_signed": bool(facts["char_signed"])}
    for fact, value in facts.items():
        if fact.startswith("size_"):
            key = fact[len("size_"):]
            out[f"types.{key}"] = (value, facts[f"align_{key}"], facts[f"gnu_align_{key}"])
    return out


@pytest.mark.parametrize("arch, flag", CHANGES, ids=[f"{a}{f}" for a, f in CHANGES])
def test_a_rule_changes_what_gcc_changes(arch, flag, tmp_path):
    profile = profile_by_name(arch)
    compiler = find_compiler(profile, "gcc")
    if compiler is None:
        pytest.skip(f"no gcc for {arch}: {install_hint(profile)}")
    base = [*compiler.argv, *compiler.cflags]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before, after = _scalars(command_facts(base, tmp_path / "a")), _scalars(command_facts([*base, flag], tmp_path / "b"))
    observed = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
    assert layout_changes(profile, base) == {}
    # what the compiled facts can show: the scalars and char (va_list's members: test_kernel_real)
    changed = {k: v for k, v in layout_changes(profile, [*base, flag]).items() if not k.startswith("layout.")}
    assert changed == observed


# GCC STRICT_ALIGNMENT flags: what they change shows only in records (a user-aligned aggregate
# with a machine mode next to a vector wider than __BIGGEST_ALIGNMENT__), so the check is a layout.
STRICT_TEXT = ("typedef float v32 __attribute__((vector_size(32)));\n"
               "typedef signed char c1 __attribute__((aligned(1)));\n"
               "struct s8 { int a, b; } __attribute__((aligned(8)));\n"
               "struct in8 { v32 v; struct s8 s; };\n"
               "struct in_arr { v32 v; c1 a[1]; };\n")
STRICT_FLAGS = [("riscv64", "-mstrict-align", True), ("riscv64", "-mno-strict-align", False),
                ("ppc64le", "-mstrict-align", True), ("ppc64le", "-mno-strict-align", False),
                ("arc", "-mno-unaligned-access", True), ("arc", "-munaligned-access", False),
                ("arm", "-mno-unaligned-access", True), ("arm", "-munaligned-access", True)]


@pytest.mark.parametrize("arch, flag, strict", STRICT_FLAGS, ids=[f"{a}{f}" for a, f, _ in STRICT_FLAGS])
def test_strict_alignment_flags_lay_records_out_as_gcc_does(arch, flag, strict, tmp_path):
    from bitlayout import layout
    from bitlayout.backends import compiled

    profile = profile_by_name(arch)
    compiler = find_compiler(profile, "gcc")
    kp = kernel_profile(profile, [*(compiler.argv if compiler else [gcc(arch)]), flag])
    assert kp.layout.strict_alignment is strict
    header = tmp_path / "strict.h"
    header.write_text(STRICT_TEXT)
    model = layout.layout_text(STRICT_TEXT, kp, str(header), (str(header),)).to_contract()
    if compiler is None:
        pytest.skip(f"no gcc for {arch}: {install_hint(profile)}")
    assert compiled.compiled_layout([header], profile, list(model["types"]), kind="gcc", extra_flags=[flag]) == model


ENUM_TEXT = ("enum small { SMALL_A = 1 };\n"
             "enum wide { WIDE_A = 300 };\n"
             "struct holds { char c; enum small s; enum wide w; };\n")


def test_no_short_enums_makes_hexagons_enums_int_sized_as_its_clang_does(tmp_path):
    """arch/hexagon/Makefile passes -fno-short-enums; hexagon's clang otherwise makes enum small
    one byte (the profile's enum_min_size_bytes = 1)."""
    from bitlayout import layout
    from bitlayout.backends import compiled

    profile = profile_by_name("hexagon")
    assert profile.layout.enum_min_size_bytes == 1
    kp = kernel_profile(profile, ["/usr/bin/clang", "--target=hexagon-linux-musl", "-fno-short-enums", "-G0",
                                  "-mllvm", "-hexagon-cext=false", "-fintegrated-as"])
    assert kp.layout.enum_min_size_bytes == 4
    header = tmp_path / "enums.h"
    header.write_text(ENUM_TEXT)
    model = layout.layout_text(ENUM_TEXT, kp, str(header), (str(header),)).to_contract()
    assert model["types"]["struct holds"]["size"] == 12
    if find_compiler(profile) is None:
        pytest.skip(f"no compiler for hexagon: {install_hint(profile)}")
    assert compiled.compiled_layout([header], profile, list(model["types"]), extra_flags=["-fno-short-enums"]) == model
    # and without the flag the profile is the compiler's default (short enums)
    plain = layout.layout_text(ENUM_TEXT, profile, str(header), (str(header),)).to_contract()
    assert plain["types"]["struct holds"]["size"] == 4
    assert compiled.compiled_layout([header], profile, list(plain["types"])) == plain


def test_mllvm_takes_its_value_as_the_next_argument():
    assert list(flags(["clang", "-mllvm", "-hexagon-cext=false", "-O2"])) == ["-mllvm", "-O2"]
