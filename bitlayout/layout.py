"""The ABI layout engine: pure Python, no I/O, keyed on the profile.

It takes the declaration table from ``bitlayout.cfront`` and a ``Profile`` and answers size,
alignment, member offsets and bitfield positions the way GCC's ``stor-layout.c`` does for the
System V family of psABIs (every Linux ABI here uses PCC_BITFIELD_TYPE_MATTERS).  Each deviation
from the common rules is a named field of ``profile.layout`` (``LayoutRules``) with one branch
here, never a test of the architecture's name.

Units: the engine works in bits for positions (``offset_bits``) and bytes for sizes and
alignments (``size_bytes``, ``align_bytes``), as the contract does.

``layout_headers`` is the only function here that touches files (through cfront's
preprocessing); everything below ``LayoutSet`` is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from pycparser import c_ast

from . import cfront
from .cfront import Attr, CType, StaticAssert, TagDef, TranslationUnit, TypedefDecl
from .errors import CParseError, LayoutError
from .results import LAYOUT_SCHEMA

# Arrays larger than this are a typo or an attack, not a kernel type.
MAX_OBJECT_BYTES = 1 << 40


@dataclass(frozen=True)
class Member:
    name: str
    offset_bits: int
    size_bits: int
    bitfield: bool
    type: "TypeLayout"


@dataclass(frozen=True)
class TypeLayout:
    name: str
    kind: str  # struct union enum scalar array pointer typedef func void
    size_bytes: int
    align_bytes: int  # C11 _Alignof
    members: tuple[Member, ...] = ()  # declared members; anonymous struct/union members nested
    element: "TypeLayout | None" = None  # array element, pointee, typedef target, enum base
    count: int | None = None  # array length (None for a flexible array)
    c_type: str = ""
    gnu_align_bytes: int = 0  # GCC __alignof__ (the preferred alignment, 8 for double on i386)
    unsigned: bool = False  # integer/enum types
    user_aligned: bool = False  # alignment set by an attribute or _Alignas (TYPE_USER_ALIGN)
    complete: bool = True
    integer: bool = False  # may be a bitfield's declared type
    pointee: object = field(default=None, compare=False, repr=False)  # cfront.CType, laid out on demand

    def flat_members(self, base_bits: int = 0) -> list[Member]:
        """Members with anonymous struct/union members flattened (absolute offsets)."""
        t = self.resolved()
        out: list[Member] = []
        for m in t.members:
            if not m.name and not m.bitfield and m.type.resolved().kind in ("struct", "union"):
                out.extend(m.type.resolved().flat_members(base_bits + m.offset_bits))
            elif m.name:
                out.append(Member(m.name, base_bits + m.offset_bits, m.size_bits, m.bitfield, m.type))
        return out

    def resolved(self) -> "TypeLayout":
        t = self
        while t.kind == "typedef" and t.element is not None:
            t = t.element
        return t

    def contract_members(self) -> list[dict]:
        """``flat_members()`` as the contract's plain dicts (without building Member objects)."""
        out: list[dict] = []
        _flat_dicts(self.resolved(), 0, out)
        return out

    def to_contract(self) -> dict:
        if not self.complete:
            # No size exists (C11 6.2.5: incomplete type); 0/1 would be made up.  The typedef
            # still appears (every typedef does), marked; docs/cfront.md "Incomplete types".
            return {"size": None, "align": None, "incomplete": True, "members": []}
        return {
            "size": self.size_bytes,
            "align": self.align_bytes,
            "members": self.contract_members(),
        }


def _flat_dicts(t: "TypeLayout", base_bits: int, out: list) -> None:
    # the same walk as TypeLayout.flat_members
    for m in t.members:
        if not m.name and not m.bitfield and m.type.resolved().kind in ("struct", "union"):
            _flat_dicts(m.type.resolved(), base_bits + m.offset_bits, out)
        elif m.name:
            out.append({"name": m.name, "offset_bits": base_bits + m.offset_bits, "size_bits": m.size_bits})


_VOID = TypeLayout("void", "void", 1, 1, c_type="void", gnu_align_bytes=1, complete=False)
_FUNC = TypeLayout("function", "func", 1, 1, c_type="function", gnu_align_bytes=1, complete=False)


# ---------------------------------------------------------------------------
# Integer types for constant expressions: (rank, bits, unsigned)

@dataclass(frozen=True)
class _IT:
    rank: int
    bits: int
    unsigned: bool

    def wrap(self, v: int) -> int:
        v &= (1 << self.bits) - 1
        if not self.unsigned and v >> (self.bits - 1):
            v -= 1 << self.bits
        return v


