"""The built-in preprocessor (``bitlayout.cfront.cpp`` and its ``pp*`` modules): token for token
what the arch's compiler ``-E`` gives, on real headers (every Linux UAPI header of the corpus,
libc headers of each sysroot), on the C standard's own examples and GNU extensions, and on
random macro programs; the bugs of the old line-based preprocessor; one-line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bitlayout import cfront, layout, profiles, toolchains
from bitlayout.cfront import cpp, pplex
from bitlayout.cfront.lexer import Lexer
from bitlayout.cfront.predefined import load_facts
from bitlayout.errors import CParseError
from cpp_support import LONG, compiler_E, first_difference, kind_of, require, token_stream

X86_64 = profiles.profile_by_name("x86_64")
ALL = profiles.load_profiles()
ALTERNATES = [(p.name, p.alternate.compiler) for p in ALL if p.alternate is not None]


def builtin(files: dict[str, str], tmp: Path, profile=X86_64, main="main.c", include=()) -> str:
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(textwrap.dedent(text))
    return cfront.preprocess_for([tmp / main], profile, [str(tmp / d) for d in include], builtin=True)[0]


def plain(text: str, tmp: Path, **kw) -> str:
    """Built-in preprocessing of one file, without any compiler's predefined macros."""
    (tmp / "t.h").write_text(textwrap.dedent(text))
    return cpp.Preprocessor(**kw).run_files([tmp / "t.h"])


def tokens(text: str) -> str:
    return " ".join(t for t in token_stream(text) if isinstance(t, str))


def first_positions(text: str) -> dict[str, str]:
    """token -> file:line:col of its first occurrence, as the lexer reads the output."""
    lex = Lexer(text)
    where: dict[str, str] = {}
    while (t := lex.next()).kind != "eof":
        where.setdefault(t.text, lex.where(t.offset))
    return where


# -- the old preprocessor's bugs (issue 10) ----------------------------------------------------------

def test_if_arithmetic_converts_to_unsigned_as_c_does(tmp_path):
    out = plain("""\
        #if -1 > 0u
        minus_one_is_big_unsigned
        #endif
        #if -1 < 0 && (0u - 1) >> 63 == 1 && -1 >> 63 == -1 && (1 ? -1 : 0u) > 0
        signed_and_unsigned_kept_apart
        #endif
        #if 0x7fffffffffffffff + 1 < 0 && 18446744073709551615 == -1 && 0 && 1 / 0
        never
        #endif
        """, tmp_path)
    assert tokens(out) == "minus_one_is_big_unsigned signed_and_unsigned_kept_apart"


@pytest.mark.parametrize("arch,negative", [("x86_64", True), ("arm", False), ("armeb", False)])
def test_character_constants_take_the_arch_char_signedness(tmp_path, arch, negative):
    text = "#if '\\xff' < 0\nchar_is_signed\n#endif\n"
    out = builtin({"main.c": text}, tmp_path, profiles.profile_by_name(arch))
    assert ("char_is_signed" in tokens(out)) == negative


@pytest.mark.parametrize("compiler,method", [("gcc", "2"), ("clang", "0")])
def test_float_eval_method_is_the_compilers_even_where_dM_does_not_list_it(tmp_path, compiler, method):
    """clang's __FLT_EVAL_METHOD__ is a built-in macro -dM leaves out (musl's float_t reads it)."""
    p = profiles.profile_by_name("i386").for_compiler(compiler)
    out = builtin({"main.c": "int m = __FLT_EVAL_METHOD__;\n#if __FLT_EVAL_METHOD__ == 0\nzero\n#endif\n"}, tmp_path, p)
    assert tokens(out) == f"int m = {method} ;" + (" zero" if method == "0" else "")


def test_pragma_operator_becomes_a_pragma_line_the_layout_reads(tmp_path):
    h = tmp_path / "p.h"
    h.write_text('#define PACKED _Pragma("pack(push,1)")\nPACKED struct s { char c; int i; };\n'
                 '_Pragma("pack(pop)") struct t { char c; int i; };\n')
    text = cfront.preprocess_for([h], X86_64, builtin=True)[0]
    assert "\n#pragma pack(push,1)\n" in text and "\n#pragma pack(pop)\n" in text
    ls = layout.layout_headers([h], X86_64, builtin=True)
    assert (ls.types["struct s"].size_bytes, ls.types["struct t"].size_bytes) == (5, 8)


