"""Real C in: what users' headers contain is accepted when GCC accepts it, laid out exactly, and
refused (one line, the arch named) when GCC refuses it; a construct the engine does not model is
reported for the types that need it, never for the whole file.

Each test names the construct; the differential tests against the compilers' DWARF
(test_layout_compilers, test_layout_random, test_layout_libc) prove the numbers on every arch.
"""

from __future__ import annotations

import json

import pytest

from bitlayout import layout, profiles
from bitlayout.errors import LayoutError, UnsupportedError

from conftest import run_cli

X86_64 = profiles.profile_by_name("x86_64")
I386 = profiles.profile_by_name("i386")
M68K = profiles.profile_by_name("m68k")


def lay(text: str, profile=X86_64, name="t.h"):
    return layout.layout_text(text, profile, name, (name,))


def contract(text: str, profile=X86_64) -> dict:
    return lay(text, profile).to_contract()["types"]


# --- what cannot change a layout is read past ------------------------------------------------

KERNEL_STYLE = r"""
static inline __attribute__((__always_inline__)) int rd(const volatile int *p)
{
    return ({ typeof(*p) __v = _Generic(*p, int: *p, default: 0); (void)__v; __v; });
}
static inline int g(int x) { __auto_type y = x; asm goto("" :::: out); return y; out: return 0; }
static inline int nested(int a) { int add(int b) { return a + b; } return add(1); }
extern int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2))) __attribute__((__cold__));
struct s { int a; } __attribute__((__designated_init__));
static const int table[] = { [0] = 1, [3] = 2 };
int ok_after_all_that;
"""


def test_function_bodies_statement_expressions_generic_asm_goto_nested_functions_are_tolerated():
    ls = lay(KERNEL_STYLE)
    assert ls.types["struct s"].size_bytes == 4


def test_typeof_of_an_expression_in_a_declaration_is_typed():
    c = contract("struct a { short s; long l; };\n"
                 "struct b { __typeof__(((struct a *)0)->s) x; typeof(sizeof(int)) n; typeof(1 ? 2L : 3) t; };")
    assert [(m["name"], m["size_bits"]) for m in c["struct b"]["members"]] == [("x", 16), ("n", 64), ("t", 64)]


def test_kernel_array_size_idioms_evaluate():
    """ARRAY_SIZE's __must_be_array (__builtin_types_compatible_p of typeof) and __is_constexpr
    (a null pointer constant in ?: decides the type) in array bounds."""
    c = contract("""
        extern int arr[7];
        struct k {
            char a[sizeof(arr) / sizeof(arr[0]) + ((int)sizeof(struct { int:(-!!(__builtin_types_compatible_p(
                typeof(arr), typeof(&arr[0])))); }))];
            char b[(sizeof(int) == sizeof(*(8 ? ((void *)((long)(3) * 0l)) : (int *)8))) ? 2 : 5];
        };""")
    assert [m["size_bits"] for m in c["struct k"]["members"]] == [56, 16]


# --- types GCC lays out, per ABI ------------------------------------------------------------------

def test_atomic_long_long_is_8_aligned_on_i386():
    assert contract("struct t { char c; _Atomic long long x; };", I386)["struct t"]["size"] == 16
    assert contract("struct t { char c; _Atomic long long x; };", I386)["struct t"]["align"] == 8


def test_atomic_alignment_is_capped_by_the_biggest_alignment_on_m68k():
    assert contract("struct t { char c; _Atomic long long x; };", M68K)["struct t"]["size"] == 10


def test_complex_types_have_their_component_alignment():
    c = contract("struct z { char c; _Complex double d; _Complex int i; };", I386)
    assert (c["struct z"]["size"], [m["offset_bits"] for m in c["struct z"]["members"]]) == (28, [0, 32, 160])


def test_mode_attributes_on_glibc_style_typedefs():
    c = contract("typedef int int8_t __attribute__ ((__mode__ (__QI__)));\n"
                 "typedef unsigned int u_int64_t __attribute__ ((__mode__ (__DI__)));\n"
                 "typedef int register_t __attribute__ ((__mode__ (__word__)));", profiles.profile_by_name("x32"))
    assert [(c[n]["size"], c[n]["align"]) for n in ("int8_t", "u_int64_t", "register_t")] == [(1, 1), (8, 8), (8, 8)]


def test_mode_TI_does_not_exist_on_32_bit():
    with pytest.raises(LayoutError, match="unable to emulate 'TI' on i386"):
        lay("typedef int ti __attribute__((mode(TI)));", I386)