class LayoutSet:
    """Every type of one translation unit laid out for one profile."""

    def __init__(self, tu: TranslationUnit, profile, macros: Mapping[str, str] | None = None):
        self.tu = tu
        self.profile = profile
        self.rules = profile.layout
        self._cache: dict[str, TypeLayout] = {}
        self._busy: set[str] = set()
        self._enum_values: dict[str, list[tuple[str, int]]] = {}
        s = profile.scalars
        self._int = _IT(1, 8 * s["int"].size_bytes, False)
        self._uint = _IT(1, 8 * s["int"].size_bytes, True)
        self._long = _IT(2, 8 * s["long"].size_bytes, False)
        self._ulong = _IT(2, 8 * s["long"].size_bytes, True)
        self._llong = _IT(3, 8 * s["long_long"].size_bytes, False)
        self._ullong = _IT(3, 8 * s["long_long"].size_bytes, True)
        self._raw_macros = macros if macros is not None else {}  # may be cfront.LazyMacros
        self._expr_gnu: frozenset = frozenset()
        self._macros: dict[str, int] | None = None
        # Arches with the same ABI parameters (every input of the rules below) lay the same
        # declaration table out identically: within one process, share that work (x86_64, alpha,
        # mips64, sparc64... are one computation).  Never across processes; no result is stored.
        self._used_macros = False
        self._typenames: dict[int, tuple] = {}
        key = (id(tu), _abi_key(profile))
        hit = _SHARED.get(key)
        if hit is not None and hit[0] is tu and (hit[1] is None or hit[1] is self._raw_macros):
            # copies: what this LayoutSet lays out later on demand stays its own
            self._cache, self._enum_values, self.types = dict(hit[2]), dict(hit[3]), dict(hit[4])
            return
        self.types: dict[str, TypeLayout] = {}
        with cfront.no_gc():
            for name in tu.defined_type_names():
                self.types[name] = self._named(name)
            # every enumerator of the input files is a constant expression the compiler evaluates
            for item in tu.items:
                if isinstance(item, TagDef) and item.kind == "enum" and item.fields is not None \
                        and (not tu.input_files or item.file in tu.input_files):
                    self._enumerators(item.key)
            # _Static_assert is evaluated per arch; a failure names the arch.
            for item in tu.items:
                if isinstance(item, StaticAssert):
                    if not self._eval(item.cond)[0]:
                        raise LayoutError(
                            f"static assertion failed on {profile.name}: {item.message or '(no message)'}",
                            path=item.coord)
        if len(_SHARED) >= 64:
            _SHARED.clear()
        # a result that looked a macro up is only shared with the same macro table
        _SHARED[key] = (tu, self._raw_macros if self._used_macros else None, dict(self._cache),
                        dict(self._enum_values), dict(self.types))

    # -- public ---------------------------------------------------------------
    @property
    def enum_constants(self) -> dict[str, int]:
        out = {}
        for name, (key, idx) in self.tu.enum_constants.items():
            out[name] = self._enumerators(key)[idx][1]
        return out

    @property
    def macros(self) -> dict[str, int]:
        if self._macros is None:
            self._macros = {}
            for name, text in self._raw_macros.items():
                try:
                    self._macros[name] = self.eval(text)
                except (LayoutError, CParseError):
                    continue
        return self._macros

    def eval(self, expr: str) -> int:
        """A C constant expression on this arch: integer arithmetic with C's types, ``sizeof``,
        ``_Alignof``/``alignof`` (C11: the ABI alignment), ``__alignof__`` (GCC's preferred
        alignment: ``gnu_align`` of the profile for scalars, 8 for ``long long`` on i386; a
        struct's is the max of its members' in-struct alignments, so 4 for
        ``struct { long long x; }`` on i386), ``offsetof``/``__builtin_offsetof`` with nested
        ``a.b`` and array ``a[2]`` designators, casts, enumerators and object-like macros."""
        node, gnu = _parse_expr(expr, tuple(self.tu.typedefs))
        self._expr_gnu = gnu
        try:
            return self._eval(node)[0]
        finally:
            self._expr_gnu = frozenset()

    def enumerators(self, enum_name: str) -> dict[str, int]:
        """The enumerators of one enum, in declaration order, with their values on this arch.

        ``enum_name``: ``"enum X"``, the tag ``"X"``, or a typedef name of an enum type."""
        key = enum_name if enum_name.startswith("enum ") else f"enum {enum_name}"
        td = self.tu.typedefs.get(enum_name)
        seen = set()
        while td is not None and enum_name not in seen:  # typedef chains to the enum tag
            seen.add(enum_name)
            ct = td.ctype
            if ct.kind == "tag":
                key = ct.name
                break
            if ct.kind != "typedef":
                break
            enum_name = ct.name
            td = self.tu.typedefs.get(enum_name)
        tag = self.tu.tags.get(key)
        if tag is None or tag.kind != "enum":
            known = ", ".join(k for k, t in self.tu.tags.items() if t.kind == "enum" and t.name)[:200]
            raise LayoutError(f"no enum {enum_name!r} (enums: {known or 'none'})")
        if tag.fields is None:
            raise LayoutError(f"{key!r} is declared but never defined", path=tag.coord)
        return dict(self._enumerators(key))

    def type(self, name: str) -> TypeLayout:
        if name in self.types:
            return self.types[name]
        return self._named(name)

    def to_contract(self) -> dict:
        with cfront.no_gc():
            return {"types": {name: t.to_contract() for name, t in self.types.items()}}

    def pointee(self, t: TypeLayout) -> TypeLayout:
        """The layout of what a pointer (or array) type points to, laid out on demand (pointer
        layouts do not carry it: `struct list { struct list *next; }` would never end)."""
        return self._deref(t, "<input>")

    # -- names ----------------------------------------------------------------
    def _named(self, name: str) -> TypeLayout:
        if name.split(" ", 1)[0] in ("struct", "union", "enum"):
            return self._tag(name, "<input>")
        if name in self.tu.typedefs:
            return self._typedef(name)
        return self._ctype(cfront.scalar_from_names(name.split(), "<input>"), "<input>")

    def _typedef(self, name: str) -> TypeLayout:
        key = "typedef " + name
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        td: TypedefDecl = self.tu.typedefs[name]
        target = self._ctype(td.ctype, td.coord)
        align, gnu, user = target.align_bytes, target.gnu_align_bytes, target.user_aligned
        al = self._decl_align(td.attrs, td.alignas, td.coord)
        if al is not None:
            # GCC: on a typedef, `aligned` may raise *or lower* the alignment (docs: "When used as
            # part of a typedef, the aligned attribute can both increase and decrease alignment").
            align = gnu = al
            user = True
        out = TypeLayout(name, "typedef", target.size_bytes, align, (), target, None, name, gnu,
                         target.unsigned, user, target.complete, target.integer)
        self._cache[key] = out
        return out

    # -- types ----------------------------------------------------------------
    def _ctype(self, ct: CType, where: str) -> TypeLayout:
        k = ct.kind
        if k == "scalar":
            return self._scalar(ct.name, ct.unsigned, ct.spelled or ct.name, where)
        if k == "pointer":
            s = self.profile.scalars["pointer"]
            # the pointee is laid out only on demand: `struct list { struct list *next; }`
            return TypeLayout("pointer", "pointer", s.size_bytes, s.align_bytes, c_type="pointer",
                              gnu_align_bytes=s.gnu_align_bytes, unsigned=True, pointee=(ct.of, where))
        if k == "typedef":
            return self._typedef(ct.name)
        if k == "tag":
            return self._tag(ct.name, where)
        if k == "array":
            elem = self._ctype(ct.of, where)
            if not elem.complete:
                raise LayoutError(f"array of incomplete type {elem.c_type!r}", path=where)
            if ct.count is None:
                n = None
            else:
                n = self._eval(ct.count)[0]
                if n < 0:
                    raise LayoutError(f"negative array size {n}", path=where)
            size = elem.size_bytes * (n or 0)
            if size > MAX_OBJECT_BYTES:
                raise LayoutError(f"array size {size} bytes is absurd (> {MAX_OBJECT_BYTES})", path=where)
            # An array has its element's alignment, both _Alignof and GCC's preferred one.
            return TypeLayout(f"{elem.c_type}[{'' if n is None else n}]", "array", size, elem.align_bytes,
                              (), elem, n, f"{elem.c_type}[{'' if n is None else n}]",
                              elem.gnu_align_bytes, complete=n is not None)
        if k == "func":
            return _FUNC
        if k == "typeof":
            if ct.of is not None:
                return self._ctype(ct.of, where)
            return self._expr_type(ct.expr)
        raise LayoutError(f"unsupported type kind {k}", path=where)

    def _scalar(self, key: str, unsigned: bool, spelled: str, where: str) -> TypeLayout:
        if key == "void":
            return _VOID
        if key == "char" and spelled == "char":
            unsigned = not self.profile.char_signed
        try:
            s = self.profile.scalars[key]
        except KeyError:
            raise LayoutError(f"type {spelled!r} does not exist on {self.profile.name}", path=where) from None
        integer = key not in ("float", "double", "long_double", "pointer")
        return TypeLayout(spelled, "scalar", s.size_bytes, s.align_bytes, c_type=spelled,
                          gnu_align_bytes=s.gnu_align_bytes, unsigned=unsigned, integer=integer)

    def _tag(self, key: str, where: str) -> TypeLayout:
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        td = self.tu.tags.get(key)
        if td is None:
            td = TagDef(key.split(" ", 1)[0], key.split(" ", 1)[1], key, None)
        if td.kind == "enum":
            out = self._enum(td)
        elif td.fields is None:
            out = TypeLayout(key, td.kind, 0, 1, c_type=key, gnu_align_bytes=1, complete=False)
            return out
        else:
            if key in self._busy:
                raise LayoutError(f"{key!r} contains itself by value", path=td.coord)
            self._busy.add(key)
            try:
                out = self._record(td)
            finally:
                self._busy.discard(key)
        self._cache[key] = out
        return out

    # -- attributes -------------------------------------------------------------
    def _attr_value(self, attr: Attr, where: str) -> int:
        if attr.arg is None:
            # bare `aligned`: the target's __BIGGEST_ALIGNMENT__ (GCC manual, Common Type Attributes)
            return self.rules.biggest_alignment_bytes
        node = self.tu.attr_args[attr.arg[1]]
        v = self._eval(node)[0]
        if v <= 0 or v & (v - 1):
            raise LayoutError(f"requested alignment {v} is not a positive power of 2", path=where)
        return v

    def _decl_align(self, attrs, alignas, where) -> int | None:
        """Alignment requested on a declaration by aligned(N) / _Alignas (None: none)."""
        req = None
        for a in attrs:
            if a.name == "aligned":
                v = self._attr_value(a, where)
                req = v if req is None else max(req, v)
        for al in alignas:
            node = al.alignment if isinstance(al, c_ast.Alignas) else al
            if isinstance(node, c_ast.Typename):
                v = self._typename(node).align_bytes
            else:
                v = self._eval(node)[0]
            if v == 0:
                continue  # _Alignas(0) has no effect (C11 6.7.5p6)
            if v < 0 or v & (v - 1):
                raise LayoutError(f"requested alignment {v} is not a positive power of 2", path=where)
            req = v if req is None else max(req, v)
        return req

    # -- records ----------------------------------------------------------------
    def _record(self, td: TagDef) -> TypeLayout:
        """GCC stor-layout.c place_field/update_alignment_for_field, non-MS bitfield layout."""
        r = self.rules
        where = td.coord
        struct_packed = any(a.name == "packed" for a in td.attrs)
        # #pragma pack(n): GCC maximum_field_alignment, caps every field's DECL_ALIGN and turns off
        # the PCC bit-field unit rule (stor-layout.c place_field / layout_decl)
        mfa = 8 * max([self._attr_value(a, where) for a in td.attrs if a.name == "pack"] or [0])
        is_union = td.kind == "union"
        record_align = r.struct_min_align_bytes * 8  # bits; STRUCTURE_SIZE_BOUNDARY
        bitpos = 0
        size_bits = 0
        members: list[Member] = []
        seen_names: set[str] = set()
        nfields = len(td.fields)
        for idx, f in enumerate(td.fields):
            fwhere = f.coord if f.coord != "<input>" else where
            t = self._ctype(f.ctype, fwhere)
            if f.name:
                if f.name in seen_names:
                    raise LayoutError(f"duplicate member {f.name!r}", path=fwhere)
                seen_names.add(f.name)
            packed = struct_packed or any(a.name == "packed" for a in f.attrs)
            user_align = self._decl_align(f.attrs, f.alignas, fwhere)
            if f.bits is not None:
                width = self._eval(f.bits)[0]
                rt = t.resolved()
                if not (rt.integer or rt.kind == "enum"):
                    raise LayoutError(f"bit-field {f.name or '(unnamed)'!r} has non-integer type {t.c_type!r}",
                                      path=fwhere)
                tbits = 8 * t.size_bytes
                if rt.c_type == "_Bool":
                    tbits = 1
                if width < 0:
                    raise LayoutError(f"negative width {width} in bit-field {f.name or '(unnamed)'!r}", path=fwhere)
                if width > tbits:
                    raise LayoutError(f"width {width} of bit-field {f.name or '(unnamed)'!r} exceeds its type "
                                      f"({tbits} bits)", path=fwhere)
                if width == 0 and f.name:
                    raise LayoutError(f"zero width for bit-field {f.name!r}", path=fwhere)
                type_align = 8 * t.align_bytes  # ADJUST_FIELD_ALIGN: _Alignof, the in-struct alignment
                if not r.pcc_bitfield_type_matters:
                    bitpos, pos, record_align, size_bits = self._bitfield_no_pcc(
                        f, t, width, packed, user_align, bitpos, record_align, size_bits, is_union)
                    if f.name and width:
                        members.append(Member(f.name, pos, width, True, t))
                    continue
                if width == 0:
                    # A zero-width bit-field aligns the next field to its type's alignment; packing
                    # does not apply to it, nor does #pragma pack (stor-layout.c: "Those are not
                    # influenced by #pragmas or packed attributes"; measured on all 26 arches).
                    if not is_union:
                        bitpos = _round_up(bitpos, type_align)
                    if r.unnamed_bitfield_affects_alignment:
                        record_align = max(record_align, type_align)
                    continue
                # a bit-field's DECL_ALIGN is one bit, unless aligned()/_Alignas sets it: then even
                # aligned(1) moves the field to the next byte (DECL_USER_ALIGN, place_field)
                desired = 8 * user_align if user_align else 1
                if mfa:
                    desired = min(desired, mfa)
                if user_align and not is_union:
                    bitpos = _round_up(bitpos, desired)
                pos = 0 if is_union else bitpos
                # PCC_BITFIELD_TYPE_MATTERS: a bit-field may not span more alignment units of its
                # type than the type itself has (stor-layout.c excess_unit_span); a packed field
                # never moves (GCC >= 4.4 only "informs" that its offset changed).
                if not is_union and not packed and not mfa:
                    if _excess_unit_span(pos, width, type_align, 8 * t.size_bytes):
                        pos = _round_up(pos, type_align)
                if f.name or r.unnamed_bitfield_affects_alignment:
                    ta = min(type_align, mfa) if mfa else (8 if packed else type_align)
                    if r.bitfield_type_affects_alignment:
                        record_align = max(record_align, ta)
                    record_align = max(record_align, desired)
                if f.name:
                    members.append(Member(f.name, pos, width, True, t))
                if is_union:
                    size_bits = max(size_bits, _round_up(width, 8))
                else:
                    bitpos = pos + width
                continue
            # ordinary member
            if not t.complete:
                last = idx == nfields - 1 and not is_union
                if not (t.kind == "array" and t.count is None and t.element is not None and t.element.complete):
                    raise LayoutError(f"member {f.name or '(anonymous)'!r} has incomplete type {t.c_type!r}",
                                      path=fwhere)
                if not last:
                    raise LayoutError(f"flexible array member {f.name!r} not at the end of {td.key!r}",
                                      path=fwhere)
            if t.resolved().kind == "struct" and _has_flexible_tail(t.resolved()) and idx != nfields - 1 \
                    and not is_union:
                pass  # GNU extension: allowed, GCC only warns with -pedantic
            align = t.align_bytes
            if packed:
                # GCC layout_decl: packing supersedes alignment inherited from the type, but an
                # explicit aligned() on the field itself is kept.
                align = user_align if user_align else 1
            elif user_align:
                align = max(align, user_align)
            if mfa:
                align = min(align, mfa // 8)
            if not is_union:
                bitpos = _round_up(bitpos, 8 * align)
                pos = bitpos
                bitpos += 8 * t.size_bytes
            else:
                pos = 0
                size_bits = max(size_bits, 8 * t.size_bytes)
            record_align = max(record_align, 8 * align)
            members.append(Member(f.name or "", pos, 8 * t.size_bytes, False, t))
        type_align_req = self._decl_align([a for a in td.attrs if a.name == "aligned"], (), where)
        # (the pack attribute is not an alignment request)
        if type_align_req:
            record_align = max(record_align, 8 * type_align_req)
        end = size_bits if is_union else bitpos
        size = _round_up(end, record_align) // 8
        if size > MAX_OBJECT_BYTES:
            raise LayoutError(f"{td.key} is {size} bytes, absurd", path=where)
        name = td.key
        return TypeLayout(name, td.kind, size, record_align // 8, tuple(members), c_type=name,
                          gnu_align_bytes=record_align // 8, user_aligned=bool(type_align_req))

    def _bitfield_no_pcc(self, f, t, width, packed, user_align, bitpos, record_align, size_bits, is_union):
        """Bit-field placement without PCC_BITFIELD_TYPE_MATTERS (m68k), stor-layout.c:

        - the declared type neither aligns the field nor the struct: bits follow bits;
        - a zero-width field aligns to EMPTY_FIELD_BOUNDARY and raises the struct's alignment to it;
        - layout_decl turns a field whose width is exactly an integer mode (8/16/32/64) into an
          ordinary field of that mode when its position is already aligned for the mode: then the
          mode's alignment raises the struct's alignment ("known_align >= xalign").
        """
        s = self.profile.scalars
        desired = 8 * user_align if user_align else 1  # a bit-field's DECL_ALIGN is one bit
        if width == 0:
            desired = max(desired, 8 * self.rules.empty_field_boundary_bytes)
            if not is_union:
                bitpos = _round_up(bitpos, desired)
            return bitpos, bitpos, max(record_align, desired), size_bits
        pos = 0 if is_union else _round_up(bitpos, desired)
        modes = {8: s["char"], 16: s["short"], 32: s["int"], 64: s["long_long"]}
        if width in modes:
            xalign = 8 * modes[width].gnu_align_bytes
            known = pos & -pos if pos else 1 << 30
            if not (xalign > 8 and packed) and known >= xalign:
                desired = max(desired, xalign)
        record_align = max(record_align, desired)
        if is_union:
            return bitpos, 0, record_align, max(size_bits, _round_up(width, 8))
        return pos + width, pos, record_align, size_bits

    # -- enums ------------------------------------------------------------------
    def _enumerators(self, key: str) -> list[tuple[str, int]]:
        hit = self._enum_values.get(key)
        if hit is not None:
            return hit
        td = self.tu.tags[key]
        values: list[tuple[str, int]] = []
        self._enum_values[key] = values  # partial: earlier enumerators visible to later ones
        nxt = 0
        for name, expr in td.enumerators:
            v = self._eval(expr)[0] if expr is not None else nxt
            values.append((name, v))
            nxt = v + 1
        return values

    def _enum(self, td: TagDef) -> TypeLayout:
        if td.fields is None:
            raise LayoutError(f"{td.key!r} is declared but never defined", path=td.coord)
        vals = [v for _, v in self._enumerators(td.key)] or [0]
        lo, hi = min(vals), max(vals)
        unsigned = lo >= 0
        packed = any(a.name == "packed" for a in td.attrs)
        s = self.profile.scalars
        # GCC c-decl.c finish_enum: the smallest integer type holding every value, at least int
        # unless packed (-fshort-enums / __attribute__((packed))); unsigned when no value is negative.
        candidates = [("char", s["char"]), ("short", s["short"]), ("int", s["int"]),
                      ("long", s["long"]), ("long_long", s["long_long"])]
        min_size = 1 if packed else self.rules.enum_min_size_bytes
        for key, sc in candidates:
            if sc.size_bytes < min_size:
                continue
            bits = 8 * sc.size_bytes
            if unsigned and hi < (1 << bits) or not unsigned and lo >= -(1 << (bits - 1)) and hi < (1 << (bits - 1)):
                break
        else:
            raise LayoutError(f"enumerator values of {td.key!r} do not fit in any integer type", path=td.coord)
        base = self._scalar(key, unsigned, key, td.coord)
        align, gnu = base.align_bytes, base.gnu_align_bytes
        al = self._decl_align([a for a in td.attrs if a.name == "aligned"], (), td.coord)
        if al:
            align = gnu = max(align, al)
        return TypeLayout(td.key, "enum", base.size_bytes, align, (), base, c_type=td.key,
                          gnu_align_bytes=gnu, unsigned=unsigned, integer=True)

    # -- expressions --------------------------------------------------------------
    def _typename(self, node: c_ast.Typename) -> TypeLayout:
        hit = self._typenames.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        b = cfront._Builder(cfront.Normalized("", {}, {}, set()), ())
        b.typedefs = self.tu.typedefs
        # a tag first named or defined inside sizeof() is added to the table (rare; copying the
        # whole table per sizeof() was a third of the layout time on the UAPI corpus)
        b.tags = self.tu.tags
        b.anon = 10 ** 6
        ct = b.ctype(node.type, node.coord)
        out = self._ctype(ct, cfront._coord(node.coord))
        self._typenames[id(node)] = (node, out)  # the node is kept alive: its id stays unique
        return out

    def _int_of_layout(self, t: TypeLayout) -> _IT:
        r = t.resolved()
        rank = {1: 0, 2: 0, 4: 1, 8: 3, 16: 4}.get(r.size_bytes, 1)
        if r.size_bytes == self._long.bits // 8 and r.c_type.startswith("long") or "long" in r.c_type \
                and "long long" not in r.c_type:
            rank = 2
        return _IT(rank, 8 * r.size_bytes, r.unsigned or r.kind == "pointer")

    def _expr_type(self, node) -> TypeLayout:
        """The type of an expression, for sizeof/typeof (the subset headers use)."""
        if isinstance(node, c_ast.Cast):
            return self._typename(node.to_type)
        if isinstance(node, c_ast.Constant):
            _, it = self._eval(node)
            return self._int_layout(it)
        if isinstance(node, c_ast.ID):
            if node.name in self.tu.enum_constants:
                return self._int_layout(self._eval(node)[1])
            raise LayoutError(f"{node.name!r} is not a constant", path=cfront._coord(node.coord))
        if isinstance(node, c_ast.StructRef):
            base = self._expr_type(node.name)
            if node.type == "->":
                base = self._deref(base, cfront._coord(node.coord))
            m = _find_member(base.resolved(), node.field.name)
            if m is None:
                raise LayoutError(f"no member {node.field.name!r} in {base.c_type!r}", path=cfront._coord(node.coord))
            return m[1].type
        if isinstance(node, c_ast.ArrayRef):
            return self._deref(self._expr_type(node.name), cfront._coord(node.coord))
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            return self._deref(self._expr_type(node.expr), cfront._coord(node.coord))
        if isinstance(node, c_ast.UnaryOp) and node.op in ("sizeof", "_Alignof"):
            return self._int_layout(self._ulong)
        _, it = self._eval(node)
        return self._int_layout(it)

    def _deref(self, t: TypeLayout, where: str) -> TypeLayout:
        r = t.resolved()
        if r.kind == "pointer" and r.pointee is not None:
            return self._ctype(*r.pointee)
        if r.kind == "array" and r.element is not None:
            return r.element
        raise LayoutError(f"dereference of non-pointer type {t.c_type!r}", path=where)

    def _int_layout(self, it: _IT) -> TypeLayout:
        key = {1: "int", 2: "long", 3: "long_long", 4: "int128", 0: "int"}[it.rank]
        return self._scalar(key, it.unsigned, key, "<expr>")

    def _offsetof(self, t: TypeLayout, path_node, where) -> int:
        """offsetof(T, a.b[2].c) in bytes."""
        steps = []
        n = path_node
        while True:
            if isinstance(n, c_ast.ID):
                steps.append(("m", n.name))
                break
            if isinstance(n, c_ast.StructRef):
                steps.append(("m", n.field.name))
                n = n.name
            elif isinstance(n, c_ast.ArrayRef):
                steps.append(("i", self._eval(n.subscript)[0]))
                n = n.name
            else:
                raise LayoutError("unsupported offsetof designator", path=where)
        bits = 0
        cur = t
        for kind, v in reversed(steps):
            if kind == "m":
                found = _find_member(cur.resolved(), v)
                if found is None:
                    raise LayoutError(f"no member {v!r} in {cur.c_type!r}", path=where)
                off, m = found
                if m.bitfield:
                    raise LayoutError(f"offsetof a bit-field {v!r}", path=where)
                bits += off
                cur = m.type
            else:
                el = cur.resolved().element
                if el is None:
                    raise LayoutError("subscript of a non-array in offsetof", path=where)
                bits += 8 * el.size_bytes * v
                cur = el
        return bits // 8

    def _eval(self, node) -> tuple[int, _IT]:
        where = cfront._coord(getattr(node, "coord", None))
        if isinstance(node, c_ast.Constant):
            return self._constant(node, where)
        if isinstance(node, c_ast.ID):
            ec = self.tu.enum_constants.get(node.name)
            if ec is None:
                if node.name in self._raw_macros:
                    self._used_macros = True
                    sub, gnu = _parse_expr(self._raw_macros[node.name], tuple(self.tu.typedefs))
                    saved, self._expr_gnu = self._expr_gnu, gnu
                    try:
                        return self._eval(sub)
                    finally:
                        self._expr_gnu = saved
                raise LayoutError(f"{node.name!r} is not an integer constant", path=where)
            key, idx = ec
            vals = self._enumerators(key)
            if idx >= len(vals):
                raise LayoutError(f"enumerator {node.name!r} used in its own definition", path=where)
            v = vals[idx][1]
            it = self._int if -(1 << 31) <= v < (1 << 31) else (self._ullong if v >= 0 else self._llong)
            return v, it
        if isinstance(node, c_ast.UnaryOp):
            op = node.op
            if op == "sizeof":
                t = self._typename(node.expr) if isinstance(node.expr, c_ast.Typename) else self._expr_type(node.expr)
                if not t.complete and t.kind not in ("void", "func"):
                    raise LayoutError(f"sizeof of incomplete type {t.c_type!r}", path=where)
                return t.size_bytes, self._ulong
            if op == "_Alignof":
                t = self._typename(node.expr) if isinstance(node.expr, c_ast.Typename) else self._expr_type(node.expr)
                key = node.coord and (node.coord.file, node.coord.line, node.coord.column)
                gnu = key in self.tu.gnu_alignof or key in self._expr_gnu
                return (t.gnu_align_bytes if gnu else t.align_bytes), self._ulong
            if op == "&":
                return self._address(node.expr, where)
            v, it = self._eval(node.expr)
            it = self._promote(it)
            if op == "-":
                return it.wrap(-v), it
            if op == "+":
                return v, it
            if op == "~":
                return it.wrap(~v), it
            if op == "!":
                return int(not v), self._int
            raise LayoutError(f"operator {op!r} in a constant expression", path=where)
        if isinstance(node, c_ast.BinaryOp):
            op = node.op
            if op == "&&":
                a = self._eval(node.left)[0]
                return (int(bool(self._eval(node.right)[0])) if a else 0), self._int
            if op == "||":
                a = self._eval(node.left)[0]
                return (1 if a else int(bool(self._eval(node.right)[0]))), self._int
            a, ta = self._eval(node.left)
            b, tb = self._eval(node.right)
            if op in ("<<", ">>"):
                it = self._promote(ta)
                if b < 0 or b >= it.bits:
                    raise LayoutError(f"shift count {b} out of range", path=where)
                return it.wrap(a << b if op == "<<" else a >> b), it
            it = self._common(ta, tb)
            a, b = it.wrap(a), it.wrap(b)
            if op in ("==", "!=", "<", ">", "<=", ">="):
                return int({"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b,
                            ">=": a >= b}[op]), self._int
            if op in ("/", "%"):
                if b == 0:
                    raise LayoutError("division by zero in a constant expression", path=where)
                q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates toward zero
                return it.wrap(q if op == "/" else a - q * b), it
            fn = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "&": lambda: a & b,
                  "|": lambda: a | b, "^": lambda: a ^ b}.get(op)
            if fn is None:
                raise LayoutError(f"operator {op!r} in a constant expression", path=where)
            return it.wrap(fn()), it
        if isinstance(node, c_ast.TernaryOp):
            c = self._eval(node.cond)[0]
            return self._eval(node.iftrue if c else node.iffalse)
        if isinstance(node, c_ast.Cast):
            t = self._typename(node.to_type)
            v, _ = self._eval(node.expr)
            r = t.resolved()
            if r.kind == "pointer":
                return v, _IT(2, 8 * r.size_bytes, True)
            if r.c_type == "_Bool":
                return int(bool(v)), self._int
            if not r.integer:
                raise LayoutError(f"cast to {t.c_type!r} in an integer constant expression", path=where)
            it = self._int_of_layout(t)
            return it.wrap(v), it
        if isinstance(node, c_ast.ExprList) and node.exprs:
            return self._eval(node.exprs[-1])
        if type(node).__name__ == "OffsetOf" or isinstance(node, getattr(c_ast, "OffsetOf", ())):
            t = self._typename(node.type)
            return self._offsetof(t, node.name, where), self._ulong
        if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID) \
                and node.name.name == "offsetof" and node.args is not None and len(node.args.exprs) == 2:
            # pycparser spells offsetof(T, designator) as a call with a Typename argument
            t = self._typename(node.args.exprs[0])
            return self._offsetof(t, node.args.exprs[1], where), self._ulong
        raise LayoutError(f"not an integer constant expression ({type(node).__name__})", path=where)

    def _address(self, node, where) -> tuple[int, _IT]:
        """&((T *)0)->a.b : the classic offsetof spelling."""
        path = []
        n = node
        while isinstance(n, (c_ast.StructRef, c_ast.ArrayRef)):
            if isinstance(n, c_ast.StructRef):
                path.append(n)
                if n.type == "->":
                    base = n.name
                    break
            else:
                path.append(n)
            n = n.name
        else:
            raise LayoutError("address of a non-member in a constant expression", path=where)
        if not isinstance(base, c_ast.Cast):
            raise LayoutError("address of a non-constant in a constant expression", path=where)
        pointee = self._deref(self._typename(base.to_type), where)
        start = self._eval(base.expr)[0]
        # rebuild a designator rooted at the first member
        designator = None
        for step in reversed(path):
            if isinstance(step, c_ast.StructRef):
                designator = c_ast.ID(step.field.name) if designator is None else \
                    c_ast.StructRef(designator, ".", step.field)
            else:
                designator = c_ast.ArrayRef(designator, step.subscript)
        return start + self._offsetof(pointee, designator, where), self._ulong

    def _constant(self, node, where) -> tuple[int, _IT]:
        text = node.value
        if node.type == "char" or text.startswith("'") or text[:2] in ("L'", "u'", "U'"):
            body = text[text.index("'") + 1:-1]
            v = _char_value(body)
            return (v - 256 if v > 127 and self.profile.char_signed else v), self._int
        if node.type not in ("int", "long int", "unsigned int", "long long int", "unsigned long int",
                             "unsigned long long int", "long unsigned int", "long long unsigned int") \
                and not text[:1].isdigit():
            raise LayoutError(f"not an integer constant: {text!r}", path=where)
        t = text.lower()
        suffix = ""
        while t and t[-1] in "ul":
            suffix = t[-1] + suffix
            t = t[:-1]
        try:
            if t.startswith("0x"):
                v = int(t, 16)
            elif t.startswith("0b"):
                v = int(t[2:], 2)
            elif t.startswith("0") and len(t) > 1:
                v = int(t, 8)
            else:
                v = int(t, 10)
        except ValueError:
            raise LayoutError(f"not an integer constant: {text!r}", path=where) from None
        decimal = not t.startswith("0") or t == "0"
        u = "u" in suffix
        nl = suffix.count("l")
        cands = []
        if nl == 0:
            cands = [self._int, self._uint] if not decimal else [self._int]
            if u:
                cands = [self._uint]
        if nl <= 1:
            cands += [self._long, self._ulong] if not decimal else [self._long]
            if u:
                cands = [c for c in cands if c.unsigned] or [self._ulong]
        cands += [self._llong, self._ullong] if not decimal or u else [self._llong]
        if u:
            cands = [c for c in cands if c.unsigned]
        for c in cands:
            if (c.unsigned and v < (1 << c.bits)) or (not c.unsigned and v < (1 << (c.bits - 1))):
                return v, c
        return v, self._ullong

    def _promote(self, it: _IT) -> _IT:
        if it.rank < 1:
            return self._int
        return it

    def _common(self, a: _IT, b: _IT) -> _IT:
        """C11 6.3.1.8 usual arithmetic conversions for integer operands."""
        a, b = self._promote(a), self._promote(b)
        if a.unsigned == b.unsigned:
            return a if a.rank >= b.rank else b
        u, s = (a, b) if a.unsigned else (b, a)
        if u.rank >= s.rank:
            return u
        if s.bits > u.bits:
            return s
        return _IT(s.rank, s.bits, True)


