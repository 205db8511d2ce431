"""bitlayout.spec and bitlayout.expressions: parsing, validation, the embedded default.

No compiler: names are checked against plain sets; expressions are evaluated as C by the
layout engine for a real profile (tests/test_expect_vs_compiler.py diffs that against
each arch's compiler).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bitlayout.errors import SpecError
from bitlayout.expressions import ExprEvalError, UndefinedName, parse_expression
from bitlayout.spec import check_names, default_spec_path, load_default_spec, load_spec

HEADER = "typedef unsigned long flags_t[2];\nenum f { A_BIT = 0, B_BIT = 40 };\n"


def write_spec(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    (tmp_path / "f.h").write_text(header)
    p = tmp_path / "spec.toml"
    p.write_text(textwrap.dedent(body))
    return p


GOOD = """
headers = ["f.h"]
arches = ["32bit", "x86_64"]
defines = { CONFIG_X = 1 }

[[bitmap]]
type = "flags_t"
bits = "enum f"
read_together = [["A_BIT", "B_BIT"]]
[bitmap.only_on]
B_BIT = "64bit"
"32..38" = "x86_64"

[[tagged_pointer]]
field = "struct s.p"
tag_bits = 2
allocator = "kmalloc"

[[expect]]
that = "sizeof(flags_t) == 8"
on = "32bit"
"""


def test_good_spec_parses_to_plain_data(tmp_path):
    spec = load_spec(write_spec(tmp_path, GOOD))
    assert spec.headers == (str((tmp_path / "f.h").resolve()),)
    assert spec.arches == ("32bit", "x86_64")
    assert dict(spec.defines) == {"CONFIG_X": "1"}
    (b,) = spec.bitmaps
    assert (b.types, b.bits.kind, b.bits.enum) == (("flags_t",), "enum", "enum f")
    assert b.read_together == (("A_BIT", "B_BIT"),)
    assert [(g.flag, g.first_bit, g.last_bit, g.on) for g in b.only_on] == [
        ("B_BIT", -1, -1, "64bit"), ("", 32, 38, "x86_64")]
    assert [g.on for g in b.gates_for("X", 33)] == ["x86_64"]
    assert b.gates_for("A_BIT", 0) == []
    (tp,) = spec.tagged_pointers
    assert (tp.container, tp.member, tp.tag_bits, tp.allocator) == ("struct s", "p", 2, "kmalloc")
    (e,) = spec.expects
    assert (e.that.text, e.on) == ("sizeof(flags_t) == 8", "32bit")
    assert "x86_64" in {p.name for p in spec.select_arches()}
    assert all(p.bits_per_long == 32 for p in spec.select_arches("32bit"))


@pytest.mark.parametrize("bits, kind", [
    ('"enum f"', "enum"),
    ('{ enum = "f" }', "enum"),
    ('{ prefix = "VMA_", suffix = "_BIT" }', "macros"),
    ('{ masks = "VM_*" }', "masks"),
    ('{ masks = ["VM_*", "VMA_*"], exclude = ["VM_*_BIT*"] }', "masks"),
    ('{ table = { A = 0, B = 63 } }', "table"),
])
def test_bit_sources(tmp_path, bits, kind):
    spec = load_spec(write_spec(tmp_path, f'headers = ["f.h"]\n[[bitmap]]\ntype = "flags_t"\nbits = {bits}\n'))
    assert spec.bitmaps[0].bits.kind == kind


BAD = [
    ("headers = [\n", "malformed TOML", None),
    ('headers = ["nope.h"]\n[[expect]]\nthat = "1"\n', "header not found", "headers[0]"),
    ('headers = ["f.h"]\nbogus = 1\n[[expect]]\nthat = "1"\n', "unknown key 'bogus'", "bogus"),
    ('headers = ["f.h"]\narches = "vax"\n[[expect]]\nthat = "1"\n', "unknown arch selector 'vax'", "arches"),
    ('headers = ["f.h"]\n[[tagged_pointer]]\nfield = "struct s.p"\ntag_bits = 2\nallocator = "heap"\n',
     "unknown allocator 'heap'", "tagged_pointer[0].allocator"),
    ('headers = ["f.h"]\n[[tagged_pointer]]\nfield = "s.p"\ntag_bits = 2\nallocator = "slab"\n',
     "expected 'struct NAME.member'", "tagged_pointer[0].field"),
    ('headers = ["f.h"]\n[[tagged_pointer]]\nfield = "struct s.p"\ntag_bits = "2"\nallocator = "slab"\n',
     "expected int", "tagged_pointer[0].tag_bits"),
    ('headers = ["f.h"]\n[[expect]]\nthat = "__import__(\'os\')"\n', "bad expression", "expect[0].that"),
    ('headers = ["f.h"]\n[[expect]]\nthat = "sizeof(x).__class__"\n', "'.' is not allowed", "expect[0].that"),
    ('headers = ["f.h"]\n[[expect]]\nthat = "1"\non = "pdp11"\n', "unknown arch selector", "expect[0].on"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "flags_t"\nbits = "f"\n', "expected 'enum NAME'", "bitmap[0].bits"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "flags_t"\nbits = { table = { A = -1 } }\n', "non-negative",
     "bitmap[0].bits.table.A"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = { table = { A = 1 } }\nread_together = [["A", "Z"]]\n',
     "unknown flag 'Z'", "bitmap[0].read_together[0]"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = "enum f"\n[bitmap.only_on]\n"9..3" = "64bit"\n',
     "empty bit range", "bitmap[0].only_on.9..3"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = "enum f"\n[bitmap.only_on]\nA_BIT = "sparc128"\n',
     "unknown arch selector", "bitmap[0].only_on.A_BIT"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = { masks = "VM_*", prefix = "VM_" }\n', "exactly one of",
     "bitmap[0].bits"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = { masks = "VM 1" }\n', "expected a name pattern",
     "bitmap[0].bits.masks"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = { masks = [] }\n', "at least one pattern",
     "bitmap[0].bits.masks"),
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = { enum = "f", exclude = ["A"] }\n', "only with masks",
     "bitmap[0].bits.exclude"),
    ('headers = ["f.h"]\n', "nothing to verify", None),
    # issue 12, found by tests/test_bad_input_fuzz.py: a TOML list may hold anything
    ('headers = ["f.h"]\n[[bitmap]]\ntype = "t"\nbits = "enum f"\n[bitmap.only_on]\nA_BIT = [1, "a"]\n',
     "expected an arch selector (a string or a list of strings), got 1", "bitmap[0].only_on.A_BIT"),
    ('headers = ["f\\u0000.h"]\n[[expect]]\nthat = "1"\n', "header not a usable path", "headers[0]"),
    ('headers = ["' + "x" * 300 + '"]\n[[expect]]\nthat = "1"\n', "header not a usable path (File name too long)",
     "headers[0]"),
    ('headers = ["f.h"]\ninclude_dirs = ["d\\u0000"]\n[[expect]]\nthat = "1"\n', "include dir not a usable path",
     "include_dirs[0]"),
    ('headers = ["f.h"]\n[defines]\nX = "1\\n#define Y"\n[[expect]]\nthat = "1"\n', "a macro value is one line",
     "defines.X"),
]


@pytest.mark.parametrize("body, message, key", BAD, ids=[b[1] for b in BAD])
def test_bad_specs_raise_one_line_spec_error_naming_file_and_key(tmp_path, body, message, key):
    path = write_spec(tmp_path, body)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert "\n" not in text
    assert message in text
    assert str(path) in text
    if key:
        assert f"[{key}]" in text
    assert info.value.exit_code == 2


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "none.toml")


def test_check_names_rejects_names_no_arch_defines(tmp_path):
    spec = load_spec(write_spec(tmp_path, GOOD))
    types = {"flags_t", "enum f", "struct s"}
    names = {"A_BIT", "B_BIT"}
    check_names(spec, types, names)  # all known: no error
    with pytest.raises(SpecError, match=r"\[bitmap\[0\]\.type\]: unknown type 'flags_t'"):
        check_names(spec, types - {"flags_t"}, names)
    with pytest.raises(SpecError, match="unknown flag 'B_BIT'"):
        check_names(spec, types, names - {"B_BIT"})
    with pytest.raises(SpecError, match="unknown type 'struct s'"):
        check_names(spec, types - {"struct s"}, names)


def test_masks_select_by_pattern_less_the_excluded_ones(tmp_path):
    spec = load_spec(write_spec(tmp_path, 'headers = ["f.h"]\n[[bitmap]]\ntype = "flags_t"\n'
                                          'bits = { masks = ["VM_*", "X"], exclude = ["VM_*_BIT*"] }\n'))
    bits = spec.bitmaps[0].bits
    assert [n for n in ("VM_READ", "VM_HIGH_ARCH_BIT_0", "X", "XY", "VMA_READ") if bits.selects(n)] == ["VM_READ", "X"]
    check_names(spec, {"flags_t"}, {"VM_READ"})
    with pytest.raises(SpecError, match=r"\[bitmap\[0\]\.bits\]: no macro matches VM_\*, X"):
        check_names(spec, {"flags_t"}, {"VM_HIGH_ARCH_BIT_0", "VMA_READ"})


def test_check_names_in_expressions(tmp_path):
    body = GOOD + '\n[[expect]]\nthat = "fits(C_BIT, flags_t) && alignof(struct nope) == 4"\n'
    spec = load_spec(write_spec(tmp_path, body))
    with pytest.raises(SpecError, match=r"\[expect\[1\]\.that\]: unknown name 'C_BIT'"):
        check_names(spec, {"flags_t", "enum f", "struct s"}, {"A_BIT", "B_BIT"})
    with pytest.raises(SpecError, match=r"unknown type 'struct nope'"):
        check_names(spec, {"flags_t", "enum f", "struct s"}, {"A_BIT", "B_BIT", "C_BIT"})


def test_embedded_default_loads():
    spec = load_default_spec()
    assert spec.is_default
    assert Path(spec.path) == default_spec_path()
    assert [Path(h).name for h in spec.headers] == ["vma_flags.h"]
    assert spec.bitmaps[0].types == ("vma_flags_t", "vm_flags_t", "vm_flags_u64_t")
    gated = {g.flag: g.on for g in spec.bitmaps[0].only_on}
    assert gated == {"VMA_ALLOW_ANY_UNCACHED_BIT": "64bit", "VMA_SEALED_BIT": "64bit",
                     "VMA_DROPPABLE_BIT": "64bit,ppc"}
    assert spec.tagged_pointers[0].field == "struct vm_area_struct.anon_vma"
    assert load_spec(None).path == spec.path


# ---------------------------------------------------------------------------
# The expression language: C, with the spec's functions on top.


class FakeContext:
    """An ExprContext for a 32-bit arch: C arithmetic from the layout engine on the i386 profile,
    the spec's functions from plain tables."""

    sizes = {"vma_flags_t": 4, "struct anon_vma": 40, "void *": 4, "unsigned long": 4, "long long": 8}
    names = {"BITS_PER_LONG": 32, "VMA_SEALED_BIT": 42, "VMA_READ_BIT": 0}

    def __init__(self, arch="i386"):
        from bitlayout.layout import layout_text
        from bitlayout.profiles import profile_by_name

        self.layout = layout_text("", profile_by_name(arch), "<t>")

    def c_value(self, text):
        from bitlayout.checks import ModelContext

        for k, v in self.names.items():
            text = re.sub(rf"\b{k}\b", str(v), text)
        return ModelContext.c_value(self, text)  # the layout engine's C, as the matrix evaluates it

    def name(self, ident):
        if ident not in self.names:
            raise UndefinedName(ident)
        return self.names[ident]

    def sizeof(self, t):
        return self.sizes[t]

    def alignof(self, t):
        return 4

    def gnu_alignof(self, t):
        return 8 if t == "long long" else 4

    def offsetof(self, t, m):
        return {("struct vm_area_struct", "anon_vma"): 36}[(t, m)]

    def tag_bits(self, f, a):
        return {"slab": 3, "static": 2}[a]

    def fits(self, nr, t):
        return nr < 8 * self.sizes[t]

    def bit_word(self, nr, t):
        return nr // 32

    def byte_offset(self, nr, t):
        return nr // 8


