"""The C front end: GNU C that kernel/UAPI headers use, the built-in preprocessor, and one-line
errors for bad input (file:line:col for syntax errors, the arch for a failing _Static_assert)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bitlayout import cfront, layout, profiles
from bitlayout.errors import BitlayoutError, CParseError, LayoutError

HEADERS = Path(__file__).resolve().parent / "headers"
X86_64 = profiles.profile_by_name("x86_64")
I386 = profiles.profile_by_name("i386")


def lay(text: str, profile=X86_64, name="t.h"):
    return layout.layout_text(text, profile, name, (name,))


def test_gnu_attributes_in_every_position_are_recorded():
    tu = cfront.build_table(
        "struct __attribute__((packed)) a { int x __attribute__((aligned(8))); char y:3 __attribute__((packed)); }"
        " __attribute__((aligned(16)));\n"
        "struct b { __attribute__((aligned(4))) short s; int *p __attribute__((aligned(16))); int z[3] "
        "__attribute__((__aligned__(sizeof(long)))); };\n"
        "typedef int aint __attribute__((aligned(8)));\n", "t.h", ("t.h",))
    a = tu.tags["struct a"]
    assert [x.name for x in a.attrs] == ["packed", "aligned"]
    assert [(f.name, [x.name for x in f.attrs]) for f in a.fields] == [("x", ["aligned"]), ("y", ["packed"])]
    b = tu.tags["struct b"]
    assert [(f.name, f.ctype.kind, [x.name for x in f.attrs]) for f in b.fields] == [
        ("s", "scalar", ["aligned"]), ("p", "pointer", ["aligned"]), ("z", "array", ["aligned"])]
    assert [x.name for x in tu.typedefs["aint"].attrs] == ["aligned"]


def test_pointer_and_array_declarators_survive_attributes():
    """An attribute after a declarator applies to that declarator, whatever it derives."""
    ls = lay("struct s { char c; int *p __attribute__((aligned(16))); int z[3] __attribute__((aligned(8))); };")
    t = ls.types["struct s"].to_contract()
    assert t["members"] == [{"name": "c", "offset_bits": 0, "size_bits": 8},
                            {"name": "p", "offset_bits": 128, "size_bits": 64},
                            {"name": "z", "offset_bits": 192, "size_bits": 96}]


def test_extensions_and_tolerated_constructs():
    ls = lay("""
        typedef __typeof__(sizeof(int)) sz_t; typedef __typeof__(int) i_t;
        struct s { __extension__ union { int q; long r; }; __signed__ char c; _Alignas(8) int t; unsigned __int128 big;
                   _Static_assert(sizeof(int) == 4, "inside"); };
        static inline int f(int x) { __asm__ __volatile__("" ::: "memory"); return x + 1; }
        extern int g(struct s *p);
        static_assert(sizeof(struct s) == 48, "outside");
        enum { A = __alignof__(long long), B = _Alignof(long long), C = __builtin_offsetof(struct s, t) };
    """)
    assert ls.types["sz_t"].size_bytes == 8 and ls.types["i_t"].size_bytes == 4
    assert [m["name"] for m in ls.types["struct s"].to_contract()["members"]] == ["q", "r", "c", "t", "big"]
    assert ls.enum_constants == {"A": 8, "B": 8, "C": 16}


def test_gnu_alignof_differs_from_c11_alignof_on_i386():
    ls = lay("enum { GNU = __alignof__(long long), C11 = _Alignof(long long), D = __alignof__(double) };", I386)
    assert ls.enum_constants == {"GNU": 8, "C11": 4, "D": 8}
    assert ls.eval("__alignof__(long long) * 10 + _Alignof(long long)") == 84


def test_eval_sizeof_offsetof_macros_per_arch():
    ls = layout.layout_headers([HEADERS / "ifarch.h"], profiles.profile_by_name("mips"))
    assert ls.macros == {"IF_BITS_PER_LONG": 32}
    assert ls.eval("sizeof(struct if_pasted)") == 24
    assert ls.eval("offsetof(struct if_pasted, w)") == 16
    assert ls.types["struct if_order"].to_contract()["members"][0]["name"] == "big"


@pytest.mark.parametrize("arch", ["mips", "x86_64", "m68k", "aarch64_be", "arc"])
def test_builtin_preprocessor_takes_the_same_branches_as_the_compiler(arch):
    p = profiles.profile_by_name(arch)
    builtin = layout.layout_headers([HEADERS / "ifarch.h"], p, builtin=True)
    assert cfront.preprocess_for([HEADERS / "ifarch.h"], p, builtin=True)[1] == "builtin"
    try:
        real = layout.layout_headers([HEADERS / "ifarch.h"], p, builtin=False)
    except BitlayoutError as exc:
        pytest.skip(f"no compiler for {arch}: {exc}")
    assert builtin.to_contract() == real.to_contract()
    assert builtin.macros == real.macros


def test_builtin_preprocessor_directives(tmp_path):
    from bitlayout.cfront.cpp import Preprocessor

    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "x.h").write_text("#define X_VAL 3\n")
    src = tmp_path / "a.h"
    src.write_text('#include <x.h>\n#define F(a, ...) a + sizeof((int[]){__VA_ARGS__})\n'
                   '#if X_VAL > 2 && defined X_VAL\nint y = F(1, 2, 3);\n#elif 1\nint wrong;\n#endif\n'
                   '/* comment\n spanning */ int z = X_VAL; // tail\n')
    out = Preprocessor([tmp_path / "inc"], {}).run_files([src])
    assert "inty=1+sizeof((int[]){2,3});" in out.replace(" ", "")
    assert "wrong" not in out and "int z = 3;" in out


BAD = [
    ("struct s { int x; ", CParseError, "t.h:1:10: '{' is never closed"),
    ("struct s { foo_t x; };", CParseError, "t.h:1:12: unknown type name 'foo_t'"),
    ("struct s { struct undefined_tag x; };", LayoutError, "field 'x' has incomplete type 'struct undefined_tag'"),
    ("struct s { int x : -1; };", LayoutError, "negative width in bit-field 'x'"),
    ("struct s { int x : 33; };", LayoutError, "width 33 of 'x' exceeds its type (32 bits)"),
    ("struct s { char c : 9; };", LayoutError, "exceeds its type (8 bits)"),
    ("struct s { _Bool b : 2; };", LayoutError, "exceeds its type (1 bits)"),
    ("struct s { int x : 0; };", LayoutError, "zero width for bit-field 'x'"),
    ("struct s { double d : 3; };", LayoutError, "bit-field 'd' has invalid type 'double'"),
    ("struct s { int a; struct s again; };", LayoutError, "field 'again' has incomplete type 'struct s'"),
    ("struct a; struct b { struct a x; };", LayoutError, "incomplete type 'struct a'"),
    ("struct s { char big[1UL << 63]; };", LayoutError, "size of array is too large"),
    ("struct s { char neg[-1]; };", LayoutError, "size of array is negative (-1)"),
    ("struct s { char f[]; int after; };", LayoutError, "flexible array member 'f' not at end of 'struct s'"),
    ("struct s { int a; int a; };", LayoutError, "duplicate member 'a'"),
    ("struct s { int x __attribute__((aligned(3))); };", LayoutError, "not a positive power of 2"),
    ("typedef int v3 __attribute__((vector_size(12)));", LayoutError, "number of vector components 3 not a power"),
    ("_Static_assert(sizeof(long) == 4, \"long is 4\");", LayoutError, "static assertion failed on x86_64: long is 4"),
    ("enum { A = 1 / 0 };", LayoutError, "division by zero"),
    ("typedef int a; typedef long a;", LayoutError, "conflicting types for 'a'"),
    ("enum { A }; enum { A };", LayoutError, "redeclaration of enumerator 'A'"),
    ("struct t { int a; }; union t *p;", LayoutError, "'t' defined as wrong kind of tag"),
    ("struct t { int a; }; struct t { int a; };", LayoutError, "redefinition of 'struct t'"),
    ("typedef int x; int x;", LayoutError, "'x' redeclared as a different kind of symbol"),
    ("__int128 on_i386_only;", None, ""),
]


@pytest.mark.parametrize("text,exc,needle", [b for b in BAD if b[1]], ids=[b[2][:30] for b in BAD if b[1]])
def test_bad_input_is_one_line_error(text, exc, needle):
    with pytest.raises(exc) as info:
        lay(text)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg, msg
    assert info.value.exit_code == 2


def test_what_gcc_rejects_on_one_arch_only_is_rejected_there():
    lay("struct s { char a[0x80000000u]; };")  # 2 GiB: fine on 64-bit
    with pytest.raises(LayoutError, match="size of array is too large"):
        lay("struct s { char a[0x80000000u]; };", I386)
    with pytest.raises(LayoutError, match="'__int128' is not supported on i386"):
        lay("struct s { __int128 x; };", I386)
    with pytest.raises(LayoutError, match="conflicting types for 'w'"):
        lay("typedef int w[sizeof(long)]; typedef int w[8];", I386)
    lay("typedef int w[sizeof(long)]; typedef int w[8];")


def test_static_assert_names_the_failing_arch():
    text = '_Static_assert(sizeof(void *) == 8, "64-bit only");'
    lay(text, X86_64)
    with pytest.raises(LayoutError, match="static assertion failed on i386"):
        lay(text, I386)


def test_by_value_recursion_through_typedef_is_caught():
    with pytest.raises(LayoutError):
        lay("typedef struct s s_t; struct s { int a; s_t inner; };")


def test_missing_file_and_cli_errors_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.h"
    bad.write_text("struct s {\n  int x : 99;\n};\n")
    for argv in (["layout", str(bad), "--arch", "x86_64"], ["layout", str(tmp_path / "missing.h")],
                 ["layout", str(HEADERS / "basic.h"), "--arch", "nonesuch"]):
        proc = subprocess.run([sys.executable, "-m", "bitlayout", *argv], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "bitlayout", "layout", str(bad), "--arch", "x86_64"],
                          capture_output=True, text=True, timeout=120)
    assert f"{bad}:2:" in proc.stderr and "width 99 of 'x' exceeds its type" in proc.stderr


def test_unterminated_if_and_error_directive_in_builtin_cpp(tmp_path):
    h = tmp_path / "e.h"
    h.write_text("#if 1\nint x;\n")
    with pytest.raises(CParseError, match="unterminated #if"):
        cfront.preprocess_for([h], X86_64, builtin=True)
    h.write_text('#ifdef __x86_64__\n#error "no x86 please"\n#endif\n')
    with pytest.raises(CParseError, match="#error"):
        cfront.preprocess_for([h], X86_64, builtin=True)


def test_pointee_is_laid_out_on_demand():
    ls = lay("struct list { struct list *next; int v; }; struct holder { char c; struct list *head; };")
    ptr = ls.types["struct holder"].members[1].type
    assert ptr.kind == "pointer" and ptr.element is None
    assert ls.pointee(ptr).name == "struct list" and ls.pointee(ptr).size_bytes == 16


def test_parsing_from_threads_gives_the_sequential_results():
    """Parsing and laying out from threads gives the sequential results (no shared parser state)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = ["".join(f"typedef int t{k}_{i}; struct s{k}_{i} {{ t{k}_{i} a; char b[{i + 1}]; }};\n"
                     for i in range(40)) for k in range(8)]

    calls = iter(range(10**6))

    def sizes(text):
        ls = lay(text, name=f"thread{next(calls)}.h")  # a new file name: no parse cache can answer
        return {n: t.size_bytes for n, t in ls.types.items()}

    expected = [sizes(t) for t in texts]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: a shared parser corrupts within a few chunks
    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(sizes, texts * 3))
    finally:
        sys.setswitchinterval(old)
    assert got == expected * 3


