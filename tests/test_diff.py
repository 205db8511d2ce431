"""bitlayout.diff and ``bitlayout diff``: two designs of a type, compared per arch.

The headline case (issue #7): the seed thread's
``unsigned long vm_flags_t[8 / sizeof(unsigned long)]`` against the kernel's
``DECLARE_BITMAP(__vma_flags, BITS_PER_LONG)``: on every 32-bit arch the new
design holds 32 bits, so VMA flag bits 32..43 fall out of bounds.
"""

from __future__ import annotations

import json

import pytest

from bitlayout.cli import main
from bitlayout.diff import Design, FlagSet, diff_designs, parse_designs
from bitlayout.profiles import load_profiles
from bitlayout.spec import default_spec_path
from conftest import run_cli

DEFAULT_H = str(default_spec_path().with_name("vma_flags.h").resolve())

OLD_H = """
typedef unsigned long long u64;
#define VM_FLAGS_COUNT (8 / sizeof(unsigned long))
typedef unsigned long vm_flags_t[VM_FLAGS_COUNT];
struct vma {
	unsigned long vm_start;
	vm_flags_t vm_flags;
	void *anon_vma;
};
"""

NEW_H = """
typedef unsigned long long u64;
#define BITS_PER_LONG (__SIZEOF_LONG__ * 8)
#define BITS_TO_LONGS(nr) (((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]
typedef struct { DECLARE_BITMAP(__vma_flags, BITS_PER_LONG); } vma_flags_t;
struct vma {
	unsigned long vm_start;
	vma_flags_t vm_flags;
	void *anon_vma;
};
"""

U64_H = """
typedef unsigned long long u64;
typedef u64 vm_flags_t;
struct vma {
	unsigned long vm_start;
	vm_flags_t vm_flags;
	void *anon_vma;
};
"""


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


@pytest.fixture(scope="module")
def seed_vs_kernel(profiles):
    """The default header's two designs on every arch (computed once for the module)."""
    return diff_designs(Design(DEFAULT_H, "vm_flags_t"), Design(DEFAULT_H, "vma_flags_t"), profiles)


def test_declare_bitmap_bits_per_long_loses_bits_32_to_43_on_every_32_bit_arch(seed_vs_kernel, profiles):
    by_arch = {a["arch"]: a for a in seed_vs_kernel["arches"]}
    assert set(by_arch) == {p.name for p in profiles}
    for p in profiles:
        a = by_arch[p.name]
        assert a["old"]["oob_bits"] == [], p.name  # the seed's two longs hold every flag
        if p.bits_per_long == 32:
            # ppc32 aliases DROPPABLE to ARCH_1 (bit 24), so bit 40 does not exist there.
            want = [nr for nr in range(32, 44) if not (p.name == "ppc" and nr == 40)]
            assert a["new"]["oob_bits"] == want, p.name
            assert a["new"]["bitmap"] == {"word_bytes": 4, "nwords": 1, "nbits": 32, "atomic_bytes": 4}
            assert a["old"]["bitmap"]["nbits"] == 64 and a["old"]["full_read_tears"] is True
            assert (a["old"]["size_bytes"], a["new"]["size_bytes"]) == (8, 4)
            assert "out-of-bounds flag bits none -> 32.." in " ".join(a["changes"])
        else:
            assert a["new"]["oob_bits"] == [] and a["changes"] == [], p.name
    s = seed_vs_kernel["summary"]
    assert sorted(s["new_out_of_bounds"]) == sorted(p.name for p in profiles if p.bits_per_long == 32)
    assert s["fixed_out_of_bounds"] == []


def test_diff_text_fits_80_columns_and_names_the_lost_bits(seed_vs_kernel):
    from bitlayout.report.text import render_diff_text

    text = render_diff_text(seed_vs_kernel)
    assert [line for line in text.splitlines() if len(line) > 80] == [] and text.isascii()
    assert "out-of-bounds bits" in text and "32..43" in text
    # The 64-bit arches change nothing and are grouped under one "no change".
    assert "no change" in text


def test_container_offsets_shift_when_the_flags_shrink(tmp_path, profiles):
    old = tmp_path / "old.h"
    new = tmp_path / "new.h"
    u64 = tmp_path / "u64.h"
    old.write_text(OLD_H)
    new.write_text(NEW_H)
    u64.write_text(U64_H)
    chosen = [p for p in profiles if p.name in ("i386", "x86_64", "m68k")]
    d = diff_designs(Design(str(old), "vm_flags_t"), Design(str(new), "vma_flags_t"), chosen,
                     container="struct vma")
    by = {a["arch"]: a for a in d["arches"]}
    i386 = by["i386"]
    assert i386["old"]["container"]["offsets"] == {"vm_start": 0, "vm_flags": 4, "anon_vma": 12}
    assert i386["new"]["container"]["offsets"] == {"vm_start": 0, "vm_flags": 4, "anon_vma": 8}
    assert "offsets moved: anon_vma 12 -> 8" in i386["changes"]
    assert "container size 16 -> 12" in i386["changes"]
    assert by["x86_64"]["changes"] == []
    # u64 vs two longs: same size everywhere, but i386 aligns u64 to 4 in a struct and
    # reads it in two 4-byte loads, like the two-long array.
    d2 = diff_designs(Design(str(old), "vm_flags_t"), Design(str(u64), "vm_flags_t"), chosen,
                      container="struct vma")
    by2 = {a["arch"]: a for a in d2["arches"]}
    assert by2["i386"]["old"]["container"]["offsets"] == by2["i386"]["new"]["container"]["offsets"]
    assert by2["i386"]["new"]["full_read_tears"] is True and by2["x86_64"]["new"]["full_read_tears"] is False