def test_vector_types_and_gccs_alignof_cap():
    c = contract("typedef int v8si __attribute__((vector_size(32)));\nstruct v { char c; v8si v; };")
    assert (c["v8si"]["align"], c["struct v"]["size"], c["struct v"]["align"]) == (16, 64, 16)
    assert lay("typedef int v8si __attribute__((vector_size(32)));").eval("__alignof__(v8si)") == 32


def test_builtin_va_list_is_laid_out_with_its_abi_members():
    c = contract("typedef __builtin_va_list va_list;", profiles.profile_by_name("aarch64"))
    assert [m["name"] for m in c["va_list"]["members"]] == ["__stack", "__gr_top", "__vr_top", "__gr_offs",
                                                            "__vr_offs"]


def test_long_double_follows_the_profiles_libc_and_compiler():
    ppc = profiles.profile_by_name("ppc")
    assert lay("long double x;", ppc).eval("sizeof(long double)") == 16  # glibc's GCC: IBM double-double
    assert lay("long double x;", ppc.for_compiler("zig")).eval("sizeof(long double)") == 8  # musl: double


# --- pragmas and preprocessing left in the text ------------------------------------------------------

@pytest.mark.parametrize("pragmas,size", [
    ("#pragma pack(0)", 8),
    ("#pragma pack(push, named, 1)", 5),
    ("#pragma pack(push, named, 1)\n#pragma pack(push, 2)\n#pragma pack(pop, named)", 8),
    ("#pragma pack(3)", 8),  # GCC: "alignment must be a small power of two" is a warning: ignored
    ("#pragma pack 1", 8),  # missing '(': ignored with a warning
])
def test_every_pragma_pack_form_as_gcc_reads_it(pragmas, size):
    assert contract(f"{pragmas}\nstruct p {{ char c; int i; }};")["struct p"]["size"] == size


def test_pack_reaches_the_m68k_bitfield_path():
    c = contract("#pragma pack(2)\nstruct q { int __attribute__((aligned(8))) b:4; };", M68K)
    assert (c["struct q"]["size"], c["struct q"]["align"]) == (2, 2)


def test_scalar_storage_order_is_recorded_on_the_type():
    ls = lay("#pragma scalar_storage_order big-endian\nstruct be { unsigned a:3; int x; };\n"
             "#pragma scalar_storage_order default\nstruct le { int x; };")
    assert ls.types["struct be"].reverse_order and not ls.types["struct le"].reverse_order


def test_line_directives_do_not_move_types_out_of_their_file():
    text = '# 1 "t.h"\nstruct a { int x; };\n# 100 "elsewhere.c"\nstruct b { int y; };\n'
    assert list(lay(text).to_contract()["types"]) == ["struct a", "struct b"]


# --- what GCC rejects is rejected -------------------------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ("typedef int a; typedef long a;", "conflicting types for 'a'"),
    ("enum e { X }; enum f { X };", "redeclaration of enumerator 'X'"),
    ("struct t { int a; }; union t *u;", "'t' defined as wrong kind of tag"),
    ("struct s { int x : 3; _Alignas(8) int y : 3; };", "alignment specified for bit-field 'y'"),
    ("typedef _Alignas(8) int ai;", "alignment specified for typedef 'ai'"),
    ("struct s { _Alignas(1) int i; };", "_Alignas specifiers cannot reduce alignment"),
    ("typedef int v3 __attribute__((vector_size(12)));", "not a power of two"),
])
def test_invalid_c_is_refused_in_one_line(text, needle):
    with pytest.raises(LayoutError, match=needle):
        lay(text)


def test_valid_c_is_accepted():
    lay("_Alignas(32) struct { int a; } s;\ntypedef int a; typedef int a;\nstruct x; struct x { int q; };")


# --- a construct the engine does not model: per type, never the file ---------------------------------

MS = "struct ms { char c; int i : 3; } __attribute__((ms_struct));\nstruct uses { struct ms m; };\n" \
     "struct ptr { struct ms *p; };\nstruct fine { int a; };\n"


def test_an_unmodelled_construct_is_reported_for_the_types_that_need_it():
    c = contract(MS)
    assert c["struct ms"] == {"unsupported": "attribute 'ms_struct' at t.h:1"}
    assert c["struct uses"] == {"unsupported": "attribute 'ms_struct' at t.h:1"}
    assert c["struct ptr"]["size"] == 8 and c["struct fine"]["size"] == 4