def test_elifdef_and_elifndef(tmp_path):
    out = plain("""\
        #define HAVE
        #ifdef NOPE
        a
        #elifdef HAVE
        b
        #else
        c
        #endif
        #if 0
        #elifndef NOPE
        d
        #endif
        """, tmp_path)
    assert tokens(out) == "b d"


def test_self_referential_macro_is_left_for_the_enumerator_of_that_name(tmp_path):
    h = tmp_path / "q.h"
    h.write_text("enum { X = 5, Y = 7 };\n#define X (X - 1)\n#define A B\n#define B A\nint a = A;\n"
                 "#define Y Y\n")
    text, how, macros = cfront.preprocess_for([h], X86_64, builtin=True)
    assert how == "builtin" and "int a = A;" in text
    assert macros["X"] == "( X - 1 )"
    ls = layout.layout_headers([h], X86_64, builtin=True)
    assert ls.macros["X"] == 4 and ls.macros["Y"] == 7 and ls.eval("X * 2") == 8


def test_line_directive_moves_positions_and_keeps_the_types(tmp_path):
    h = tmp_path / "l.h"
    h.write_text("struct before { int a; };\n#line 100\nstruct after { int b; };\n"
                 '#line 7 "renamed.h"\nint renamed;\n')
    where = first_positions(cfront.preprocess_for([h], X86_64, builtin=True)[0])
    assert where["after"] == f"{h}:100:8" and where["renamed"].startswith("renamed.h:7:")
    ls = layout.layout_headers([h], X86_64, builtin=True)
    assert {"struct before", "struct after"} <= set(ls.types)


def test_every_token_keeps_its_line_and_a_line_without_macros_its_columns(tmp_path):
    h = tmp_path / "c.h"
    h.write_text("#define F(a, b) a b\n/* a comment\n   over lines */ int   x;  /* more */ long y;\n"
                 "F(int,\n  z) ; int w;\nint\n  v;\n")
    where = first_positions(cfront.preprocess_for([h], X86_64, builtin=True)[0])
    assert where["x"] == f"{h}:3:24" and where["y"] == f"{h}:3:44"
    assert where["w"].startswith(f"{h}:5:") and where["v"] == f"{h}:7:3"


# -- errors: one line, file:line, never a traceback -------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ('#ifndef NOT_DEFINED\n#error "no x86 please"\n#endif\n', 't.h:2: #error "no x86 please"'),
    ("#if 1\nint x;\n", "t.h:1: unterminated #if"),
    ("#endif\n", "t.h:1: #endif without #if"),
    ("#if 1\n#else\n#else\n#endif\n", "#else after #else"),
    ("#define F(a) a\nF(1,\n", 'unterminated argument list invoking macro "F"'),
    ("#define F(a, b) a\nF(1)\n", 'macro "F" requires 2 arguments, but only 1 given'),
    ("#define F(a) #b\n", "'#' is not followed by a macro parameter"),
    ("#define F ## a\n", "'##' cannot appear at either end of a macro expansion"),
    ("#define C(a, b) a ## b\nC(+, /)\n", 'pasting "+" and "/" does not give a valid preprocessing token'),
    ("#if 1 +\n#endif\n", "t.h:1:"),
    ("#if 1 / 0\n#endif\n", "division by zero in #if"),
    ('#include "missing.h"\n', "t.h:1: fatal error: missing.h: No such file or directory"),
    ('#include "t.h"\n', "#include nested depth 200 exceeds maximum of 200"),
    ("#foo\n", "invalid preprocessing directive #foo"),
])
def test_bad_input_is_one_line_error(tmp_path, text, needle):
    with pytest.raises(CParseError) as info:
        plain(text, tmp_path)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg, msg