def _char_value(body: str) -> int:
    if not body.startswith("\\"):
        return ord(body[0]) if body else 0
    esc = body[1:]
    simple = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39,
              '"': 34, "?": 63, "e": 27}
    if esc.startswith("x"):
        return int(esc[1:], 16) & 0xFF
    if esc[:1].isdigit():
        return int(esc, 8) & 0xFF
    return simple.get(esc[:1], ord(esc[:1]))


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a if a > 1 else v


def _excess_unit_span(bitpos: int, width: int, align_bits: int, type_bits: int) -> bool:
    """stor-layout.c excess_unit_span: would the field span more `align` units than its type?"""
    if align_bits <= 1:
        return False
    off = bitpos % align_bits
    return (off + width + align_bits - 1) // align_bits > type_bits // align_bits


def _has_flexible_tail(t: TypeLayout) -> bool:
    return bool(t.members) and t.members[-1].type.kind == "array" and t.members[-1].type.count is None


def _find_member(t: TypeLayout, name: str) -> tuple[int, Member] | None:
    """Member by name, looking into anonymous struct/union members; returns (offset_bits, member)."""
    for m in t.members:
        if m.name == name:
            return m.offset_bits, m
        if not m.name and m.type.resolved().kind in ("struct", "union"):
            hit = _find_member(m.type.resolved(), name)
            if hit is not None:
                return m.offset_bits + hit[0], hit[1]
    return None


