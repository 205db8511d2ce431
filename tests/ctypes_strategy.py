"""A hypothesis strategy for random C record types, rendered as C text.

``c_record()`` draws a struct or union: scalar members of every type, bitfields of every width
(including zero-width and unnamed ones, ``_Bool`` and enum bitfields), arrays, nested named and
anonymous structs/unions, inline enums with small/negative/64-bit values, ``packed`` and
``aligned(N)`` on the type and on members (before and after the declarator; on bit-fields
after a few leading bits, the cases where GCC and clang disagree), ``_Alignas``,
``_Atomic`` scalars and structs, ``_Complex`` of float and integer types, ``__int128`` (where
the arch has it), ``vector_size`` vectors, ``mode(...)`` members; records sit under every form
of ``#pragma pack`` (``n``, ``()``, ``0``, ``push``/``pop`` with identifiers) and, for GCC,
``#pragma scalar_storage_order``; members of typedefs carrying ``aligned(N)`` (raising or lowering
the alignment), GNU zero-length arrays, flexible array members, and arrays of ``_Atomic`` or
qualified typedef'd elements.

``generate_header(n, seed)`` draws n of them with a fixed seed into ONE header, so each arch is
compiled once for all of them.  Everything generated is valid GNU C on every Linux arch (the
model's error paths are tested separately).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

# (C spelling, width in bits on every Linux ABI or None when it varies, integer?)
INT_TYPES = [
    ("char", 8), ("signed char", 8), ("unsigned char", 8), ("short", 16), ("unsigned short", 16),
    ("int", 32), ("unsigned int", 32), ("long", None), ("unsigned long", None),
    ("long long", 64), ("unsigned long long", 64), ("_Bool", 1),
]
OTHER_TYPES = ["float", "double", "long double", "void *", "char *"]
COMPLEX_PARTS = ["float", "double", "long double", "char", "short", "int", "long long"]
VECTOR_ELEMS = [("char", 1), ("short", 2), ("int", 4), ("long long", 8), ("float", 4), ("double", 8)]
MODES = ["QI", "HI", "SI", "DI", "word", "pointer", "byte"]
ALIGNS = [1, 2, 4, 8, 16]


@dataclass
class _Ctx:
    """Counters for unique names inside one generated type."""

    prefix: str
    n: int = 0
    prelude: list = field(default_factory=list)  # typedefs the record's members use, emitted before it

    def name(self, stem: str) -> str:
        self.n += 1
        return f"{self.prefix}_{stem}{self.n}"


def _attr(names: list[str]) -> str:
    return f" __attribute__(({', '.join(names)}))" if names else ""


@st.composite
def _enum_def(draw, ctx: _Ctx) -> str:
    tag = ctx.name("e")
    n = draw(st.integers(1, 4))
    big = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
    vals = []
    for _ in range(n):
        if big == 1:
            v = draw(st.integers(-(1 << 40), 1 << 40))
        elif big == 2:
            v = draw(st.integers(0, (1 << 32) + 5))
        elif big == 3:
            v = draw(st.integers(-300, 70000))
        else:
            v = draw(st.integers(-100, 100))
        vals.append(v)
    body = ", ".join(f"{ctx.name('E').upper()} = {v}{'LL' if abs(v) > 0x7fffffff else ''}" for v in vals)
    packed = draw(st.booleans()) and draw(st.booleans())
    # "small": fits a signed char, so any enum (even a 1-byte packed or Hexagon short enum) can
    # be an 8-bit bitfield
    return f"enum {tag} {{ {body} }}{_attr(['packed'] if packed else [])}", all(-128 <= v < 128 for v in vals)


@st.composite
def _member(draw, ctx: _Ctx, depth: int) -> str:
    kind = draw(st.sampled_from(["int", "int", "int", "bitfield", "bitfield", "bitfield", "other", "array",
                                 "record", "enum", "zero", "unnamed", "atomic", "complex", "vector", "mode",
                                 "int128", "aligned_bitfield", "aligned_bitfield", "aligned_typedef",
                                 "zero_length", "qualified_array"] if depth < 2 else
                                ["int", "bitfield", "bitfield", "other", "array", "zero", "enum", "atomic",
                                 "complex", "vector", "mode", "aligned_bitfield", "aligned_typedef"]))
    name = ctx.name("f")
    attrs: list[str] = []
    if draw(st.integers(0, 9)) == 0:
        attrs.append("packed")
    if draw(st.integers(0, 9)) == 0:
        attrs.append(f"aligned({draw(st.sampled_from(ALIGNS))})")
    before = draw(st.booleans())
    pre = _attr(attrs) + " " if attrs and before else ""
    post = _attr(attrs) if attrs and not before else ""
    if kind == "int":
        t, _ = draw(st.sampled_from(INT_TYPES))
        alignas = ""
        if draw(st.integers(0, 11)) == 0:
            alignas = f"_Alignas({draw(st.sampled_from([16, 32]))}) "
        return f"{pre}{alignas}{t} {name}{post};"
    if kind == "other":
        return f"{pre}{draw(st.sampled_from(OTHER_TYPES))} {name}{post};"
    if kind == "atomic":
        if draw(st.booleans()):
            t, _ = draw(st.sampled_from(INT_TYPES))
            return f"{pre}_Atomic {t} {name}{post};"
        n = draw(st.integers(1, 17))  # odd sizes: clang rounds them up, GCC does not
        return f"{pre}_Atomic struct {{ char c[{n}]; }} {name}{post};"
    if kind == "complex":
        return f"{pre}_Complex {draw(st.sampled_from(COMPLEX_PARTS))} {name}{post};"
    if kind == "vector":
        t, size = draw(st.sampled_from(VECTOR_ELEMS))
        nbytes = size << draw(st.integers(1, 5 if size < 4 else 3))
        return f"{pre}{t} __attribute__((vector_size({nbytes}))) {name}{post};"
    if kind == "mode":
        t = draw(st.sampled_from(["int", "unsigned int", "long", "unsigned long long"]))
        return f"{pre}{t} {name} __attribute__((mode({draw(st.sampled_from(MODES))}))){post};"
    if kind == "int128":
        t = draw(st.sampled_from(["__int128", "unsigned __int128"]))
        return f"\n#ifdef __SIZEOF_INT128__\n{pre}{t} {name}{post};\n#endif\n"
    if kind == "array":
        t = draw(st.sampled_from([t for t, _ in INT_TYPES] + OTHER_TYPES))
        dims = "".join(f"[{draw(st.integers(1, 5))}]" for _ in range(draw(st.integers(1, 2))))
        return f"{pre}{t} {name}{dims}{post};"
    if kind == "aligned_typedef":
        # aligned(N) on a typedef raises the alignment, and (unlike on a member) may lower it
        t = draw(st.sampled_from([t for t, _ in INT_TYPES if t != "_Bool"] + ["double", "void *"]))
        alias = f"{name}_t"
        ctx.prelude.append(f"typedef {t} {alias} __attribute__((aligned({draw(st.sampled_from(ALIGNS))})));")
        return f"{pre}{alias} {name}{post};"
    if kind == "qualified_array":
        # GCC lays an array out from its unqualified element: a declaration's _Atomic, or a
        # qualified typedef's main variant, loses the typedef's aligned() and the _Atomic rounding
        t, width = draw(st.sampled_from([x for x in INT_TYPES if x[1] not in (None, 1)]))
        if draw(st.booleans()):
            t = f"struct {{ char c[{draw(st.sampled_from([2, 4, 8]))}]; }}"
            width = 8 * int(t.split("[")[1].split("]")[0])
        dims = f"[{draw(st.integers(1, 3))}]"
        form = draw(st.sampled_from(["atomic", "const_typedef", "atomic_typedef", "plain_typedef"]))
        if form == "atomic":
            return f"{pre}_Atomic {t} {name}{dims}{post};"
        alias = f"{name}_t"
        qual = {"const_typedef": "const ", "atomic_typedef": "_Atomic ", "plain_typedef": ""}[form]
        # an alignment that divides the element's size: an array of it is valid C everywhere
        align = draw(st.sampled_from([a for a in ALIGNS if a <= width // 8]))
        ctx.prelude.append(f"typedef {qual}{t} {alias} __attribute__((aligned({align})));")
        return f"{pre}{alias} {name}{dims}{post};"
    if kind == "zero_length":  # GNU zero-length array, anywhere in the record
        t = draw(st.sampled_from([t for t, _ in INT_TYPES] + OTHER_TYPES))
        return f"{pre}{t} {name}[0]{post};"
    if kind == "aligned_bitfield":
        # Where GCC and clang part ways (tests/headers/compiler_divergence.h): aligned(N) on a
        # bit-field, N below or above its type's alignment, after a few bits that make a wide
        # field straddle its storage unit; under #pragma pack too (_under_pragmas).
        t, w = draw(st.sampled_from([x for x in INT_TYPES if x[1] not in (None, 1)]))
        lead = draw(st.integers(0, 7))
        width = draw(st.integers(1, w))
        align = draw(st.sampled_from(ALIGNS))
        zero = draw(st.integers(0, 5)) == 0
        text = f"{'char : %d; ' % lead if lead else ''}__attribute__((aligned({align}))) {t} "
        return text + (": 0;" if zero else f"{name} : {width};")
    if kind in ("bitfield", "zero", "unnamed"):
        t, w = draw(st.sampled_from([x for x in INT_TYPES]))
        if w is None:
            w = 32  # long: 32 bits is the width every ABI allows
        if kind == "zero":
            return f"{t} : 0;"
        width = draw(st.integers(1, w))
        if kind == "unnamed":
            return f"{t} : {width};"
        return f"{pre}{t} {name} : {width}{post};"
    if kind == "enum":
        text, small = draw(_enum_def(ctx))
        if small and draw(st.booleans()):
            return f"{text} {name} : 8;"  # wide enough for any value, narrow enough for any enum
        return f"{pre}{text} {name}{post};"
    # nested record: named member or anonymous (flattened in the contract)
    inner = draw(_record_body(ctx, depth + 1))
    if draw(st.booleans()):
        return f"{inner};"  # anonymous struct/union member
    return f"{pre}{inner} {name}{post};"


@st.composite
def _record_body(draw, ctx: _Ctx, depth: int, tag: str | None = None) -> str:
    kind = draw(st.sampled_from(["struct", "struct", "struct", "union"]))
    members = [draw(_member(ctx, depth)) for _ in range(draw(st.integers(1, 7 if depth == 0 else 4)))]
    if kind == "struct" and depth == 0 and draw(st.integers(0, 5)) == 0:
        # a flexible array member: last, after at least one named member (C11 6.7.2.1)
        t = draw(st.sampled_from([t for t, _ in INT_TYPES] + OTHER_TYPES))
        members.append(f"int {ctx.name('f')}; {t} {ctx.name('f')}[];")
    attrs: list[str] = []
    if draw(st.integers(0, 4)) == 0:
        attrs.append("packed")
    if draw(st.integers(0, 5)) == 0:
        attrs.append(f"aligned({draw(st.sampled_from(ALIGNS))})")
    front = draw(st.booleans())
    head = f"{kind}{_attr(attrs) if front else ''}{' ' + tag if tag else ''}"
    return f"{head} {{ {' '.join(members)} }}{'' if front else _attr(attrs)}"


def c_record(index: int) -> st.SearchStrategy[str]:
    """A top-level definition `struct rN {...};` (or union), optionally also typedef'd."""

    @st.composite
    def _top(draw) -> str:
        ctx = _Ctx(f"r{index}")
        body = draw(_record_body(ctx, 0, tag=f"r{index}"))
        text = f"typedef {body} r{index}_t;" if draw(st.integers(0, 3)) == 0 else f"{body};"
        text = "".join(line + "\n" for line in ctx.prelude) + text
        return draw(_under_pragmas(text, index))

    return _top()