def test_pathological_expansions_end_in_one_line_the_driver_hands_to_the_compiler(tmp_path):
    """Too deep or too big for the built-in preprocessor: CompilerNeeded (one line), which the
    default route answers by running the compiler (tests/test_cfront_preprocess.py)."""
    assert "int a = 1;" in plain("#define F(x) x\nint a = " + "F(" * 100 + "1" + ")" * 100 + ";\n", tmp_path)
    deep = "#define F(x) x\nint a = " + "F(" * 3000 + "1" + ")" * 3000 + ";\n"
    with pytest.raises(cpp.CompilerNeeded, match="nested too deeply|exceeds 1,000,000 tokens"):
        plain(deep, tmp_path)
    blowup = "".join(f"#define A{k + 1} A{k} A{k}\n" for k in range(40)) + "#define A0 x\nA40\n"
    with pytest.raises(cpp.CompilerNeeded, match="exceeds 1,000,000 tokens") as info:
        plain(blowup, tmp_path)
    assert "\n" not in str(info.value)


# -- the C standard's examples and GNU extensions, against the compiler ------------------------------

SNIPPETS = {
    # C11 6.10.3.5 EXAMPLE 3, 4, 5, 7 (rescanning, #, ##, placemarkers, variadic macros)
    "c11_example3": """\
        #define x 3
        #define f(a) f(x * (a))
        #undef x
        #define x 2
        #define g f
        #define z z[0]
        #define h g(~
        #define m(a) a(w)
        #define w 0,1
        #define t(a) a
        #define p() int
        #define q(x) x
        #define r(x,y) x ## y
        #define str(x) # x
        f(y+1) + f(f(z)) % t(t(g)(0) + t)(1);
        g(x+(3,4)-w) | h 5) & m
        (f)^m(m);
        p() i[q()] = { q(1), r(2,3), r(4,), r(,5), r(,) };
        char c[2][6] = { str(hello), str() };
        """,
    "c11_example4": """\
        #define str(s) # s
        #define xstr(s) str(s)
        #define debug(s, t) printf("x" # s "= %d, x" # t "= %s", \\
        x ## s, x ## t)
        #define INCFILE(n) vers ## n
        #define glue(a, b) a ## b
        #define xglue(a, b) glue(a, b)
        #define HIGHLOW "hello"
        #define LOW LOW ", world"
        debug(1, 2);
        fputs(str(strncmp("abc\\0d", "abc", '\\4') // this goes away
        == 0) str(: @\\n), s);
        xstr(INCFILE(2).h)
        glue(HIGH, LOW);
        xglue(HIGH, LOW)
        """,
    "c11_example5": """\
        #define t(x,y,z) x ## y ## z
        int j[] = { t(1,2,3), t(,4,5), t(6,,7), t(8,9,),
        t(10,,), t(,11,), t(,,12), t(,,) };
        """,
    "c11_example7": """\
        #define debug(...) fprintf(stderr, __VA_ARGS__)
        #define showlist(...) puts(#__VA_ARGS__)
        #define report(test, ...) ((test)?puts(#test):\\
        printf(__VA_ARGS__))
        debug("Flag");
        debug("X = %d\\n", x);
        showlist(The first, second, and third items.);
        report(x>y, "x is %d but y is %d", x, y);
        """,
    "unspecified_rescans": """\
        #define f(a) a*g
        #define g(a) f(a)
        f(2)(9)
        #define NIL(xxx) xxx
        #define G_0(arg) NIL(G_1)(arg)
        #define G_1(arg) NIL(arg)
        G_0(42)
        #define AA BB
        #define BB AA
        AA BB
        #define ff(x) x ff
        ff(1)(2)
        #define obj ff
        obj(3)(4)
        """,
    "va_opt": """\
        #define F(...) f(0 __VA_OPT__(,) __VA_ARGS__)
        #define G(X, ...) f(0, X __VA_OPT__(,) __VA_ARGS__)
        #define SDEF(sname, ...) S sname __VA_OPT__(= { __VA_ARGS__ })
        #define EMP
        F(a,b,c) F() F(EMP) G(a,b,c) G(a,) G(a) SDEF(foo); SDEF(bar, 1, 2);
        #define H(...) #__VA_OPT__(x  y) a ## __VA_OPT__(b c) ## d __VA_OPT__(p ## __VA_ARGS__ ## q)
        H() H(1) H(EMP)
        """,
    "gnu_variadics": """\
        #define E(fmt, ...) p(fmt, ## __VA_ARGS__)
        E(x) E(x,) E(x, y) E()
        #define N(args...) n(args) m(0, ##args)
        N() N(1,2)
        #define V(...) v(0, ##__VA_ARGS__)
        V() V(1)
        """,
    "stringify_spacing": """\
        #define str(x) #x
        #define xstr(x) str(x)
        #define EE a  +   b
        #define H(x) [x]
        xstr(EE) xstr(-EE) xstr(- EE) xstr( EE ) str( a  "b\\n" '\\'' c ) xstr(H(EE)) xstr(H( EE )x)
        str(/* c */ x /* c */ y) str(L"w" 'q' "\\\\") xstr(__LINE__) xstr(str(str))
        """,
    "conditionals": """\
        #define ZERO 0
        #define ONE() 1
        #define D defined(ZERO) && defined ONE
        #if D && ONE() && !ZERO && (ZERO ? 1/ZERO : 2) == 2 && (1, 2) == 2
        yes1
        #elif garbage (
        #endif
        #if 0
        don't care ' about "this
        #if garbage
        #endif
        #else
        yes2
        #endif
        #if 'a' == 97 && 'ab' == 24930 && L'a' == 97 && u'\\xffff' > 0 && '\\377' != 0 && 0b101 == 5 && 010 == 8
        yes3
        #endif
        #ifndef ZERO
        #elifdef ONE
        yes4
        #endif
        #if __has_attribute(packed) && __has_builtin(__builtin_expect) && __has_attribute(__packed__)
        yes5
        #endif
        """,
    "dynamic_macros": """\
        #define L __LINE__
        #define F(x) x L
        int a = __LINE__, b = L, c = F(
          __LINE__);
        int d[] = { __COUNTER__, __COUNTER__ };
        const char *e = __FILE__, *f = __BASE_FILE__, *g = __FILE_NAME__;
        int h = __INCLUDE_LEVEL__;
        #line 50
        int i = __LINE__;
        #line 60 "renamed.h"
        int j = __LINE__; const char *k = __FILE__;
        # 70 "marker.h"
        int l = __LINE__;
        """,
    "pragmas": """\
        #define N 4
        #pragma pack(push, N)
        #define P(x) _Pragma(#x)
        P(pack(pop)) int z;
        #pragma once
        #define KEEP 1
        #pragma push_macro("KEEP")
        #undef KEEP
        #define KEEP 2
        int k2 = KEEP;
        #pragma pop_macro("KEEP")
        int k1 = KEEP;
        #pragma GCC diagnostic push
        #pragma weak w
        _Pragma("GCC diagnostic pop") int after;
        #pragma scalar_storage_order big-endian
        """,
    "lexing": """\
        %:define DIG <: :> <% %>
        DIG
        #define SPLICE ab\\
        cd
        SPLI\\
        CE int x = 1.e+5 + 0x1p-3 + .5;
        # /* null directive */
        #ident "hello"
        int y = L'x' + u8"z"[0] + U"w"[0];
        #define paste(a, b) a ## b
        paste(1, e) paste(-, >) paste(<, <=) paste(L, "s") paste(., 5)
        """,
}