@pytest.mark.parametrize("text, value", [
    ("sizeof(vma_flags_t) * 8 == BITS_PER_LONG", 1),
    ("fits(VMA_SEALED_BIT, vma_flags_t)", 0),
    ("!fits(VMA_SEALED_BIT, vma_flags_t) && fits(VMA_READ_BIT, vma_flags_t)", 1),
    ("tag_bits(struct vm_area_struct.anon_vma, slab) >= 2", 1),
    ("tag_bits(struct vm_area_struct.anon_vma, static) > 2 || 0", 0),
    ("offsetof(struct vm_area_struct, anon_vma) % sizeof(void *) == 0", 1),
    ("_Alignof(long long) == 4 && __alignof__(long long) == 8", 1),
    ("sizeof(unsigned long) == 4UL", 1),
    ("bit_word(VMA_SEALED_BIT, vma_flags_t) == 1 && byte_offset(41, vma_flags_t) == 5", 1),
    ("-7 / 2 == -3 && -7 % 2 == -1", 1),  # C truncating division
    ("max(sizeof(struct  anon_vma), 64) == 64", 1),
    ("min(-1, 0U)", 0),  # the usual arithmetic conversions: -1 is UINT_MAX here
    ("max(sizeof(vma_flags_t), -1) == 4294967295", 1),  # compared and typed as size_t
    ("sizeof(vma_flags_t) - 5 > 0", 1),  # size_t arithmetic wraps
    ("VMA_SEALED_BIT and not VMA_READ_BIT", 1),  # <iso646.h> spellings
    ("1 ? 7 : 9", 7),
])
def test_expressions_evaluate_like_c(text, value):
    assert parse_expression(text).evaluate(FakeContext()) == value


