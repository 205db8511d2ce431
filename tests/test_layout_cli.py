"""`bitlayout layout`: the bitlayout.layout/1 JSON contract, the pahole-like table, compare."""

from __future__ import annotations

import json

from bitlayout.cli import main
from test_layout_support import HEADERS_DIR

BASIC = str(HEADERS_DIR / "basic.h")
BITS = str(HEADERS_DIR / "bitfields.h")


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["layout", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_is_the_contract_for_every_type_and_arch(capsys):
    rc, out, _ = run(capsys, BASIC, "--arch", "mips,x86_64,i386", "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and doc["schema"] == "bitlayout.layout/1"
    assert list(doc["arches"]) == ["i386", "mips", "x86_64"]
    mips = doc["arches"]["mips"]["types"]
    assert mips["vm_flags_t"] == {"size": 8, "align": 4, "members": []}
    assert doc["arches"]["x86_64"]["types"]["vm_flags_t"] == {"size": 8, "align": 8, "members": []}
    assert set(mips) >= {"struct basic_scalars", "basic_t", "basic2_t", "struct basic_nested", "union basic_union",
                         "vma_flags_t", "struct basic_fam", "struct basic_empty"}
    nested = mips["struct basic_nested"]
    # anonymous struct/union members are flattened with absolute offsets, declaration order kept
    assert [m["name"] for m in nested["members"]] == ["tag", "inner", "tail", "u", "x", "y", "z", "w"]
    assert all(set(m) == {"name", "offset_bits", "size_bits"} for t in mips.values() for m in t["members"])
    assert doc["arches"]["i386"]["types"]["struct basic_ll"]["members"][1] == {
        "name": "x", "offset_bits": 32, "size_bits": 64}


def test_json_type_filter_and_bitfield_widths(capsys):
    rc, out, _ = run(capsys, BITS, "--arch", "armeb", "--type", "struct bf_basic", "--format", "json")
    types = json.loads(out)["arches"]["armeb"]["types"]
    assert list(types) == ["struct bf_basic"]
    assert [(m["name"], m["offset_bits"], m["size_bits"]) for m in types["struct bf_basic"]["members"]] == [
        ("a", 0, 1), ("b", 1, 2), ("c", 3, 3), ("d", 6, 5)]


def test_table_shows_holes_padding_cachelines_and_bit_positions(capsys):
    rc, out, _ = run(capsys, BASIC, BITS, "--arch", "mips", "--type", "struct basic_nested", "--type",
                     "struct bf_ll", "--format", "table")
    assert rc == 0
    assert "== mips (BE32, cacheline 32) ==" in out
    assert "cacheline 1 boundary (32 bytes)" in out
    assert "XXX 7 byte hole" in out  # tag (1 byte) then inner (8-aligned)
    assert "x:40" in out and "bits 8..47, value bit 16 of 64-bit unit" in out
    assert "padding: 4" in out


def test_table_shows_declared_types_and_anonymous_members_nested_as_pahole_does(capsys, tmp_path):
    header = tmp_path / "vma.h"
    header.write_text("struct mm; typedef struct { int counter; } atomic_t;\n"
                      "struct vma { union { struct { unsigned long start, end; }; long rcu[2]; };\n"
                      "  struct mm *mm; atomic_t refs; unsigned long flags[2]; struct { int a; } shared;\n"
                      "  unsigned bits : 3; };\n")
    rc, out, _ = run(capsys, str(header), "--arch", "x86_64", "--type", "struct vma", "--format", "table")
    lines = [" ".join(ln.split()) for ln in out.splitlines()]
    assert rc == 0 and "<anonymous" not in out
    for line in ("union {", "struct {", "unsigned long start; /* 0 8 */", "}; /* 0 16 */", "long rcu[2]; /* 0 16 */",
                 "struct mm * mm; /* 16 8 */", "atomic_t refs; /* 24 4 */", "/* XXX 4 byte hole */",
                 "unsigned long flags[2]; /* 32 16 */", "int a; /* 48 4 */", "} shared; /* 48 4 */"):
        assert any(ln.startswith(line) for ln in lines), line
    assert any(ln.startswith("unsigned bits:3; /* 52 bits 416..418") for ln in lines), out


def test_a_type_option_may_name_any_type_of_the_translation_unit(capsys, tmp_path):
    (tmp_path / "inner.h").write_text("struct inner { char c; long l; };\n")
    outer = tmp_path / "outer.h"
    outer.write_text('#include "inner.h"\nstruct outer { struct inner i; };\n')
    rc, out, _ = run(capsys, str(outer), "--arch", "x86_64", "--type", "struct inner", "--format", "json")
    assert rc == 0 and json.loads(out)["arches"]["x86_64"]["types"]["struct inner"]["size"] == 16
    rc, out, err = run(capsys, str(outer), "--arch", "x86_64", "--type", "struct nowhere")
    assert rc == 2 and "no type 'struct nowhere'" in err


def test_compare_marks_differences(capsys):
    rc, out, _ = run(capsys, BASIC, "--arch", "i386,x86_64,m68k", "--type", "struct basic_ll", "--format", "compare")
    lines = {ln.split()[1] if ln.startswith("*") else ln.split()[0]: ln for ln in out.splitlines()[1:-1]}
    assert lines["size"].startswith("*") and lines["x"].startswith("*") and not lines["c"].startswith("*")
    assert "32+64" in lines["x"] and "64+64" in lines["x"] and "16+64" in lines["x"]


def test_usage_errors_exit_2(capsys):
    assert run(capsys, BASIC, "--format", "compare", "--arch", "mips")[0] == 2
    assert run(capsys, BASIC, "--arch", "mips", "--type", "struct nope")[0] == 2
    assert run(capsys, BASIC, "--arch", "mips", "-D", "1bad")[0] == 2
    rc, _, err = run(capsys, BASIC, "--arch", "mips", "--type", "struct nope")
    assert "no type 'struct nope'" in err and err.count("\n") == 1


def test_builtin_preprocessor_flag_gives_the_same_json(capsys):
    argv = [str(HEADERS_DIR / "ifarch.h"), "--arch", "mips,x86_64", "--format", "json"]
    a = run(capsys, *argv)[1]
    b = run(capsys, *argv, "--builtin-cpp")[1]
    assert json.loads(a) == json.loads(b)


def test_define_and_include_flags(capsys, tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "n.h").write_text("#define N 3\n")
    h = tmp_path / "d.h"
    h.write_text('#include "n.h"\nstruct d { char a[N * WIDTH]; };\n')
    rc, out, _ = run(capsys, str(h), "--arch", "x86_64", "-I", str(tmp_path / "inc"), "-D", "WIDTH=5",
                     "--format", "json")
    assert json.loads(out)["arches"]["x86_64"]["types"]["struct d"]["size"] == 15


def test_a_syntax_error_in_one_arch_branch_names_the_arch(capsys, tmp_path):
    h = tmp_path / "some.h"
    h.write_text("struct a { int x; };\n#ifdef __m68k__\nstruct b { int y z; };\n#endif\n")
    for extra in ([], ["--builtin-cpp"]):
        rc, out, err = run(capsys, str(h), "--arch", "m68k,x86_64", "--format", "json", *extra)
        assert rc == 2 and out == ""
        assert err == f"bitlayout: error: {h}:3:18: expected ';' at end of member declaration before 'z' (on m68k)\n"
    rc, _, err = run(capsys, str(h), "--arch", "x86_64,i386", "--format", "json")
    assert rc == 0


def test_unknown_type_names_are_hinted(capsys, tmp_path):
    h = tmp_path / "u.h"
    h.write_text("struct a { unknown_t x; };\nstruct b { int k; my_t *p; };\n")
    rc, _, err = run(capsys, str(h), "--arch", "x86_64", "--format", "json")
    assert (rc, err) == (2, f"bitlayout: error: {h}:1:12: unknown type name 'unknown_t' (on x86_64)\n")
    h.write_text("typedef int ok_t;\nstruct b { ok_t k; my_t *p; };\n")
    rc, _, err = run(capsys, str(h), "--arch", "all", "--format", "json", "--builtin-cpp")
    assert rc == 2 and err.endswith("unknown type name 'my_t' (on all 26 arches)\n")
    h.write_text("int f(unknown_t a);\n")
    assert "unknown type name 'unknown_t'" in run(capsys, str(h), "--arch", "x86_64")[2]
    h.write_text("struct s { int a b; };\n")  # a plain syntax error: no guess
    rc, _, err = run(capsys, str(h), "--arch", "x86_64")
    assert rc == 2 and "unknown type" not in err and err.count("\n") == 1


def test_bad_paths_are_one_line_usage_errors(capsys, tmp_path):
    rc, _, err = run(capsys, BASIC, "--arch", "x86_64", "-I", str(tmp_path / "nonexistent"))
    assert (rc, err) == (2, f"bitlayout: error: -I {tmp_path / 'nonexistent'}: no such directory\n")
    rc, _, err = run(capsys, str(tmp_path), "--arch", "x86_64")
    assert (rc, err) == (2, f"bitlayout: error: {tmp_path}: is a directory (give header files)\n")
    rc, _, err = run(capsys, str(tmp_path / "missing.h"), "--arch", "x86_64")
    assert (rc, err) == (2, f"bitlayout: error: {tmp_path / 'missing.h'}: no such file\n")


def test_define_forms_mean_what_gcc_means(capsys, tmp_path):
    """-D NAME defines it as 1, -D NAME= defines it empty: the same with the compiler's -E,
    the built-in preprocessor, and the compiled backend's flags."""
    from bitlayout.commands import parse_defines
    from bitlayout.toolchains import define_flags

    assert parse_defines(["ONE", "EMPTY=", "V=3"]) == {"ONE": "1", "EMPTY": "", "V": "3"}
    assert define_flags({"ONE": "1", "EMPTY": "", "BARE": None}) == ["-DONE=1", "-DEMPTY=", "-DBARE"]
    h = tmp_path / "d.h"
    h.write_text("#if defined(EMPTY) && ONE == 1\nstruct both { int i; };\n#endif\n"
                 "#if EMPTY + 0 == 0\nstruct empty_is_empty { int i; };\n#endif\n")
    for extra in ([], ["--builtin-cpp"]):
        assert main(["layout", str(h), "-D", "EMPTY=", "-D", "ONE", "--arch", "x86_64", "--format", "json",
                     *extra]) == 0
        types = json.loads(capsys.readouterr().out)["arches"]["x86_64"]["types"]
        assert sorted(types) == ["struct both", "struct empty_is_empty"], extra