INCLUDE_SNIPPET = {
    "main.c": """\
        #include "sub/a.h"
        #include <b.h>
        #define HDR <c.h>
        #include HDR
        #define QH "sub/a.h"
        #include QH
        #if __has_include(<b.h>) && __has_include("sub/a.h") && !__has_include(<nope.h>)
        has_include_works
        #endif
        #include "once.h"
        #include "once.h"
        #import "imp.h"
        #import "imp.h"
        int level = __INCLUDE_LEVEL__;
        """,
    "sub/a.h": "#ifndef A_H\n#define A_H\nint a_file = __INCLUDE_LEVEL__; const char *af = __FILE__;\n"
               '#include "near.h"\n#endif\n',
    "sub/near.h": "int near;\n",
    "i1/b.h": "int b_first;\n#include_next <b.h>\n",
    "i2/b.h": "int b_second;\n#if __has_include_next(<b.h>)\nthere_is_a_third\n#endif\n",
    "i2/c.h": "int c_from_i2;\n",
    "once.h": "#pragma once\nint once_only;\n",
    "imp.h": "int imported;\n",
}


def _compare(tmp_path, profile, files, include=()):
    compiler = require(profile)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    main = tmp_path / "main.c"
    dirs = [str(tmp_path / d) for d in include]
    expected, err = compiler_E(compiler, [main], dirs)
    try:
        got = cfront.preprocess_for([main], profile, dirs, builtin=True)[0]
    except CParseError as exc:
        assert expected is None, f"built-in rejects what {compiler.identity} accepts: {exc}"
        return
    assert expected is not None, f"built-in accepts what {compiler.identity} rejects: {err.strip()[:300]}"
    a, b = token_stream(expected), token_stream(got)
    assert a == b, first_difference(a, b)