_EXPR_CACHE: dict = {}
_SHARED: dict = {}  # (id(tu), ABI key) -> (tu, macros if used else None, type cache, enum values, types)


def _abi_key(profile) -> tuple:
    """Every profile input the layout rules read.  LayoutSet never reads the arch's name (its
    messages name ``self.profile``), its endianness, ``bitfields_msb_first`` (offsets are counted
    in memory order from the start of the type on either bit order; renderers read it) or the
    prose ``source`` fields."""
    import dataclasses

    scalars = tuple(sorted((k, s.size_bytes, s.align_bytes, s.gnu_align_bytes) for k, s in profile.scalars.items()))
    rules = dataclasses.replace(profile.layout, source="", bitfields_msb_first=False)
    return (scalars, rules, profile.char_signed)


def _parse_expr(expr: str, typedef_names: tuple[str, ...]):
    key = (expr, typedef_names)
    hit = _EXPR_CACHE.get(key)
    if hit is not None:
        return hit
    prefix = "".join(f"typedef int {n};\n" for n in typedef_names)
    text = prefix + '# 1 "<expression>"\n' + f"_Static_assert(({expr}) || 1, \"\");\n"
    ast, norm = cfront.parse_text(text, "<expression>")
    out = (ast.ext[-1].cond.left, frozenset(norm.gnu_alignof))
    if len(_EXPR_CACHE) > 4096:
        _EXPR_CACHE.clear()
    _EXPR_CACHE[key] = out
    return out