@st.composite
def _under_pragmas(draw, text: str, index: int) -> str:
    """A definition under one of GCC's #pragma pack forms, or scalar_storage_order (GCC only)."""
    form = draw(st.sampled_from(["none"] * 6 + ["set", "push", "push_id", "zero", "sso"]))
    n = draw(st.sampled_from([1, 2, 4, 8, 16]))
    if form == "set":
        return f"\n#pragma pack({n})\n{text}\n#pragma pack()\n"
    if form == "push":
        return f"\n#pragma pack(push, {n})\n{text}\n#pragma pack(pop)\n"
    if form == "push_id":
        return f"\n#pragma pack(push, r{index}_id, {n})\n#pragma pack(push, 1)\n#pragma pack(pop, r{index}_id)\n" \
               f"#pragma pack(push, r{index}_id2, {n})\n{text}\n#pragma pack(pop, r{index}_id2)\n"
    if form == "zero":
        return f"\n#pragma pack(push, {n})\n#pragma pack(0)\n{text}\n#pragma pack(pop)\n"
    if form == "sso":
        order = draw(st.sampled_from(["big-endian", "little-endian"]))
        return f"\n#ifndef __clang__\n#pragma scalar_storage_order {order}\n#endif\n{text}\n" \
               f"#ifndef __clang__\n#pragma scalar_storage_order default\n#endif\n"
    return text




def generate_header(n: int, seed_value: int = 20261127) -> str:
    """n random record definitions, deterministic for a seed, as one header's text."""
    out: list[str] = []

    @seed(seed_value)
    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def _collect(data):
        out.append(data.draw(c_record(len(out))))

    _collect()
    return "/* generated by tests/ctypes_strategy.py */\n" + "\n".join(out) + "\n"