@pytest.mark.parametrize("arch", ["x86_64", "armeb"])
@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_standard_examples_and_gnu_extensions_match_the_compiler(tmp_path, arch, name):
    _compare(tmp_path, profiles.profile_by_name(arch), {"main.c": SNIPPETS[name]})


@pytest.mark.parametrize("arch", ["x86_64", "armeb"])
def test_include_forms_match_the_compiler(tmp_path, arch):
    _compare(tmp_path, profiles.profile_by_name(arch), INCLUDE_SNIPPET, include=("i1", "i2"))


# -- real headers, every arch -------------------------------------------------------------------------

def _same_tokens(profile, paths, include_dirs=()):
    compiler = require(profile)
    expected, err = compiler_E(compiler, paths, include_dirs)
    if expected is None:
        with pytest.raises(CParseError):
            cfront.preprocess_for(paths, profile, include_dirs, builtin=True)
        return
    got, how, _ = cfront.preprocess_for(paths, profile, include_dirs, builtin=True)
    assert how == "builtin"
    a, b = token_stream(expected), token_stream(got)
    assert a == b, first_difference(a, b)


@pytest.mark.parametrize("arch", [p.name for p in ALL])
def test_uapi_corpus_is_token_identical_to_the_compiler(arch):
    from test_layout_uapi import INCLUDES, UAPI_HEADERS

    if not all(Path(h).is_file() for h in UAPI_HEADERS):
        pytest.skip("Linux UAPI headers missing; install: apt-get install -y linux-libc-dev")
    _same_tokens(profiles.profile_by_name(arch), list(UAPI_HEADERS), list(INCLUDES))


@pytest.mark.parametrize("arch,compiler", ALTERNATES, ids=[f"{a}-{c}" for a, c in ALTERNATES])
def test_uapi_corpus_is_token_identical_with_the_alternate_compiler(arch, compiler):
    from test_layout_uapi import INCLUDES, UAPI_HEADERS

    if not all(Path(h).is_file() for h in UAPI_HEADERS):
        pytest.skip("Linux UAPI headers missing; install: apt-get install -y linux-libc-dev")
    _same_tokens(profiles.profile_by_name(arch).for_compiler(compiler), list(UAPI_HEADERS), list(INCLUDES))


LIBC_HEADERS = ("stdint.h stdlib.h stdio.h pthread.h sys/socket.h netinet/in.h signal.h sys/stat.h termios.h "
                "tgmath.h stdatomic.h").split()
MORE_LIBC_HEADERS = ("string.h stddef.h limits.h inttypes.h errno.h fcntl.h unistd.h time.h sys/types.h "
                     "sys/time.h sys/mman.h sys/ioctl.h wchar.h wctype.h ctype.h math.h complex.h float.h "
                     "stdarg.h stdbool.h assert.h locale.h setjmp.h dirent.h dlfcn.h elf.h endian.h fenv.h "
                     "getopt.h glob.h grp.h iconv.h langinfo.h libgen.h link.h malloc.h netdb.h poll.h pwd.h "
                     "regex.h sched.h search.h semaphore.h spawn.h syslog.h ucontext.h utmp.h arpa/inet.h "
                     "net/if.h netinet/tcp.h sys/epoll.h sys/resource.h sys/select.h sys/uio.h sys/un.h "
                     "sys/utsname.h sys/wait.h sys/param.h sys/sysmacros.h sys/statvfs.h sys/auxv.h "
                     "sys/prctl.h sys/random.h err.h resolv.h").split()