def test_naming_an_unsupported_type_is_an_error_exit_2(tmp_path, capsys):
    h = tmp_path / "ms.h"
    h.write_text(MS)
    rc, out, err = run_cli(capsys, "layout", str(h), "--arch", "x86_64", "--format", "json")
    assert rc == 0 and json.loads(out)["arches"]["x86_64"]["types"]["struct ms"]["unsupported"]
    rc, out, err = run_cli(capsys, "layout", str(h), "--arch", "x86_64", "--type", "struct ms")
    assert rc == 2 and err.count("\n") == 1 and "'struct ms' cannot be laid out on x86_64" in err
    rc, out, _ = run_cli(capsys, "layout", str(h), "--arch", "x86_64", "--format", "table")
    assert rc == 0 and "struct ms {  /* unsupported: attribute 'ms_struct'" in out


def test_layoutset_type_raises_unsupported_for_such_a_type():
    with pytest.raises(UnsupportedError):
        lay(MS).type("struct uses")


# --- every type of the translation unit can be named ------------------------------------------------

def test_types_from_included_headers_can_be_named(tmp_path, capsys):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "inner.h").write_text("struct inner { long a; char b; };\n")
    h = tmp_path / "outer.h"
    h.write_text('#include "inner.h"\nstruct outer { struct inner i; };\n')
    rc, out, err = run_cli(capsys, "layout", str(h), "-I", str(tmp_path / "inc"), "--arch", "mips",
                           "--type", "struct inner", "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["arches"]["mips"]["types"]["struct inner"]["size"] == 8
    rc, out, _ = run_cli(capsys, "layout", str(h), "-I", str(tmp_path / "inc"), "--arch", "mips", "--list-types")
    assert rc == 0 and "struct inner" in out and "inner.h" in out
    rc, out, _ = run_cli(capsys, "layout", str(h), "-I", str(tmp_path / "inc"), "--arch", "mips", "--all-types",
                         "--format", "json")
    assert set(json.loads(out)["arches"]["mips"]["types"]) == {"struct inner", "struct outer"}


def test_builtin_type_names_can_be_asked_for():
    assert lay("struct s { int a; };").type("unsigned long").size_bytes == 8
    assert lay("struct s { int a; };").type("struct s *").size_bytes == 8


# --- the declaration table is never changed by laying it out ------------------------------------------

def test_a_table_laid_out_for_one_arch_is_unchanged_for_the_next():
    text = "enum { A = sizeof(struct { int a; }) };\nstruct after { char c[A]; };"
    from bitlayout import cfront

    tu = cfront.build_table(text, "t.h", ("t.h",))
    before = repr(tu)
    for p in (X86_64, I386, M68K):
        assert layout.layout_table(tu, p).to_contract()["types"]["struct after"]["size"] == 4
        layout.layout_table(tu, p).eval("sizeof(struct { long x; })")
    assert repr(tu) == before


# --- valid C this parser cannot read: per type, once the compiler has said it is valid ----------------

def test_a_declaration_the_parser_cannot_read_is_unsupported_when_the_compiler_accepts_the_file(
        tmp_path, monkeypatch):
    from bitlayout import toolchains
    from bitlayout.cfront import parser
    from bitlayout.errors import CParseError

    if toolchains.find_compiler(X86_64) is None:
        pytest.skip("needs a compiler for x86_64 (apt-get install -y gcc)")
    real = parser.Parser.attributes

    def stumbles(self):  # stand-in for a construct the parser does not know yet
        if self.peek(3).text == "cold":
            raise CParseError(f"{self.where(self.peek())}: cannot read attribute 'cold'")
        return real(self)

    monkeypatch.setattr(parser.Parser, "attributes", stumbles)
    h = tmp_path / "u.h"
    h.write_text("struct before { int a; };\ntypedef int odd_t __attribute__((cold));\n"
                 "struct uses { odd_t o; };\nstruct after { long b; };\n")
    c = layout.layout_headers([h], X86_64).to_contract()["types"]
    assert c["struct before"]["size"] == 4 and c["struct after"]["size"] == 8
    assert c["odd_t"]["unsupported"].startswith("cannot parse the declaration")
    assert c["struct uses"]["unsupported"].startswith("cannot parse the declaration")
    h.write_text("struct broken { int a b; };\ntypedef int odd_t __attribute__((cold));\n")
    with pytest.raises(CParseError):  # the compiler refuses it too: the file is refused
        layout.layout_headers([h], X86_64)