def test_parse_designs_forms(tmp_path):
    h = tmp_path / "a.h"
    h.write_text(OLD_H)
    assert parse_designs(f"{h}:vm_flags_t", f"{h}:struct vma", None) == (
        Design(str(h), "vm_flags_t"), Design(str(h), "struct vma"))
    assert parse_designs(str(h), None, ["vm_flags_t", "struct  vma"]) == (
        Design(str(h), "vm_flags_t"), Design(str(h), "struct vma"))


def test_cli_diff_json_and_text(capsys):
    code, out, err = run_cli(capsys, "diff", DEFAULT_H, "--type", "vm_flags_t", "vma_flags_t",
                             "--arch", "mips,x86_64", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["schema"] == "bitlayout.diff/1"
    assert {a["arch"]: a["new"]["oob_bits"] for a in data["arches"]} == {"mips": list(range(32, 44)), "x86_64": []}
    code, out, err = run_cli(capsys, "diff", f"{DEFAULT_H}:vm_flags_t", f"{DEFAULT_H}:vm_flags_u64_t",
                             "--arch", "i386,x32", "--container", "struct vm_area_struct")
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "i386" in out and "x32" in out


@pytest.mark.parametrize("argv,needle", [
    (["diff", "/nonexistent.h:foo", "/nonexistent.h:bar"], "/nonexistent.h: header not found"),
    (["diff", DEFAULT_H], "which types?"),
    (["diff", DEFAULT_H, "--type", "vm_flags_t", "no_such_t", "--arch", "mips"], "no_such_t"),
    (["diff", DEFAULT_H, "--type", "vm_flags_t", "vma_flags_t", "--flags", "bogus"], "'bogus'"),
    (["diff", DEFAULT_H, "--type", "vm_flags_t", "vma_flags_t", "--arch", "vax"], "'vax'"),
])
def test_cli_diff_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("bitlayout: error: ") and needle in err
    assert "Traceback" not in err


def test_cli_diff_container_no_arch_declares_is_one_line_exit_2(capsys, tmp_path):
    (tmp_path / "old.h").write_text(OLD_H)
    (tmp_path / "new.h").write_text(NEW_H)
    rc = main(["diff", f"{tmp_path / 'old.h'}:vm_flags_t", f"{tmp_path / 'new.h'}:vma_flags_t",
               "--arch", "i386,x86_64", "--container", "struct nope"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--container 'struct nope' is not a complete type in old.h or new.h" in err


TYPEDEF_H = """
typedef unsigned int u32;
struct foo_bitmap { unsigned long x[2]; };
typedef struct foo_bitmap foo_bitmap_t;
struct holder { int id; u32 flags; foo_bitmap_t map; };
"""


def test_container_member_found_through_a_typedef(tmp_path, profiles):
    """struct holder declares `foo_bitmap_t map`: the diff of `struct foo_bitmap` must find it."""
    h = tmp_path / "foo.h"
    h.write_text(TYPEDEF_H)
    chosen = [p for p in profiles if p.name in ("i386", "x86_64")]
    d = diff_designs(Design(str(h), "u32"), Design(str(h), "struct foo_bitmap"), chosen, container="struct holder")
    by = {a["arch"]: a for a in d["arches"]}
    assert {a: (x["old"]["container"]["member"], x["new"]["container"]["member"]) for a, x in by.items()} == {
        "i386": ("flags", "map"), "x86_64": ("flags", "map")}
    d2 = diff_designs(Design(str(h), "u32"), Design(str(h), "foo_bitmap_t"), chosen, container="struct holder")
    assert {a["new"]["container"]["member"] for a in d2["arches"]} == {"map"}


def test_a_typedefd_container_is_measured_as_its_struct(tmp_path, profiles):
    """`--container foo_t` for `typedef struct {...} foo_t`: holes, padding and offsets are the
    struct's (a typedef has no members of its own)."""
    h = tmp_path / "c.h"
    h.write_text("typedef unsigned long vm_flags_t[8 / sizeof(unsigned long)];\n"
                 "typedef struct { char c; vm_flags_t flags; int x; } foo_t;\n")
    chosen = [p for p in profiles if p.name == "x86_64"]
    (arch,) = diff_designs(Design(str(h), "vm_flags_t"), Design(str(h), "vm_flags_t"), chosen,
                           container="foo_t")["arches"]
    c = arch["old"]["container"]
    assert (c["size_bytes"], c["hole_bytes"], c["padding_bytes"]) == (24, 7, 4)
    assert c["offsets"] == {"c": 0, "flags": 8, "x": 16} and c["member"] == "flags"


def test_a_scalar_typedef_is_found_by_its_own_name_in_the_container(tmp_path, profiles):
    # 6.12: typedef unsigned long vm_flags_t; vm_area_struct starts with an unsigned long vm_start
    header = tmp_path / "scalar.h"
    header.write_text("typedef unsigned long vm_flags_t;\n"
                      "struct vma { unsigned long vm_start; vm_flags_t vm_flags; };\n")
    [x86_64] = [p for p in profiles if p.name == "x86_64"]
    result = diff_designs(Design(str(header), "vm_flags_t"), Design(str(header), "vm_flags_t"), [x86_64],
                          flagset=FlagSet("none"), container="struct vma")
    assert result["arches"][0]["old"]["container"]["member"] == "vm_flags"


def test_a_kernel_include_name_is_shown_as_written():
    assert Design("linux/mm_types.h", "vm_flags_t").label == "vm_flags_t (linux/mm_types.h)"
    assert Design("/tmp/x/mm_types.h", "vm_flags_t").label == "vm_flags_t (mm_types.h)"
