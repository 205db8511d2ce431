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
    """pycparserext alone parses `int *p __attribute__((x))` as `int p`: we never let it."""
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
    ("struct s { int x }", CParseError, "t.h:1:"),
    ("struct s { foo_t x; };", CParseError, "t.h:1:"),
    ("struct s { struct undefined_tag x; };", LayoutError, "incomplete type 'struct undefined_tag'"),
    ("struct s { int x : -1; };", LayoutError, "negative width -1"),
    ("struct s { int x : 33; };", LayoutError, "width 33 of bit-field 'x' exceeds its type (32 bits)"),
    ("struct s { char c : 9; };", LayoutError, "exceeds its type (8 bits)"),
    ("struct s { _Bool b : 2; };", LayoutError, "exceeds its type (1 bits)"),
    ("struct s { int x : 0; };", LayoutError, "zero width for bit-field 'x'"),
    ("struct s { double d : 3; };", LayoutError, "non-integer type"),
    ("struct s { int a; struct s again; };", LayoutError, "'struct s' contains itself by value"),
    ("struct a; struct b { struct a x; };", LayoutError, "incomplete type 'struct a'"),
    ("struct s { char big[1UL << 50]; };", LayoutError, "absurd"),
    ("struct s { char neg[-1]; };", LayoutError, "negative array size -1"),
    ("struct s { char f[]; int after; };", LayoutError, "flexible array member 'f' not at the end"),
    ("struct s { int a; int a; };", LayoutError, "duplicate member 'a'"),
    ("struct s { int x __attribute__((aligned(3))); };", LayoutError, "not a positive power of 2"),
    ("typedef int v4 __attribute__((vector_size(16)));", LayoutError, "unsupported attribute 'vector_size'"),
    ("_Static_assert(sizeof(long) == 4, \"long is 4\");", LayoutError, "static assertion failed on x86_64: \"long is 4\""),
    ("enum { A = 1 / 0 };", LayoutError, "division by zero"),
    ("#pragma pack(show)\nstruct s { int a; };", LayoutError, "unsupported pragma"),
    ("#pragma pack(3)\nstruct s { int a; };", LayoutError, "#pragma pack(3): not a power of 2"),
]


