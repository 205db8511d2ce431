"""The compiled backend's DWARF reading on what kernel TUs brought up: reduced debug info, a
compiler-internal type, a macro named like a type (host gcc; skipped without it)."""

from __future__ import annotations

import pytest

from bitlayout.backends.compiled import compiled_layout
from bitlayout.errors import ToolchainError
from bitlayout.profiles import profile_by_name
from bitlayout.toolchains import find_compiler


@pytest.fixture
def x86_64_gcc():
    profile = profile_by_name("x86_64")
    if find_compiler(profile, "gcc") is None:
        pytest.skip("no gcc for x86_64: apt-get install -y gcc")
    return profile


def test_reduced_debug_info_is_an_error_not_a_struct_without_members(x86_64_gcc, tmp_path):
    header = tmp_path / "s.h"
    header.write_text("struct s { int a; long b; };\n")
    assert compiled_layout([header], x86_64_gcc, ["struct s"], kind="gcc")["types"]["struct s"]["members"] != []
    # GCC keeps only a declaration of a struct defined in a header: Kbuild's CONFIG_DEBUG_INFO_REDUCED
    with pytest.raises(ToolchainError, match="no definition of struct s although the compiler gives it size 16"):
        compiled_layout([header], x86_64_gcc, ["struct s"], kind="gcc", extra_flags=["-femit-struct-debug-baseonly"])


def test_every_type_of_a_tu_leaves_out_compiler_internal_ones(x86_64_gcc, tmp_path):
    header = tmp_path / "v.h"
    header.write_text("typedef __builtin_va_list va_list;\nstruct uses { va_list ap; };\n")
    types = compiled_layout([header], x86_64_gcc, kind="gcc")["types"]
    assert "struct __va_list_tag" not in types  # GCC's, at <built-in>:0; C cannot name it
    assert types["struct uses"]["size"] == 24


def test_a_type_named_like_a_macro_is_still_probed(x86_64_gcc, tmp_path):
    header = tmp_path / "m.h"
    header.write_text("enum cc_vendor { CC_VENDOR_NONE };\n#define cc_vendor (CC_VENDOR_NONE)\n")
    types = compiled_layout([header], x86_64_gcc, kind="gcc")["types"]
    assert types["enum cc_vendor"]["size"] == 4


def test_contract_assertions_hold_for_dwarf_facts_and_catch_a_wrong_one(x86_64_gcc, tmp_path):
    import subprocess

    from bitlayout.backends.compiled import contract_assertions

    header = tmp_path / "c.h"
    header.write_text("struct c { char a; int b : 3; long d; union { short e; int f; }; };\n#define d oops\n")
    facts = compiled_layout([header], x86_64_gcc, ["struct c"], kind="gcc")["types"]
    text, count = contract_assertions(facts)
    assert count == 2 + 4  # sizeof, _Alignof, offsetof a, d, e, f (not the bit-field b)
    gcc = find_compiler(x86_64_gcc, "gcc").argv[0]

    def compiles(body: str) -> bool:
        src = tmp_path / "check.c"
        src.write_text(f'#include "{header}"\n{body}')
        return subprocess.run([gcc, "-fsyntax-only", str(src)], capture_output=True).returncode == 0

    assert compiles(text)
    assert not compiles(text.replace("== 8,", "== 16,", 1))


def test_a_type_attribute_variant_has_the_members_of_its_union(x86_64_gcc, tmp_path):
    # include/linux/mm.h: GCC writes the transparent_union variant as a second union DIE with no
    # children; its members are the original's (the model lays the union out with all three)
    header = tmp_path / "t.h"
    header.write_text("struct page; struct folio;\n"
                      "typedef union { struct page **pages; struct folio **folios; void **raw; } "
                      "release_pages_arg __attribute__((__transparent_union__));\n"
                      "struct empty_bits { int : 8; };\n")
    types = compiled_layout([header], x86_64_gcc, kind="gcc")["types"]
    assert [m["name"] for m in types["release_pages_arg"]["members"]] == ["pages", "folios", "raw"]
    assert types["struct empty_bits"] == {"size": 1, "align": 1, "members": []}  # no twin: still none


def test_every_scalar_of_a_profile_is_probed_even_where_the_compiler_predefines_its_name(tmp_path):
    """GCC for ppc64le predefines ``#define __float128 __ieee128``: the probe must not undefine it
    (the matrix's profile check asks for every scalar of the profile)."""
    from bitlayout.profiles import C_SPELLING

    profile = profile_by_name("ppc64le")
    if find_compiler(profile, "gcc") is None:
        pytest.skip("needs powerpc64le-linux-gnu-gcc: apt-get install -y gcc-powerpc64le-linux-gnu")
    header = tmp_path / "one.h"
    header.write_text("struct one { int a; };\n")
    names = [C_SPELLING[k] for k in profile.scalars]
    facts = compiled_layout([str(header)], profile, names, kind="gcc")["types"]
    assert facts["__float128"]["size"] == 16 and set(names) <= set(facts)