@pytest.mark.parametrize("arch", [p.name for p in ALL])
def test_libc_headers_alone_are_token_identical_to_the_compiler(arch, tmp_path):
    """Each header of the arch's libc included alone (BITLAYOUT_LONG_TESTS=1: 76 headers, and
    with the alternate compiler too)."""
    p = profiles.profile_by_name(arch)
    variants = [p] + ([p.for_compiler(p.alternate.compiler)] if LONG and p.alternate else [])
    for variant in variants:
        if toolchains.find_compiler(variant, kind_of(variant)) is None and variant is not p:
            continue
        for h in LIBC_HEADERS + (MORE_LIBC_HEADERS if LONG else []):
            src = tmp_path / (h.replace("/", "_") + ".c")
            src.write_text(f"#include <{h}>\n")
            _same_tokens(variant, [src])


# -- random macro programs against the host gcc ---------------------------------------------------------

def _random_programs():
    from hypothesis import strategies as st

    names = ["A", "B", "F", "G", "H"]
    atom = st.sampled_from(["x", "y", "1", "+", "-", "(", ")", ",", "0x1u", '"s"', "'c'", "a.b", "<", ">"])

    @st.composite
    def body(draw, params, variadic):
        parts = []
        for _ in range(draw(st.integers(0, 7))):
            choice = draw(st.integers(0, 9))
            if params and choice < 3:
                parts.append(draw(st.sampled_from(params)))
            elif choice < 5:
                parts.append(draw(st.sampled_from(names)))
            elif params and choice == 5:
                parts.append("#" + draw(st.sampled_from(params)))
            elif parts and choice == 6:
                parts.append("##")
            elif variadic and choice == 7:
                parts.append("__VA_OPT__(" + draw(st.sampled_from(["x", ",", "__VA_ARGS__", "y ## z", ""])) + ")")
            else:
                parts.append(draw(atom))
        while parts and parts[0] == "##":
            parts.pop(0)
        while parts and parts[-1] == "##":
            parts.pop()
        return " ".join(parts)

    @st.composite
    def program(draw):
        lines = []
        for name in names:
            if draw(st.booleans()):
                lines.append(f"#define {name} {draw(body([], False))}")
            else:
                params = ["p", "q", "r"][:draw(st.integers(0, 3))]
                variadic = draw(st.booleans())
                used = params + (["__VA_ARGS__"] if variadic else [])
                lines.append(f"#define {name}({', '.join(params + (['...'] if variadic else []))}) "
                             f"{draw(body(used, variadic))}")
        lines += ["#define S(x) #x", "#define X(x) S(x)"]
        for _ in range(draw(st.integers(1, 4))):
            toks = draw(st.lists(st.sampled_from(names + ["(", ")", ",", "x", "1", "\n", "__LINE__", "S(", "X("]),
                                 max_size=14))
            depth = sum(t.endswith("(") for t in toks) - toks.count(")")
            lines.append(" ".join(toks) + " )" * max(depth, 0) + " ;")
        a, b = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
        op = draw(st.sampled_from(["<", ">", "==", "/", "%", "<<", ">>", "-", "*", "&&", "||", "?"]))
        suffix = draw(st.sampled_from(["", "u", "U", "l", "ul"]))
        expr = f"{a}{suffix} ? {b} : -1" if op == "?" else f"{a}{suffix} {op} {b}"
        lines.append(f"#if ({expr}) > 0\nyes\n#else\nno\n#endif")
        return "\n".join(lines) + "\n"

    return program()