@pytest.mark.parametrize("text, on_32bit, on_64bit", [
    # issue 12: C's usual arithmetic conversions with each arch's widths
    ("-1 < 0U", 0, 0),
    ("~0UL == 4294967295", 1, 0),
    ("(0U - 1) > 0", 1, 1),
    ("-1L < 0U", 0, 1),  # long is wider than unsigned int only on LP64
    ("(unsigned long)-1 >> 31 == 1", 1, 0),
    ("1 << 31 < 0", 1, 1),  # GCC folds the overflow (with a warning)
    ("-1 >> 1 == -1", 1, 1),  # GCC: arithmetic right shift
])
def test_arithmetic_follows_the_arch_integer_widths(text, on_32bit, on_64bit):
    e = parse_expression(text)
    assert (e.evaluate(FakeContext("i386")), e.evaluate(FakeContext("x86_64"))) == (on_32bit, on_64bit)


def test_explain_gives_the_terms():
    e = parse_expression("sizeof(vma_flags_t) * 8 == BITS_PER_LONG")
    assert e.explain(FakeContext()) == {"result": 1, "terms": {"BITS_PER_LONG": 32, "sizeof(vma_flags_t)": 4}}
    assert e.names == {"BITS_PER_LONG"}
    assert e.type_args == (("sizeof", 0, "vma_flags_t"),)