# ---------------------------------------------------------------------------
# Entry points

def layout_text(text: str, profile, filename: str = "<input>", input_files: Iterable[str] = (),
                macros: Mapping[str, str] | None = None) -> LayoutSet:
    """Lay out already-preprocessed C for one profile (pure: no I/O)."""
    tu = cfront.build_table(text, filename, tuple(input_files))
    return LayoutSet(tu, profile, macros)


def layout_headers(paths, profile, include_dirs=(), defines={}, *, builtin: bool | None = None) -> LayoutSet:
    """Preprocess ``paths`` for ``profile`` (real compiler -E, else the built-in preprocessor),
    parse, and lay out every type."""
    paths = [Path(p) for p in paths]
    text, _how, macros = cfront.preprocess_for(paths, profile, include_dirs, defines, builtin=builtin)
    inputs = tuple(str(p) for p in paths) + tuple(str(p.resolve()) for p in paths)
    return layout_text(text, profile, str(paths[0]), inputs, macros)


def contract(sets: Mapping[str, LayoutSet], only: Sequence[str] = ()) -> dict:
    """The bitlayout.layout/1 document for several arches (``only``: just these type names)."""
    doc: dict = {"schema": LAYOUT_SCHEMA, "arches": {}}
    for arch, ls in sets.items():
        types = ls.to_contract()["types"]
        if only:
            types = {k: v for k, v in types.items() if k in only}
        doc["arches"][arch] = {"types": types}
    return doc