def test_random_macro_programs_match_gcc(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings

    compiler = require(X86_64)
    directory = tmp_path_factory.mktemp("random")

    @settings(max_examples=400 if LONG else 120, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(_random_programs())
    def check(source):
        path = directory / "r.c"
        path.write_text(source)
        expected, err = compiler_E(compiler, [path])
        try:
            got = cpp.Preprocessor(facts=load_facts(X86_64)).run_files([path])
        except CParseError as exc:
            assert expected is None, f"built-in rejects what gcc accepts: {exc}\n{source}"
            assert "\n" not in str(exc)
            return
        assert expected is not None, f"built-in accepts what gcc rejects: {err.strip()[:200]}\n{source}"
        a, b = token_stream(expected), token_stream(got)
        assert a == b, first_difference(a, b) + "\n" + source

    check()


# -- the file memo and GCC's include-guard skip ------------------------------------------------------------

GUARDED = {
    # a guard with a license comment before it, nested #if/#else, a continuation line and blank
    # lines after
    "g.h": "/* SPDX: a\n * comment */\n#ifndef G_H\n#define G_H\n#if A\n#define X 1\n#else\n#define X 2\n"
           "#endif\n#ifdef B\nint b;\n#endif\nstruct g { int a; \\\n char c; };\n#endif /* G_H */\n\n",
    # not a guard: an #else at the guard's own level
    "e.h": "#ifndef E_H\n#define E_H\nint e1;\n#else\nint e2;\n#endif\n",
    # not a guard: a declaration after the #endif
    "t.h": "#ifndef T_H\n#define T_H\nint t1;\n#endif\nint t2;\n",
    "main.h": '#include "g.h"\n#include "g.h"\n#include "e.h"\n#include "e.h"\n#include "t.h"\n'
              '#include "t.h"\nstruct m { int x; };\n#include "g.h"\n',
}


def _cpp_run(paths, includes, facts, *, guards=True, monkeypatch=None):
    pplex.clear_caches()
    if not guards:
        monkeypatch.setattr(pplex, "include_guard", lambda lines: None)
    pp = cpp.Preprocessor(includes, facts=facts)
    text = pp.run_files([str(p) for p in paths])
    if not guards:
        monkeypatch.undo()
    pplex.clear_caches()
    positions = []
    lex = Lexer(text)
    while (t := lex.next()).kind != "eof":
        positions.append((t.text, lex.where(t.offset)))
    return (positions, pp.queried, pp.files_read,
            {k: getattr(m, "definition", m) for k, m in pp.macros.items()})


def test_include_guard_skip_gives_exactly_what_walking_the_file_gives(tmp_path, monkeypatch):
    for name, text in GUARDED.items():
        (tmp_path / name).write_text(text)
    main = tmp_path / "main.h"
    facts = load_facts(X86_64)
    pplex.clear_caches()
    guards = {name: pplex.read_source(str(tmp_path / name)).guard for name in GUARDED}
    assert guards == {"g.h": "G_H", "e.h": None, "t.h": None, "main.h": None}
    fast = _cpp_run([main], [], facts)
    assert fast == _cpp_run([main], [], facts, guards=False, monkeypatch=monkeypatch)
    assert [sum(t == s for t, _w in fast[0]) for s in ("g", "e1", "e2", "t1", "t2")] == [1, 1, 1, 1, 2]


def test_include_guard_skip_on_the_uapi_corpus(monkeypatch):
    from test_layout_uapi import INCLUDES, UAPI_HEADERS

    if not all(Path(h).is_file() for h in UAPI_HEADERS):
        pytest.skip("Linux UAPI headers missing; install: apt-get install -y linux-libc-dev")
    for arch in ("x86_64", "armeb"):
        facts = load_facts(profiles.profile_by_name(arch))
        fast = _cpp_run(UAPI_HEADERS, INCLUDES, facts)
        assert fast == _cpp_run(UAPI_HEADERS, INCLUDES, facts, guards=False, monkeypatch=monkeypatch)


def test_file_memo_sees_a_changed_file(tmp_path):
    h = tmp_path / "c.h"
    h.write_text("#ifndef C_H\n#define C_H\nint a;\n#endif\n")
    pplex.clear_caches()
    assert "int a;" in cpp.Preprocessor().run_files([str(h)])
    h.write_text("#ifndef C_H\n#define C_H\nlong bb;\n#endif\n")  # another size: a new stat
    assert "long bb;" in cpp.Preprocessor().run_files([str(h)])