def test_undefined_name_is_its_own_error():
    with pytest.raises(UndefinedName):
        parse_expression("VMA_PKEY_BIT0_BIT < 64").evaluate(FakeContext())
    with pytest.raises(ExprEvalError, match="division by zero"):
        parse_expression("1 / 0 == 0").evaluate(FakeContext())


@pytest.mark.parametrize("text, why", [
    ("__import__('os').system('true')", "string and character literals"),
    ("open(1)", "unknown function 'open'"),
    ("[x for x in y]", "'[' is not allowed (subscripts)"),
    ("a < b < c", "chained comparison"),
    ("a == b != c", "chained comparison"),
    ("lambda: 1", "syntax error"),
    ("sizeof(a, b)", "takes 1 argument"),
    ("struct anon_vma == 8", "C type 'struct' outside"),
    ("tag_bits(struct a.b, heap) > 1", "unknown allocator 'heap'"),
    ("tag_bits(struct a, slab) > 1", "wants a pointer field"),
    ("offsetof(struct a, b + 1) > 1", "not a member designator"),
    ("sizeof(x", "unbalanced parentheses"),
    ("sizeof 4", "sizeof needs parentheses"),
    ("1 +", "syntax error"),
    ("", "empty"),
    ("x.y", "'.' is not allowed (member access)"),
    ("x->y", "'->' is not allowed (member access)"),
    ("x = 1", "'=' is not allowed (assignment)"),
    ("x += 1", "'+=' is not allowed (assignment)"),
    ("x++ > 1", "'++' is not allowed (increment)"),
    ("1, 2", "',' is not allowed (the comma operator)"),
    ("7 // 2 == 3", "'//' and '/*' start comments in C"),
    ("7 /* two */ > 2", "'//' and '/*' start comments in C"),
    ("1.5 > 1", "floating constants are not allowed"),
    ("1e3 > 1", "floating constants are not allowed"),
    ("09 > 1", "invalid integer constant '09'"),
    ("1ULU > 1", "invalid integer constant '1ULU'"),
    ("18446744073709551616 > 1", "too large for any integer type"),
    ("(u64)1 > 0", "syntax error"),  # a cast to a typedef: the expression is parsed before any header
    ("__bl_term0 > 1", "reserved"),
    ("x ?: 1", "Cond is not allowed"),
    ("$ > 1", "character '$' is not allowed"),
])
def test_expressions_outside_the_language_are_spec_errors(text, why):
    with pytest.raises(SpecError) as info:
        parse_expression(text, path="s.toml", key="expect[3].that")
    assert why in str(info.value)
    assert str(info.value).startswith("s.toml [expect[3].that]: bad expression")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", [
    "+".join(["1"] * 3000) + " > 0",       # issue 12: an [[expect]] of ~3000 terms
    "(" * 1000 + "1" + ")" * 1000,
    "- " * 1000 + "1",
    "~" * 2000 + "1",
    "fits(" * 20 + "1" + ", t)" * 20,
])
def test_deep_expressions_are_one_line_spec_errors_not_recursion_errors(text):
    with pytest.raises(SpecError, match="nested more than|functions nested more than"):
        parse_expression(text, path="s.toml", key="expect[0].that")


def test_a_deep_but_allowed_expression_evaluates():
    text = "+".join(["1"] * 60)
    assert parse_expression(text).evaluate(FakeContext()) == 60


@pytest.mark.parametrize("text", ["(1 << 64) == 0", "256 >> 129 == 0", "(1 << -1) > 0", "1U << 32"])
def test_a_shift_past_the_width_or_by_a_negative_count_is_an_evaluation_error(text):
    """C11 6.5.7p3: undefined; GCC folds 1 << 64 to 0, clang modulo the width: no C answer exists."""
    with pytest.raises(ExprEvalError, match="undefined|negative"):
        parse_expression(text).evaluate(FakeContext())


def test_shifts_within_the_width_evaluate():
    assert parse_expression("(1ULL << 63) >> 62 == 2 && (1 << 31) < 0").evaluate(FakeContext()) == 1
