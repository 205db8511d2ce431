"""The declaration memo (bitlayout/cfront/declmemo.py) never changes a parse.

A text parsed after others, replaying the declarations they share, must give exactly the table a
fresh parse gives (every item, every table entry, in order), or the same error.  Checked on real
headers (the UAPI corpus and libc headers, per arch, one arch after another: the case the memo is
for), on generated sequences of declarations whose typedefs, tags, pragmas and input files change
between two texts (hypothesis), and on the cases a replay must refuse.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bitlayout.cfront import declmemo, preprocess_for
from bitlayout.cfront.parser import parse
from bitlayout.errors import BitlayoutError
from bitlayout.profiles import load_profiles

from ctypes_strategy import c_record
from test_layout_uapi import INCLUDES, UAPI_HEADERS


def _fresh(monkeypatch, text, *args, **kw):
    monkeypatch.setenv("BITLAYOUT_NO_DECL_MEMO", "1")
    try:
        return _outcome(text, *args, **kw)
    finally:
        monkeypatch.delenv("BITLAYOUT_NO_DECL_MEMO")


def _outcome(text, *args, **kw):
    """The table as plain data (order included), or the error."""
    try:
        tu = parse(text, *args, **kw)
    except BitlayoutError as exc:
        return ("error", type(exc).__name__, str(exc))
    return (tu.items, *[list(getattr(tu, t).items()) for t in ("tags", "typedefs", "enum_constants", "variables",
                                                                "unsupported_names")])


@pytest.fixture(autouse=True)
def empty_memo():
    declmemo.clear()
    yield
    declmemo.clear()


def test_real_headers_parse_the_same_replayed_across_arches(monkeypatch):
    """The UAPI corpus and two libc headers, preprocessed per arch: each arch's parse, after the
    arches before it filled the memo, equals a fresh parse; and most of it was replayed."""
    profiles = [p for p in load_profiles() if p.name in ("x86_64", "aarch64", "arm", "mips", "ppc64", "s390x",
                                                         "riscv32", "sparc")]
    for headers, includes in ((UAPI_HEADERS, INCLUDES), (("/usr/include/stdlib.h", "/usr/include/pthread.h"), ())):
        parsed = []  # declarations each arch had to parse (the rest it replayed)
        for profile in profiles:
            try:
                text, _route, _macros = preprocess_for(headers, profile, includes)
            except BitlayoutError:
                continue  # no C library for this arch here (riscv32's <stdlib.h>)
            before = declmemo._count - declmemo.moves
            with_memo = _outcome(text, headers[0], tuple(headers))
            parsed.append(declmemo._count - declmemo.moves - before)
            assert with_memo == _fresh(monkeypatch, text, headers[0], tuple(headers)), profile.name
        if len(parsed) < 3:
            pytest.skip(f"fewer than 3 arches preprocess {headers[0]} here")
        # a cross arch's own copies of the UAPI headers have their own paths: moved there (zig's
        # riscv32 headers are other copies, not replayed)
        later = sorted(parsed[1:])
        assert parsed[0] > 0 and later[len(later) // 2] < parsed[0] / 5, parsed


def test_a_typedef_that_changed_is_not_replayed_into_a_later_declaration(monkeypatch):
    first = '# 1 "h.h"\ntypedef int T;\n# 5 "h.h"\ntypedef int T;\nstruct s { T a; };\n'
    second = '# 1 "h.h"\ntypedef long T;\n# 5 "h.h"\ntypedef int T;\nstruct s { T a; };\n'
    _outcome(first, "h.h")
    again = _outcome(second, "h.h")
    assert again == _fresh(monkeypatch, second, "h.h")
    typedef_again = next(i for i in again[0] if type(i).__name__ == "TypedefAgain")
    assert typedef_again.first.ctype.name == "long"  # the second text's own first typedef


def test_a_name_that_is_no_typedef_any_more_is_parsed_again(monkeypatch):
    first = '# 1 "h.h"\ntypedef int T;\n# 9 "h.h"\nT * p;\n'
    second = '# 1 "h.h"\nint T;\n# 9 "h.h"\nT * p;\n'
    _outcome(first, "h.h")
    assert _outcome(second, "h.h") == _fresh(monkeypatch, second, "h.h")
    assert _outcome(second, "h.h")[0] == "error"


def test_pragma_pack_state_is_part_of_what_a_replay_needs(monkeypatch):
    first = '# 1 "h.h"\n#pragma pack(1)\n# 7 "h.h"\nstruct s { char c; int i; };\n'
    second = '# 1 "h.h"\n\n# 7 "h.h"\nstruct s { char c; int i; };\n'
    _outcome(first, "h.h")
    assert _outcome(second, "h.h") == _fresh(monkeypatch, second, "h.h")
    assert not _outcome(second, "h.h")[1][0][1].attrs  # no pack attribute: parsed under no pragma


def test_input_files_decide_whether_prototypes_are_read(monkeypatch):
    # Jumped over in lib.h, only each parameter's first words are checked (GCC also refuses `y`)
    text = '# 1 "lib.h" 1\nint f(const x, y);\n'
    assert _outcome(text, "main.h", ("main.h",))[0] != "error"
    assert _outcome(text, "lib.h", ("lib.h",)) == _fresh(monkeypatch, text, "lib.h", ("lib.h",))
    assert _outcome(text, "lib.h", ("lib.h",))[0] == "error"  # in an input file: an unknown type name


def test_an_anonymous_type_is_named_by_where_it_stands_once_per_place(monkeypatch):
    twice = '# 1 "u.h"\nstruct a { struct { int x; } in; };\n# 1 "u.h"\nstruct b { struct { int x; } in; };\n'
    tu = _outcome(twice, "u.h")
    anonymous = [k for k, _v in tu[1] if "<anonymous" in k]
    assert anonymous == ["struct <anonymous at u.h:1:12>", "struct <anonymous at u.h:1:12 #2>"]
    assert _outcome(twice, "u.h") == _fresh(monkeypatch, twice, "u.h")


def test_a_declaration_moves_to_another_copy_of_its_header(monkeypatch):
    """Two sysroots' byte-identical copies of one header: the second is replayed from the first
    with every position (coordinates, files, anonymous tag keys) naming its own file."""
    body = 'typedef struct {\n int a;\n struct { int b; } in;\n} pair_t;\nstruct s { pair_t p; };\n'
    first, second = (f'# 1 "/sys/{arch}/include/x.h"\n' + body for arch in ("a", "b"))
    _outcome(first, "main.h")
    before = declmemo._count, declmemo.moves
    moved = _outcome(second, "main.h")
    assert moved == _fresh(monkeypatch, second, "main.h")
    assert (declmemo._count, declmemo.moves) == (before[0] + 2, before[1] + 2)  # both moved, none parsed
    assert "/sys/a/" not in repr(moved) and "struct <anonymous at /sys/b/include/x.h:1:9>" in repr(moved)


def test_a_function_body_is_skipped_in_the_text_the_replay_stands_in(monkeypatch):
    first = '# 1 "h.h"\nstatic inline int f(int x) { return x + 1; }\nstruct s { int a; };\n'
    second = '# 1 "h.h"\nstatic inline int f(int x) { return ({ long y = x; (int)y; }); }\nstruct s { int a; };\n'
    _outcome(first, "h.h")
    before = declmemo._count
    assert _outcome(second, "h.h") == _fresh(monkeypatch, second, "h.h")
    assert declmemo._count == before  # both replayed: the body differs, the declarations do not
    unclosed = '# 1 "h.h"\nstatic inline int f(int x) { return (x; }\nstruct s { int a; };\n'
    assert _outcome(unclosed, "h.h") == _fresh(monkeypatch, unclosed, "h.h")
    assert _outcome(unclosed, "h.h")[0] == "error"


def test_a_declaration_does_not_move_into_an_input_file(monkeypatch):
    """Prototypes are read only in input files: a copy that is one is parsed, not moved."""
    first, second = (f'# 1 "/sys/{arch}/x.h" 1\nint f(const x, y);\n' for arch in ("a", "b"))
    inputs = ("main.h", "/sys/b/x.h")
    assert _outcome(first, "main.h", inputs)[0] != "error"
    assert _outcome(second, "main.h", inputs)[0] == "error"  # as a fresh parse says
    assert _outcome(second, "main.h", inputs) == _fresh(monkeypatch, second, "main.h", inputs)


# -- generated texts -----------------------------------------------------------------------------

_SCALARS = ["int", "long", "char", "unsigned long long", "short"]


@st.composite
def _declaration(draw, slot: int) -> str:
    k = draw(st.integers(0, 3))  # few names: texts reuse them, as headers do
    kind = draw(st.sampled_from(["typedef", "struct", "var", "anon", "enum", "pack", "tagdef", "record", "func",
                                 "body"]))
    if kind == "typedef":
        return f"typedef {draw(st.sampled_from(_SCALARS))} T{k};"
    if kind == "struct":
        member = draw(st.sampled_from([f"T{k}", "int", f"struct S{k} *", "long"]))
        return f"struct S{slot} {{ {member} m; char c; }};"
    if kind == "var":
        return f"T{k} v{slot};"
    if kind == "anon":
        return f"struct {{ int a; union {{ char b; T{k} t; }}; }} a{slot};"
    if kind == "enum":
        return f"enum E{slot} {{ E{slot}_A, E{k}_B = {k} }};"
    if kind == "pack":
        return draw(st.sampled_from(["#pragma pack(1)", "#pragma pack()", "#pragma pack(push, 2)",
                                     "#pragma pack(pop)"]))
    if kind == "tagdef":
        return f"typedef struct S{k} T{k};"
    if kind == "func":
        return f"int f{slot}(T{k} x, struct S{k} *p);"
    if kind == "body":  # a definition whose body differs between the texts (arch macros do that)
        body = draw(st.sampled_from(["return x;", "return x + 1;", "return ({ int y = x; y; });",
                                     "{ return sizeof(struct S1); }", "return (x;", "}"]))
        return f"static inline int g{slot}(T{k} x) {{ {body} }}"
    record = draw(c_record(slot))
    assume("#if" not in record)
    return record


@st.composite
def _two_texts(draw):
    """Two headers with one declaration per slot (each slot at its own line marker, so the slots
    both share keep their place); the second replaces, drops or keeps each of the first's, and may
    stand in another file (another sysroot's copy of the header: replays move there), which may be
    an input file where the first was not."""
    n = draw(st.integers(1, 8))
    first = [draw(_declaration(i)) for i in range(n)]
    second = [d if draw(st.integers(0, 2)) else draw(st.one_of(st.just(""), _declaration(i)))
              for i, d in enumerate(first)]
    files = ("g.h", "/sys/a/g.h", "/sys/b/g.h", "other.h")
    first_file, second_file = draw(st.sampled_from(files)), draw(st.sampled_from(files))
    render = lambda decls, file: "".join(f'# {100 * i + 1} "{file}"\n{d}\n' for i, d in enumerate(decls))
    inputs = draw(st.sampled_from([(), ("g.h",), ("other.h",), ("/sys/a/g.h",)]))
    return render(first, first_file), render(second, second_file), inputs


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_two_texts())
def test_generated_texts_parse_the_same_after_each_other(monkeypatch, texts):
    first, second, inputs = texts
    declmemo.clear()
    _outcome(first, "g.h", inputs)
    assert _outcome(second, "g.h", inputs) == _fresh(monkeypatch, second, "g.h", inputs)
    assert _outcome(first, "g.h", inputs) == _fresh(monkeypatch, first, "g.h", inputs)