def _forget_in_memory():
    cfront.clear_caches()
    layout._SHARED.clear()


def test_arches_with_the_same_abi_share_one_layout_and_the_others_do_not():
    text = "struct s { char c; long long x; double d; long double ld; int b:3; long l; };"
    _forget_in_memory()
    got = {a: lay(text, profiles.profile_by_name(a)).to_contract() for a in
           ("x86_64", "alpha", "mips64", "i386", "m68k", "x32")}
    assert got["x86_64"] == got["alpha"] == got["mips64"]
    assert len({repr(v) for v in got.values()}) == 4  # x86_64-like, i386, m68k, x32 all differ
    assert sum(len(sets) for _, by_abi in layout._SHARED.values() for sets in by_abi.values()) == 4


def test_strict_alignment_splits_a_shared_layout_only_where_a_type_reads_it():
    """x86_64 and mips64 differ only in GCC's STRICT_ALIGNMENT: a table without user-aligned
    aggregates is one computation, one with them is laid out per arch, in either order."""
    plain = "struct s { char c; long l; };"
    _forget_in_memory()
    for a in ("x86_64", "mips64"):
        lay(plain, profiles.profile_by_name(a))
    assert sum(len(sets) for _, by_abi in layout._SHARED.values() for sets in by_abi.values()) == 1
    aligned = ("typedef float v32 __attribute__((vector_size(32)));"
               "struct s8 { int a, b; } __attribute__((aligned(8)));"
               "struct in_s8 { v32 v; struct s8 s; };")
    alone = {}
    for a in ("x86_64", "mips64"):
        _forget_in_memory()
        alone[a] = lay(aligned, profiles.profile_by_name(a)).types["struct in_s8"].align_bytes
    assert alone == {"x86_64": 32, "mips64": 16}  # measured with gcc 12 (-S, _Alignof)
    for order in (("x86_64", "mips64"), ("mips64", "x86_64")):
        _forget_in_memory()
        got = {a: lay(aligned, profiles.profile_by_name(a)).types["struct in_s8"].align_bytes
               for a in order}
        assert got == alone


def test_a_compiler_E_failure_reports_the_diagnostic_even_under_an_error_named_path(tmp_path, capsys):
    """The one-line error is the compiler's diagnostic, not the first line that happens to
    contain "error" (here the directory name)."""
    from bitlayout.cli import main
    from bitlayout.toolchains import find_compiler

    if find_compiler(profiles.profile_by_name("x86_64")) is None:
        pytest.skip("no compiler for x86_64 (install: pip install ziglang)")
    d = tmp_path / "error_case"
    d.mkdir()
    (d / "x.h").write_text('#include "nope.h"\nstruct a { int x; };\n')
    assert main(["layout", str(d / "x.h"), "--arch", "x86_64"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.h" in err and "error" in err