@pytest.mark.parametrize("text,exc,needle", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_is_one_line_error(text, exc, needle):
    with pytest.raises(exc) as info:
        lay(text)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg, msg
    assert info.value.exit_code == 2


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
    assert f"{bad}:2:" in proc.stderr and "width 99" in proc.stderr


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


# --- parser tables: cached once in the user cache dir, nothing written to the cwd -----------------

_NO_TABLE_BUILD = """
import sys
sys.path.insert(0, {root!r})
from pycparser.ply import lex, yacc
def refuse(*a, **k):
    raise SystemExit("parser tables were regenerated")
yacc.LRGeneratedTable.__init__ = refuse        # building LALR tables
lex.Lexer.writetab = refuse                    # writing a lextab
from bitlayout.cli import main
sys.exit(main(["layout", "x.h", "--arch", "x86_64", "--builtin-cpp", "--format", "json"]))
"""


def test_parser_tables_are_cached_and_the_cwd_stays_clean(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "x.h").write_text("struct x { int a; char b; };\n")
    cache = tmp_path / "cache"
    env = {**__import__("os").environ, "BITLAYOUT_CACHE_DIR": str(cache)}
    first = subprocess.run([sys.executable, "-m", "bitlayout", "layout", "x.h", "--arch", "x86_64",
                            "--builtin-cpp", "--format", "json"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in work.iterdir()) == ["x.h"]  # no lextab.py / yacctab.py / parser.out
    tables = sorted(p.name for p in cache.glob("pycparser-*/*.py"))
    assert tables == ["_bitlayout_c_lextab.py", "_bitlayout_c_yacctab.py"]
    assert not list(cache.glob("*.tmp-*"))  # the temporary build directory was published or removed
    mtimes = {p: p.stat().st_mtime_ns for p in cache.glob("pycparser-*/*.py")}
    root = str(Path(__file__).resolve().parent.parent)
    second = subprocess.run([sys.executable, "-c", _NO_TABLE_BUILD.format(root=root)], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert {p: p.stat().st_mtime_ns for p in cache.glob("pycparser-*/*.py")} == mtimes
    assert sorted(p.name for p in work.iterdir()) == ["x.h"]


def test_a_damaged_table_cache_is_rebuilt(private_cache):
    d = cfront._tables_dir()
    cfront._new_parser()  # writes the tables into the private cache dir
    (d / "_bitlayout_c_yacctab.py").write_text("this is not python\n")
    p = cfront._new_parser()
    assert p.parse("struct s { int a; };").ext[0].type.name == "s"
    assert "not python" not in (d / "_bitlayout_c_yacctab.py").read_text()


def test_parsing_from_threads_gives_the_sequential_results():
    """Each thread has its own parser (a pycparser parser is stateful)."""
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


# --- the on-disk parse cache ----------------------------------------------------------------------

def _forget_in_memory():
    for cache in (cfront._TABLE_CACHE, cfront._EXACT_CACHE, cfront._CHUNK_CACHE, cfront._CPP_MEMO,
                  layout._SHARED):
        cache.clear()


def test_disk_cache_serves_tables_and_preprocessing_and_rechecks_files(private_cache, monkeypatch, tmp_path):
    h = tmp_path / "dc.h"
    h.write_text("#if __SIZEOF_LONG__ == 8\ntypedef long w_t;\n#else\ntypedef long long w_t;\n#endif\n"
                 "struct dc { w_t a; char b[3]; };\n")
    _forget_in_memory()
    first = {a: layout.layout_headers([h], profiles.profile_by_name(a), builtin=True).to_contract()
             for a in ("x86_64", "i386")}
    assert list(private_cache.glob("parse/tables-*/*.pickle")) and list(private_cache.glob("parse/cpp-*/*.pickle"))

    def refuse(*a, **k):
        raise AssertionError("recomputed although cached on disk")

    _forget_in_memory()
    monkeypatch.setattr(cfront, "normalize", refuse)
    monkeypatch.setattr(cfront.cpp.Preprocessor, "run_files", refuse)
    again = {a: layout.layout_headers([h], profiles.profile_by_name(a), builtin=True).to_contract()
             for a in ("x86_64", "i386")}
    assert again == first and first["x86_64"] != first["i386"]
    # a changed header is preprocessed again (mtime and size are re-checked on every use)
    h.write_text(h.read_text() + "struct dc2 { char c; };\n")
    _forget_in_memory()
    with pytest.raises(AssertionError, match="recomputed"):
        layout.layout_headers([h], X86_64, builtin=True)
    # and BITLAYOUT_NO_PARSE_CACHE=1 turns the disk cache off
    monkeypatch.undo()
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(private_cache))  # undo() dropped it too
    layout.layout_headers([h], X86_64, builtin=True)
    _forget_in_memory()
    monkeypatch.setenv("BITLAYOUT_NO_PARSE_CACHE", "1")
    monkeypatch.setattr(cfront, "normalize", refuse)
    with pytest.raises(AssertionError, match="recomputed"):
        layout.layout_headers([h], X86_64, builtin=True)


def test_arches_with_the_same_abi_share_one_layout_and_the_others_do_not():
    text = "struct s { char c; long long x; double d; long double ld; int b:3; long l; };"
    _forget_in_memory()
    got = {a: lay(text, profiles.profile_by_name(a)).to_contract() for a in
           ("x86_64", "alpha", "mips64", "i386", "m68k", "x32")}
    assert got["x86_64"] == got["alpha"] == got["mips64"]
    assert len({repr(v) for v in got.values()}) == 4  # x86_64-like, i386, m68k, x32 all differ
    assert len(layout._SHARED) == 4


# --- the built-in preprocessor's file memo and include-guard skip -------------------------------

def _cpp_run(paths, includes, defines, *, guards=True, monkeypatch=None):
    from bitlayout.cfront import cpp
    cpp.clear_caches()
    if not guards:
        monkeypatch.setattr(cpp, "_include_guard", lambda lines: None)
    pp = cpp.Preprocessor(include_dirs=list(includes), defines=defines)
    text = pp.run_files([str(p) for p in paths])
    if not guards:
        monkeypatch.undo()
    return text, pp.queried, pp.files_read, {k: (m.params, m.body) for k, m in pp.macros.items()}


GUARDED = {
    # a guard with a license comment before it, nested #if/#else (those lines emit nothing when
    # skipped by the line walk), a continuation line and blank lines after
    "g.h": "/* SPDX: a\n * comment */\n#ifndef G_H\n#define G_H\n#if A\n#define X 1\n#else\n#define X 2\n"
           "#endif\n#ifdef B\nint b;\n#endif\nstruct g { int a; \\\n char c; };\n#endif /* G_H */\n\n",
    # not a guard: an #else at the guard's own level
    "e.h": "#ifndef E_H\n#define E_H\nint e1;\n#else\nint e2;\n#endif\n",
    # not a guard: a declaration after the #endif
    "t.h": "#ifndef T_H\n#define T_H\nint t1;\n#endif\nint t2;\n",
    "main.h": '#include "g.h"\n#include "g.h"\n#include "e.h"\n#include "e.h"\n#include "t.h"\n'
              '#include "t.h"\nstruct m { int x; };\n#include "g.h"\n',
}


def test_include_guard_skip_gives_exactly_the_line_walk_output(tmp_path, monkeypatch):
    from bitlayout.cfront import cpp
    for name, text in GUARDED.items():
        (tmp_path / name).write_text(text)
    main = tmp_path / "main.h"
    used = []
    real = cpp._include_guard
    monkeypatch.setattr(cpp, "_include_guard", lambda lines: used.append(real(lines)) or used[-1])
    fast = _cpp_run([main], [], {"A": "1"})
    monkeypatch.undo()
    assert sorted(g[0] for g in used if g) == ["G_H"]  # e.h and t.h are not guards
    slow = _cpp_run([main], [], {"A": "1"}, guards=False, monkeypatch=monkeypatch)
    assert fast == slow
    assert [fast[0].count(s) for s in ("struct g", "int e1", "int e2", "int t1", "int t2")] == [1, 1, 1, 1, 2]


def test_include_guard_skip_on_the_uapi_corpus(monkeypatch):
    from test_layout_uapi import INCLUDES, UAPI_HEADERS
    if not all(Path(h).is_file() for h in UAPI_HEADERS):
        pytest.skip("Linux UAPI headers missing (apt-get install linux-libc-dev)")
    for arch in ("x86_64", "armeb"):
        defines = cfront.predefined_macros(profiles.profile_by_name(arch))
        fast = _cpp_run(UAPI_HEADERS, INCLUDES, defines)
        assert fast == _cpp_run(UAPI_HEADERS, INCLUDES, defines, guards=False, monkeypatch=monkeypatch)


def test_builtin_cpp_file_memo_sees_a_changed_file(tmp_path):
    from bitlayout.cfront import cpp
    h = tmp_path / "c.h"
    h.write_text("#ifndef C_H\n#define C_H\nint a;\n#endif\n")
    cpp.clear_caches()
    assert "int a;" in cpp.Preprocessor().run_files([str(h)])
    h.write_text("#ifndef C_H\n#define C_H\nlong bb;\n#endif\n")  # another size: a new stat
    assert "long bb;" in cpp.Preprocessor().run_files([str(h)])


# --- normalize one top-level declaration at a time ----------------------------------------------

NORM_CASES = [
    ('# 1 "a.h"\nint a; struct __attribute__((packed)) s { char c; int i __attribute__((aligned(8))); } x;\n'
    '#pragma pack(push, 2)\nstruct p { char c; long l; };\n#pragma pack(pop)\n'
    'struct q { int x; _Static_assert(sizeof(int) == 4, "a;{"); } __attribute__((aligned(sizeof(long))));\n'
    'static inline int f(void) { return __alignof__(long long); }\nchar semi = \';\'; const char *t = "};";\n'
    '# 7 "b.h"\nenum __attribute__((packed)) e { E1, E2 };  typedef int aint __attribute__((aligned(4)));\n'),
    ('# 1 "a.h"\nint a;\n#pragma pack(4)\nstruct p { char c; long l; };\n# 3 "a.h"\n'
    'struct r { short s; } __attribute__((aligned(16)));\n'),
    'struct open { int a;\n',  # never ends at file level: the whole text goes through in one piece
]


def _norm_facts(n):
    return (n.text, {k: (r.name, r.arg_text, r.index) for k, r in n.attrs.items()}, n.decl_attrs,
            n.gnu_alignof, n.chunks, n.tail_offset)


def test_normalize_by_parts_equals_normalize_in_one_piece(monkeypatch):
    cfront._NORM_CACHE.clear()
    by_parts = [_norm_facts(cfront.normalize(t, "x.h")) for t in NORM_CASES]
    again = [_norm_facts(cfront.normalize(t, "x.h")) for t in NORM_CASES]  # served from the memo
    assert len(cfront._split_top_level(NORM_CASES[0])) > 5
    monkeypatch.setattr(cfront, "_split_top_level", lambda text: [text])
    cfront._NORM_CACHE.clear()
    whole = [_norm_facts(cfront.normalize(t, "x.h")) for t in NORM_CASES]
    assert by_parts == whole == again
    assert by_parts[0][4][1:] and by_parts[0][5] > 0  # chunk boundaries and attribute-argument tail


def test_normalize_by_parts_keys_on_the_state_a_part_starts_in():
    # the same declaration after a different number of attributes / another #pragma pack
    cfront._NORM_CACHE.clear()
    decl = "struct z { char c; long l; } __attribute__((aligned(8)));\n"
    one = cfront.normalize(decl, "z.h")
    two = cfront.normalize("int k __attribute__((aligned(4)));\n#pragma pack(1)\n" + decl, "z.h")
    assert "__bl_attr_0" in one.text and "__bl_attr_1" in two.text and "__bl_attr_2" in two.text
    assert [r.name for r in two.attrs.values()] == ["aligned", "pack", "aligned"]


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
