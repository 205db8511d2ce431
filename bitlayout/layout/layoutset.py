"""The ABI layout engine: one translation unit laid out for one profile (pure: no I/O).

Sizes, alignments, member offsets and bit-field positions follow GCC's ``stor-layout.cc``
(``place_field``, ``update_alignment_for_field``, ``layout_decl``, ``excess_unit_span``) for the
System V family of psABIs; each deviation is a named field of ``profile.layout``
(``LayoutRules``) with one branch here, never a test of the architecture's name.  Where clang
lays a type out differently (``_Atomic`` rounding, vector ``_Alignof``), the branch is on
``rules.compiler``.

Three alignments per type, as GCC keeps them:
  ``gnu_align_bytes``   TYPE_ALIGN, what ``__alignof__`` answers (8 for ``long long`` on i386);
  ``field_align_bytes`` what a member of that type is aligned to inside a struct (after the
                        target's ADJUST_FIELD_ALIGN: 4 for ``long long`` on i386);
  ``align_bytes``       C11 ``_Alignof`` (GCC ``min_align_of_type``: the field alignment, capped
                        at ``__BIGGEST_ALIGNMENT__`` unless the alignment was user-requested).

Failures: a ``LayoutError`` is C that GCC rejects (the file is refused, naming the arch); an
``UnsupportedError`` is a construct the engine does not model: that type, and the types that
contain it by value, are reported ``{"unsupported": ...}`` and every other type is laid out.
"""

from __future__ import annotations

from typing import Mapping

from ..cfront import nodes as N
from ..cfront.nodes import CType
from ..cfront.table import (Attr, StaticAssert, TagDef, TranslationUnit, TypedefAgain, TypedefDecl, Unparsed,
                            VarDecl)
from ..errors import CParseError, LayoutError, UnsupportedError
from .constexpr import Evaluator
from .gccmode import BLK, X86_CAPPED_MODES, GccModes, Mode
from .typelayout import VOID, Member, TypeLayout, Unsupported


_FLOAT_KEYS = {"float", "double", "long_double", "float16", "fp16", "float128", "gnu_float128", "float64x",
               "float80", "ibm128", "bf16", "decimal32", "decimal64", "decimal128"}
_INT_KEYS = ("char", "short", "int", "long", "long_long", "int128")
# GCC machine modes (gcc/machmode.def) a `mode` attribute can name, by size class.
_INT_MODES = {"QI": 1, "HI": 2, "SI": 4, "DI": 8, "TI": 16, "byte": 1}
_FLOAT_MODES = {"SF": "float", "DF": "double", "XF": "float80", "TF": "float128", "HF": "float16", "BF": "bf16",
                "KF": "float128", "IF": "ibm128"}


class _Failed:
    """A cached unsupported result (so a type that cannot be laid out fails once, fast)."""

    __slots__ = ("error",)

    def __init__(self, error: UnsupportedError):
        self.error = error


class LayoutSet:
    """Every type of one translation unit laid out for one profile."""

    def __init__(self, tu: TranslationUnit, profile, macros: Mapping[str, str] | None = None, *,
                 compiler: str | None = None):
        self.tu = tu
        self.profile = profile
        self.rules = profile.layout
        self.compiler = compiler or self.rules.compiler
        self._modes = self._gcc_modes()
        self._raw_macros = macros if macros is not None else {}
        self._macros: dict[str, int] | None = None
        self._cache: dict[str, TypeLayout | _Failed] = {}
        self._busy: set[str] = set()
        self._enum_values: dict[str, list[tuple[str, int]]] = {}
        self._horizon: list[int] = []  # declaration sequence numbers a definition may see
        self._seq = {item.key: n for n, item in enumerate(tu.items) if isinstance(item, TagDef)}
        self._extra_tags: dict[str, TagDef] = {}
        self.ev = Evaluator(self)
        self.types: dict[str, TypeLayout] = {}
        self.unsupported: dict[str, Unsupported] = {}
        self.notes: list[str] = []  # static assertions the engine could not evaluate
        self.scalars_read: dict[str, tuple | None] = {}
        self._horizon_hits = 0  # answers "incomplete here, defined further down" given so far
        self._lay_out_everything()

    def for_profile(self, profile, macros: Mapping[str, str] | None = None) -> "LayoutSet":
        """This LayoutSet for another profile with the same ABI inputs (``layout.abi_key``), and
        that arch's own macros: the work done so far is shared, what is laid out later on demand
        is each one's own."""
        if profile is self.profile and macros is self._raw_macros:
            return self
        other = object.__new__(LayoutSet)
        other.__dict__.update(self.__dict__)
        other.profile, other.rules = profile, profile.layout
        other._modes = other._gcc_modes()
        other._raw_macros = macros if macros is not None else {}
        other._cache, other._enum_values = dict(self._cache), dict(self._enum_values)
        other.types, other.unsupported = dict(self.types), dict(self.unsupported)
        other._extra_tags, other.notes = dict(self._extra_tags), list(self.notes)
        other.scalars_read = dict(self.scalars_read)
        other._busy, other._horizon, other._macros = set(), [], None
        other.ev = Evaluator(other)
        return other

    def _gcc_modes(self) -> GccModes:
        word = self.rules.word_mode_bytes or self.profile.scalars["long"].size_bytes
        return GccModes(self.rules.strict_alignment, self.rules.gcc_biggest_alignment, 2 * word)

    def _strict_alignment(self) -> bool:
        """GCC's STRICT_ALIGNMENT, read only for a user-aligned aggregate and by i386's cap: a
        layout input from then on, so arches differing in it alone (x86_64 and mips64) still
        share the tables that never read it (``layout.layout_table``)."""
        if self.compiler != "gcc":
            return False
        self.scalars_read["<strict_alignment>"] = self.rules.strict_alignment
        return self.rules.strict_alignment

    def _record_mode(self, kind: str, size: int, align: int, members) -> Mode:
        self._strict_alignment()  # a mode depends on it (GccModes._strict_check)
        return self._modes.record(kind, size, align, members)

    # -- the whole translation unit ------------------------------------------------------
    def _lay_out_everything(self) -> None:
        """GCC lays out (and checks) every declaration; so do we, in source order."""
        tu = self.tu
        for n, item in enumerate(tu.items):
            self._horizon.append(n)
            try:
                if isinstance(item, TagDef):
                    self._guarded(item.key, lambda: self._tag(item.key, item.coord))
                    if item.kind == "enum" and item.fields is not None:
                        self._guarded(item.key, lambda: self._enumerators(item.key))
                elif isinstance(item, TypedefDecl):
                    self._guarded(item.name, lambda: self._typedef(item.name))
                elif isinstance(item, TypedefAgain):
                    self._typedef_again(item)
                elif isinstance(item, StaticAssert):
                    self._static_assert(item)
                elif isinstance(item, VarDecl):
                    self._variable(item)
                elif isinstance(item, Unparsed):
                    for name in item.names:
                        self._cache[_key_of(name)] = _Failed(UnsupportedError(item.reason, path=item.coord))
            finally:
                self._horizon.pop()
        for name in tu.defined_type_names():
            hit = self._cache.get(_key_of(name))
            if isinstance(hit, _Failed):
                self.unsupported[name] = Unsupported(name, _reason(hit.error))
            elif hit is not None:
                self.types[name] = hit
        for name, reason in tu.unsupported_names.items():
            if name in tu.defined_type_names():
                self.unsupported.setdefault(name, Unsupported(name, reason))
                self.types.pop(name, None)

    def _guarded(self, name: str, fn) -> None:
        try:
            fn()
        except UnsupportedError as exc:
            self._cache.setdefault(_key_of(name), _Failed(exc))

    def _variable(self, item: VarDecl) -> None:
        """A file-scope object's type is laid out where it is declared (GCC rejects `int v[-1];`
        and arrays of incomplete elements there; an incomplete struct object may be extern)."""
        try:
            self._ctype(item.ctype, item.coord)
        except UnsupportedError:
            pass  # not a type anyone asked for

    def _static_assert(self, item: StaticAssert) -> None:
        try:
            ok = self.ev.value(item.cond, item.coord)
        except UnsupportedError as exc:
            self.notes.append(f"static assertion at {item.coord} not checked: {_reason(exc)}")
            return
        if not ok:
            raise LayoutError(f"static assertion failed on {self.profile.name}: {item.message or '(no message)'}",
                              path=item.coord)

    def _typedef_again(self, item: TypedefAgain) -> None:
        try:
            a = self._ctype(item.first.ctype, item.first.coord)
            b = self._ctype(item.again.ctype, item.again.coord)
        except UnsupportedError:
            return
        if not self.compatible(a, b, strict=True):
            raise LayoutError(f"conflicting types for {item.again.name!r} ({a.c_type} and {b.c_type}) on "
                              f"{self.profile.name}", path=item.again.coord)

    # -- public ---------------------------------------------------------------------------
    @property
    def enum_constants(self) -> dict[str, int]:
        out = {}
        for name, (key, idx) in self.tu.enum_constants.items():
            try:
                out[name] = self._enumerators(key)[idx][1]
            except UnsupportedError:
                continue
        return out

    @property
    def macros(self) -> dict[str, int]:
        """Object-like integer macros of the input files that evaluate on this arch."""
        if self._macros is None:
            self._macros = {}
            for name in self._raw_macros:
                try:
                    self._macros[name] = self._eval_expanded(self._raw_macros[name])
                except (LayoutError, CParseError):
                    continue
        return self._macros

    def eval(self, expr: str) -> int:
        """A C constant expression on this arch.  Object-like macros of the input files are
        expanded first (as the preprocessor would), then integer arithmetic with C's types,
        ``sizeof``, ``_Alignof``/``alignof`` (C11: the ABI alignment), ``__alignof__`` (GCC's
        preferred alignment: 8 for ``long long`` on i386), ``offsetof`` with nested ``a.b`` and
        ``a[2]`` designators, casts and enumerators."""
        expand = getattr(self._raw_macros, "expand", None)
        return self._eval_expanded(expand(expr) if expand is not None else expr)

    def _eval_expanded(self, text: str) -> int:
        from ..cfront.parser import parse_expression

        node, extra = parse_expression(text, self.tu)
        self._extra_tags.update(extra)
        return self.ev.value(node, "<expression>")

    def enumerators(self, enum_name: str) -> dict[str, int]:
        """The enumerators of one enum, in declaration order, with their values on this arch.

        ``enum_name``: ``"enum X"``, the tag ``"X"``, or a typedef name of an enum type."""
        key = enum_name if enum_name.startswith("enum ") else f"enum {enum_name}"
        name = enum_name
        seen = set()
        td = self.tu.typedefs.get(name)
        while td is not None and name not in seen:  # typedef chains to the enum tag
            seen.add(name)
            ct = td.ctype
            if ct.kind == "tag":
                key = ct.name
                break
            if ct.kind != "typedef":
                break
            name = ct.name
            td = self.tu.typedefs.get(name)
        tag = self._tagdef(key)
        if tag is None or tag.kind != "enum":
            known = ", ".join(k for k, t in self.tu.tags.items() if t.kind == "enum" and t.name)[:200]
            raise LayoutError(f"no enum {enum_name!r} (enums: {known or 'none'})")
        if tag.fields is None:
            raise LayoutError(f"{key!r} is declared but never defined", path=tag.coord)
        return dict(self._enumerators(key))

    def type(self, name: str) -> TypeLayout:
        """Any type visible in the translation unit, by contract name (``struct X``, a typedef,
        ``unsigned long``); UnsupportedError for a type the engine cannot lay out."""
        if name in self.types:
            return self.types[name]
        return self._named(name)

    def find(self, name: str) -> TypeLayout | None:
        """A type of the translation unit by contract name (``struct X``, a typedef name, from the
        input files or anything they include), None when the TU has no such type; UnsupportedError
        for one the engine cannot lay out (a spec or ``--type`` naming it is bad input)."""
        hit = self.types.get(name)
        if hit is not None:
            return hit
        if name in self.unsupported:
            raise UnsupportedError(f"{name!r} cannot be laid out on {self.profile.name}: "
                                   f"{self.unsupported[name].reason}")
        parts = name.split()
        if len(parts) == 2 and parts[0] in ("struct", "union", "enum"):
            td = self._tagdef(name)
            if td is None or td.fields is None and td.kind != "enum":
                return None
        elif name not in self.tu.typedefs:
            return None
        try:
            return self._named(name)
        except UnsupportedError as exc:
            raise UnsupportedError(f"{name!r} cannot be laid out on {self.profile.name}: {_reason(exc)}") from None

    def all_type_names(self) -> list[str]:
        """Every named type of the translation unit (the input files' and what they include)."""
        return self.tu.defined_type_names(everything=True)

    def has_type(self, name: str) -> bool:
        return _key_of(name) in self._cache or name in self.tu.typedefs or \
            name.split(" ", 1)[0] in ("struct", "union", "enum") and name in self.tu.tags

    def to_contract(self, names=None) -> dict:
        """``{"types": {name: layout}}`` (bitlayout.layout/1) for the input files' named types,
        or for ``names``; a type the engine cannot lay out is ``{"unsupported": reason}``."""
        out = {}
        for name in (names if names is not None else self.tu.defined_type_names()):
            if name in self.unsupported:
                out[name] = self.unsupported[name].to_contract()
                continue
            try:
                out[name] = self.type(name).to_contract()
            except UnsupportedError as exc:
                out[name] = {"unsupported": _reason(exc)}
        return {"types": out}

    def pointee(self, t: TypeLayout) -> TypeLayout:
        """The layout of what a pointer (or array) type points to, laid out on demand (pointer
        layouts do not carry it: `struct list { struct list *next; }` would never end)."""
        return self.deref(t, "<input>")

    # -- building blocks the evaluator uses ------------------------------------------------
    def ctype(self, ct: CType, where: str) -> TypeLayout:
        return self._ctype(ct, where)

    def scalar(self, key: str, unsigned: bool = False) -> TypeLayout:
        spelled = {"long_long": "long long", "long_double": "long double", "int128": "__int128"}.get(key, key)
        if unsigned and key in _INT_KEYS:
            spelled = "unsigned " + spelled
        return self._scalar(key, unsigned, spelled, "<expression>")

    def array_of(self, elem: TypeLayout, n: int | None, base: TypeLayout | None = None) -> TypeLayout:
        """An array of ``elem``; ``base``: the type GCC took the array's alignment from instead
        (``_gcc_array_base``)."""
        size = elem.size_bytes * (n or 0)
        align, gnu, fld, user = elem.align_bytes, elem.gnu_align_bytes, elem.field_align_bytes, elem.user_aligned
        if base is not None:
            align, gnu, fld, user = base.align_bytes, base.gnu_align_bytes, base.field_align_bytes, base.user_aligned
            if elem.resolved().canon[:1] == ("atomic",) and self.rules.int_mode_field_align_cap_bytes:
                # i386 x86_field_alignment looks at the (requalified) element: no cap for _Atomic
                fld = gnu
                align = min(gnu, self.rules.gcc_biggest_alignment)
        if user and self._strict_alignment():
            mode = self._modes.array(self._modes.of(elem), elem.size_bytes, size, gnu) if n is not None \
                else BLK
            user = self._modes.keeps_user_align(mode, gnu)
        return TypeLayout(f"{elem.c_type}[{'' if n is None else n}]", "array", size, align, (), elem, n,
                          f"{elem.c_type}[{'' if n is None else n}]", gnu,
                          complete=n is not None, canon=("arr", n, elem.canon),
                          # GCC stor-layout: an array type takes TYPE_USER_ALIGN from its element
                          user_aligned=user, field_align_bytes=fld)

    def pointer_to(self, t: TypeLayout) -> TypeLayout:
        s = self.profile.scalars["pointer"]
        return TypeLayout("pointer", "pointer", s.size_bytes, s.align_bytes, c_type=f"{t.c_type} *",
                          gnu_align_bytes=s.gnu_align_bytes, unsigned=True, pointee=("layout", t),
                          canon=("ptr",))

    def deref(self, t: TypeLayout, where: str) -> TypeLayout:
        r = t.resolved()
        if r.kind == "pointer" and r.pointee is not None:
            if r.pointee[0] == "layout":
                return r.pointee[1]
            return self._ctype(*r.pointee)
        if r.kind == "array" and r.element is not None:
            return r.element
        raise LayoutError(f"invalid type argument of unary '*' (have {t.c_type!r})", path=where)

    def is_void_pointer(self, t: TypeLayout) -> bool:
        return self.deref(t, "<expression>").resolved().kind == "void"

    def enumerator(self, name: str, where: str) -> int | None:
        ec = self.tu.enum_constants.get(name)
        if ec is None:
            return None
        key, idx = ec
        vals = self._enumerators(key)
        if idx >= len(vals):
            raise LayoutError(f"enumerator {name!r} used in its own definition", path=where)
        return vals[idx][1]

    def enumerator_type(self, name: str) -> TypeLayout | None:
        """The integer type of a complete enum's constants (None while the enum is being defined)."""
        key = self.tu.enum_constants[name][0]
        td = self._tagdef(key)
        if key in self._busy or td is None or len(self._enum_values.get(key, ())) < len(td.enumerators):
            return None
        t = self._tag(key, td.coord).resolved()
        return t.element if t.kind == "enum" else None

    # -- type identity -------------------------------------------------------------------
    def canon(self, t: TypeLayout) -> tuple:
        r = t.resolved()
        if r.kind == "pointer":
            try:
                return ("ptr", self.canon(self.deref(r, "<expression>")))
            except (LayoutError, RecursionError):
                return ("ptr", ("?",))
        if r.kind == "array":
            return ("arr", r.count, self.canon(r.element))
        return r.canon

    def compatible(self, a: TypeLayout, b: TypeLayout, strict: bool = False) -> bool:
        """C11 6.2.7 compatible types (qualifiers are not tracked; function parameters are not
        read, so two function types are compatible when their return types are)."""
        ca, cb = self.canon(a), self.canon(b)
        if ca == cb:
            return True
        ra, rb = a.resolved(), b.resolved()
        if ra.kind == "array" and rb.kind == "array":
            return (ra.count is None or rb.count is None or ra.count == rb.count) and \
                self.compatible(ra.element, rb.element, strict)
        if ra.kind == "pointer" and rb.kind == "pointer":
            return self.compatible(self.deref(ra, "<expression>"), self.deref(rb, "<expression>"), strict)
        # an enum is compatible with its underlying integer type (GCC: c-typeck.cc comptypes)
        for x, y in ((ra, rb), (rb, ra)):
            if x.kind == "enum" and x.element is not None and y.kind != "enum":
                return x.element.canon == y.canon
        if ra.kind == "func" and rb.kind == "func":
            return True
        return False

    # -- names ----------------------------------------------------------------------------
    def _named(self, name: str) -> TypeLayout:
        parts = name.split()
        if len(parts) == 2 and parts[0] in ("struct", "union", "enum") and parts[1].isidentifier():
            if self._tagdef(name) is None:
                raise LayoutError(f"no type {name!r}")
            return self._tag(name, "<input>")
        if name in self.tu.typedefs:
            return self._typedef(name)
        from ..cfront.parser import parse_type_name

        return self._ctype(parse_type_name(name, self.tu), "<input>")

    def _tagdef(self, key: str) -> TagDef | None:
        return self._extra_tags.get(key) or self.tu.tags.get(key)

    def _typedef(self, name: str) -> TypeLayout:
        key = "typedef " + name
        hit = self._cache.get(key)
        if hit is not None:
            if isinstance(hit, _Failed):
                raise hit.error
            return hit
        td: TypedefDecl = self.tu.typedefs[name]
        if key in self._busy:
            raise LayoutError(f"typedef {name!r} refers to itself", path=td.coord)
        self._busy.add(key)
        hits = self._horizon_hits
        try:
            target = self._ctype(td.ctype, td.coord)
            self._unsupported_attrs(td.attrs, td.coord)
            if td.alignas:
                raise LayoutError(f"alignment specified for typedef {name!r}", path=td.coord)
            align, gnu, fld, user = target.align_bytes, target.gnu_align_bytes, target.field_align, target.user_aligned
            al = self._decl_align(td.attrs, (), td.coord)
            if al is not None:
                # GCC: on a typedef, `aligned` may raise *or lower* the alignment (manual: "When used
                # as part of a typedef, the aligned attribute can both increase and decrease
                # alignment"); the type is then user-aligned (no _Alignof cap, no field adjustment).
                align = gnu = fld = al
                user = True
            out = TypeLayout(name, "typedef", target.size_bytes, align, (), target, None, name, gnu,
                             target.unsigned, user, target.complete, target.integer, canon=target.canon,
                             field_align_bytes=fld)
        except UnsupportedError as exc:
            self._cache[key] = _Failed(exc)
            raise
        finally:
            self._busy.discard(key)
        if self._horizon_hits == hits:
            # (a typedef of a struct completed further down is complete from there on)
            self._cache[key] = out
        return out

    # -- types ----------------------------------------------------------------------------
    def _ctype(self, ct: CType, where: str) -> TypeLayout:
        k = ct.kind
        if k == "scalar":
            return self._scalar(ct.name, ct.unsigned, ct.spelled or ct.name, where)
        if k == "pointer":
            s = self.profile.scalars["pointer"]
            # the pointee is laid out only on demand: `struct list { struct list *next; }`
            return TypeLayout("pointer", "pointer", s.size_bytes, s.align_bytes, c_type=_c_spelling(ct),
                              gnu_align_bytes=s.gnu_align_bytes, unsigned=True, pointee=(ct.of, where),
                              canon=("ptr",))
        if k == "typedef":
            if ct.name not in self.tu.typedefs:
                raise LayoutError(f"unknown type name {ct.name!r}", path=where)
            return self._typedef(ct.name)
        if k == "tag":
            return self._tag(ct.name, where)
        if k == "array":
            return self._array(ct, where)
        if k == "func":
            return TypeLayout("function", "func", 1, 1, c_type="function", gnu_align_bytes=1, complete=False,
                              canon=("func",), pointee=(ct.of, where) if ct.of is not None else None)
        if k == "typeof":
            if ct.of is not None:
                return self._ctype(ct.of, where)
            return self.ev.type_of(ct.expr, where)
        if k == "atomic":
            return self._atomic(self._ctype(ct.of, where), where)
        if k == "complex":
            return self._complex(ct, where)
        if k == "vector":
            return self._vector(ct, where)
        if k == "mode":
            return self._mode(ct, where)
        if k == "va_list":
            return self._va_list(where)
        if k == "bitint":
            return self._bitint(ct, where)
        if k == "unsupported":
            raise UnsupportedError(ct.name, path=where)
        raise UnsupportedError(f"type kind {k!r}", path=where)

    def _optional_scalar(self, key: str):
        s = self.profile.scalars.get(key)
        self.scalars_read[key] = None if s is None else (s.size_bytes, s.align_bytes, s.gnu_align_bytes)
        return s

    def _va_list(self, where: str) -> TypeLayout:
        """__builtin_va_list: the profile's C declaration of it, laid out by this engine (its
        members are what DWARF shows: ``__stack``, ``__gr_top``... on aarch64)."""
        decl = self.rules.va_list
        self.scalars_read["<va_list>"] = decl
        s = self._profile_scalar("va_list", "__builtin_va_list", where)
        if not decl:
            return TypeLayout("__builtin_va_list", "scalar", s.size_bytes, s.align_bytes,
                              c_type="__builtin_va_list", gnu_align_bytes=s.gnu_align_bytes,
                              canon=("scalar", "va_list"))
        head, bracket, suffix = decl.partition("[")
        from ..cfront.parser import parse

        tu = parse(f"typedef {head} __bl_va_list{bracket}{suffix};", "<va_list>")
        t = LayoutSet(tu, self.profile).type("__bl_va_list").resolved()
        return TypeLayout("__builtin_va_list", "typedef", t.size_bytes, t.align_bytes, (), t, None,
                          "__builtin_va_list", t.gnu_align_bytes, canon=("scalar", "va_list"))

    def _profile_scalar(self, key: str, spelled: str, where: str):
        s = self.profile.scalars.get(key)
        # what the layout depended on: another profile agreeing on these reuses this LayoutSet
        self.scalars_read[key] = None if s is None else (s.size_bytes, s.align_bytes, s.gnu_align_bytes)
        if s is None:
            raise LayoutError(f"{spelled!r} is not supported on {self.profile.name}", path=where)
        return s

    def _scalar(self, key: str, unsigned: bool, spelled: str, where: str) -> TypeLayout:
        if key == "void":
            return VOID
        plain = key == "char" and spelled == "char"
        if plain:
            unsigned = not self.profile.char_signed
        s = self._profile_scalar(key, spelled, where)
        integer = key not in _FLOAT_KEYS and key != "pointer"
        return TypeLayout(spelled, "scalar", s.size_bytes, s.align_bytes, c_type=spelled,
                          gnu_align_bytes=s.gnu_align_bytes, unsigned=unsigned, integer=integer,
                          canon=("scalar", key, unsigned, plain))

    def _array(self, ct: CType, where: str) -> TypeLayout:
        elem = self._ctype(ct.of, where)
        if not elem.complete:
            raise LayoutError(f"array type has incomplete element type {elem.c_type!r}", path=where)
        if ct.count is None:
            n = None
        elif isinstance(ct.count, N.Opaque):
            raise LayoutError("'[*]' not allowed in other than function prototype scope", path=where)
        else:
            n = self.ev.value(ct.count, where, strict=True)
            if n < 0:
                raise LayoutError(f"size of array is negative ({n})", path=where)
        size = elem.size_bytes * (n or 0)
        if size > self.max_object_bytes():
            raise LayoutError(f"size of array is too large ({size} bytes on {self.profile.name})", path=where)
        return self.array_of(elem, n, self._gcc_array_base(ct.of, elem, where))

    def _gcc_array_base(self, of: CType, elem: TypeLayout, where: str) -> TypeLayout | None:
        """The type GCC lays an array of ``of`` out from, when it is not ``elem`` (None then).

        c-decl.cc grokdeclarator builds the array from the element type without its qualifiers and
        puts them back on the element afterwards: a declaration's own ``_Atomic`` does not raise
        the array's alignment, and an element named by a typedef whose type is qualified (``typedef
        const S cs_t;``, ``typedef _Atomic S as_t;``) is replaced by TYPE_MAIN_VARIANT, which has
        neither the qualifier nor any typedef's ``aligned``.  Measured with GCC 12 on every arch:
        `_Atomic struct { char c[8]; } a[1]` is 1-aligned (8 alone), and so is an array of `typedef
        const S8 cs8_t` where `typedef S S8 __attribute__((aligned(8)))`."""
        if self.compiler != "gcc":
            return None
        c = of.of if of.kind == "atomic" and of.of is not None else of
        if c.kind == "typedef" and self._typedef_qualified(c.name):
            while c.kind in ("typedef", "atomic"):
                c = self.tu.typedefs[c.name].ctype if c.kind == "typedef" else c.of
        if c is of:
            return None
        return self._ctype(c, where)

    def _typedef_qualified(self, name: str) -> bool:
        """Whether a typedef's type carries a qualifier (its own, or one of the typedef it names)."""
        seen = set()
        while name not in seen and name in self.tu.typedefs:
            seen.add(name)
            td = self.tu.typedefs[name]
            if td.qualified or td.ctype.kind == "atomic":
                return True
            if td.ctype.kind != "typedef":
                return False
            name = td.ctype.name
        return False

    def max_object_bytes(self) -> int:
        # GCC: an object's size must fit in ptrdiff_t (c-decl.cc "size of array is too large")
        return (1 << (8 * self.profile.scalars["pointer"].size_bytes - 1)) - 1

    def _complex(self, ct: CType, where: str) -> TypeLayout:
        part = self._ctype(ct.of, where)
        # GCC: a complex type has its component's alignment (TYPE_ALIGN, and ADJUST_FIELD_ALIGN's
        # DCmode / MODE_COMPLEX_INT cap on i386 like DFmode / MODE_INT: the profile's numbers)
        spelled = f"_Complex {part.c_type}"
        return TypeLayout(spelled, "complex", 2 * part.size_bytes, part.align_bytes, (), part, c_type=spelled,
                          gnu_align_bytes=part.gnu_align_bytes, canon=("complex", part.canon),
                          field_align_bytes=part.field_align)

    def _atomic(self, t: TypeLayout, where: str) -> TypeLayout:
        r = t.resolved()
        if r.kind in ("array", "func"):
            raise LayoutError(f"_Atomic applied to an {r.kind} type", path=where)
        if not t.complete:
            return t
        size, align, gnu, fld = t.size_bytes, t.align_bytes, t.gnu_align_bytes, t.field_align
        if self.compiler == "clang":
            # clang ASTContext::getTypeInfo(AtomicType): up to the target's max atomic promote
            # width, the size rounds up to a power of two and the alignment becomes the size.
            if size <= (self.rules.max_atomic_promote_bytes or 2 * self.profile.scalars["pointer"].size_bytes):
                size = 1 << (size - 1).bit_length()
                align = gnu = fld = size
        elif size in (1, 2, 4, 8, 16):
            # GCC build_qualified_type: an _Atomic type of an atomic mode's size is aligned like
            # that mode (its size, at most __BIGGEST_ALIGNMENT__: 2 on m68k, 4 on sh4); no padding.
            need = min(size, self.rules.gcc_biggest_alignment)
            align, gnu, fld = max(align, need), max(gnu, need), max(fld, need)
        spelled = f"_Atomic({t.c_type})"
        if r.kind in ("struct", "union"):
            # still a struct: its members are reached through the _Atomic type (atomic_flag.__val)
            return TypeLayout(spelled, r.kind, size, align, r.members, t, c_type=spelled, gnu_align_bytes=gnu,
                              user_aligned=t.user_aligned, canon=("atomic", t.canon), field_align_bytes=fld)
        return TypeLayout(spelled, "atomic", size, align, (), t, c_type=spelled, gnu_align_bytes=gnu,
                          unsigned=t.unsigned, user_aligned=t.user_aligned, integer=t.integer,
                          canon=("atomic", t.canon), field_align_bytes=fld)

    def _vector(self, ct: CType, where: str) -> TypeLayout:
        elem = self._ctype(ct.of, where)
        r = elem.resolved()
        if r.kind not in ("scalar", "enum") or r.canon[:2] == ("scalar", "_Bool") or r.kind == "scalar" and \
                r.canon[1] in ("va_list", "pointer"):
            raise LayoutError(f"invalid vector type for attribute 'vector_size' ({elem.c_type})", path=where)
        if ct.count is None:
            raise LayoutError("wrong number of arguments to attribute 'vector_size'", path=where)
        nbytes = self.ev.value(ct.count, where)
        if nbytes <= 0 or nbytes % elem.size_bytes:
            raise LayoutError(f"vector size {nbytes} is not a multiple of the component size {elem.size_bytes}",
                              path=where)
        n = nbytes // elem.size_bytes
        if n & (n - 1):
            raise LayoutError(f"number of vector components {n} not a power of two", path=where)
        type_align = min(nbytes, self.rules.vector_align_max_bytes)
        field = type_align
        largest_int_mode = max(s.size_bytes for s in (self._optional_scalar("long_long"),
                                                      self._optional_scalar("int128")) if s is not None)
        if self.rules.int_mode_field_align_cap_bytes and nbytes <= largest_int_mode and elem.integer:
            # i386 x86_field_alignment: an integer vector small enough to get an integer mode (no
            # MMX/SSE in the ABI's baseline) is capped like `long long` inside a struct; a float
            # vector is not (measured: float vector_size(8) stays 8-aligned, int's is 4)
            field = min(field, self.rules.int_mode_field_align_cap_bytes)
        if self.compiler == "clang":
            field = type_align
        align = field if self.compiler == "clang" else min(field, self.rules.gcc_biggest_alignment)
        spelled = f"{elem.c_type} __attribute__((vector_size({nbytes})))"
        return TypeLayout(spelled, "vector", nbytes, align, (), elem, n, spelled, type_align, elem.unsigned,
                          integer=False, canon=("vector", nbytes, elem.canon), field_align_bytes=field)

    def _mode(self, ct: CType, where: str) -> TypeLayout:
        base = self._ctype(ct.of, where)
        if self.compiler == "clang" and ct.spelled == "in a type name":
            return base  # clang: "'mode' attribute ignored when parsing type"
        r = base.resolved()
        mode = ct.name
        p = self.profile
        word = self.rules.word_mode_bytes or p.scalars["long"].size_bytes
        int_sizes = dict(_INT_MODES, word=word, unwind_word=word, pointer=p.scalars["pointer"].size_bytes,
                         libgcc_cmp_return=word, libgcc_shift_count=word)
        if mode in int_sizes:
            if not (r.integer or r.kind == "enum"):
                raise LayoutError(f"mode {mode!r} applied to inappropriate type {base.c_type!r}", path=where)
            size = int_sizes[mode]
            # GCC c_common_type_for_mode: int, signed char, short, long, long long, __int128 in turn
            for key in ("int", "char", "short", "long", "long_long", "int128"):
                s = self._optional_scalar(key)
                if s is not None and s.size_bytes == size:
                    return self._scalar(key, r.unsigned, f"{'unsigned ' if r.unsigned else ''}{key}", where)
            raise LayoutError(f"unable to emulate {mode!r} on {p.name}", path=where)
        complex_mode = mode[0] == "C" and mode[1:] in dict(_INT_MODES, **_FLOAT_MODES) and len(mode) == 3
        inner_mode = mode[1:] if complex_mode else mode
        if inner_mode in _FLOAT_MODES:
            if complex_mode and r.kind != "complex" or not complex_mode and not (r.kind == "scalar"
                                                                               and not r.integer):
                raise LayoutError(f"mode {mode!r} applied to inappropriate type {base.c_type!r}", path=where)
            key = _FLOAT_MODES[inner_mode]
            if key == "float128" and self._optional_scalar("float128") is None \
                    and p.scalars["long_double"].size_bytes == 16:
                key = "long_double"
            if key == "float80" and self._optional_scalar("float80") is None:
                raise LayoutError(f"unable to emulate {mode!r} on {p.name}", path=where)
            part = self._scalar(key, False, key, where)
            if complex_mode:
                return self._complex(CType("complex", of=CType("scalar", key, spelled=key)), where)
            return part
        if complex_mode and inner_mode in _INT_MODES:
            if r.kind != "complex":
                raise LayoutError(f"mode {mode!r} applied to inappropriate type {base.c_type!r}", path=where)
            inner = self._mode(CType("mode", inner_mode, of=ct.of.of if ct.of.kind == "complex" else ct.of), where)
            return TypeLayout(f"_Complex {inner.c_type}", "complex", 2 * inner.size_bytes, inner.align_bytes, (),
                              inner, c_type=f"_Complex {inner.c_type}", gnu_align_bytes=inner.gnu_align_bytes,
                              canon=("complex", inner.canon), field_align_bytes=inner.field_align)
        raise UnsupportedError(f"machine mode {mode!r}", path=where)

    def _bitint(self, ct: CType, where: str) -> TypeLayout:
        width = self.ev.value(ct.count, where)
        limit = self.rules.bitint_max_width
        if not limit:
            raise LayoutError(f"'_BitInt' is not supported on {self.profile.name}", path=where)
        if width < (2 if not ct.unsigned else 1) or width > limit:
            raise LayoutError(f"_BitInt({width}) width out of range (max {limit})", path=where)
        # clang TargetInfo: up to 64 bits the smallest integer type that holds it, then whole
        # 64-bit limbs aligned like the target's 64-bit integer (capped at the limb alignment)
        s = self.profile.scalars
        for key in ("char", "short", "int", "long_long"):
            if 8 * s[key].size_bytes >= width:
                sc = s[key]
                size, align = sc.size_bytes, sc.align_bytes
                break
        else:
            limb = self.rules.bitint_limb_align_bytes or s["long_long"].align_bytes
            size = -(-width // 64) * 8
            align = limb
            size = -(-size // align) * align
        spelled = f"{'unsigned ' if ct.unsigned else ''}_BitInt({width})"
        return TypeLayout(spelled, "scalar", size, align, c_type=spelled, gnu_align_bytes=align,
                          unsigned=ct.unsigned, integer=True, canon=("bitint", width, ct.unsigned))

    def _tag(self, key: str, where: str) -> TypeLayout:
        td = self._tagdef(key)
        if td is not None and self._horizon and td.fields is not None and key not in self._extra_tags:
            seq = self._seq.get(key, 0)
            if seq > self._horizon[-1]:
                # defined later in the file: incomplete at this point (GCC lays out in order); what
                # is computed from this answer is not remembered (see _typedef)
                self._horizon_hits += 1
                return TypeLayout(key, td.kind, 0, 1, c_type=key, gnu_align_bytes=1, complete=False,
                                  canon=("tag", key))
        hit = self._cache.get(key)
        if hit is not None:
            if isinstance(hit, _Failed):
                raise hit.error
            return hit
        if td is None or td.fields is None and td.kind != "enum" or key in self._busy:
            # (a tag is incomplete inside its own definition: GCC "field has incomplete type")
            kind = key.split(" ", 1)[0]
            return TypeLayout(key, kind, 0, 1, c_type=key, gnu_align_bytes=1, complete=False, canon=("tag", key))
        self._busy.add(key)
        self._horizon.append(self._seq.get(key, self._horizon[-1] if self._horizon else 1 << 30))
        try:
            out = self._enum(td) if td.kind == "enum" else self._record(td)
        except UnsupportedError as exc:
            self._cache[key] = _Failed(exc)
            raise
        finally:
            self._horizon.pop()
            self._busy.discard(key)
        self._cache[key] = out
        return out

    # -- attributes -------------------------------------------------------------------------
    def _attr_value(self, attr: Attr, where: str) -> int:
        if attr.arg is None:
            # bare `aligned`: the target's biggest alignment (GCC manual, Common Type Attributes)
            return self.rules.biggest_alignment_bytes
        v = self.ev.value(attr.arg, where)
        if v <= 0 or v & (v - 1):
            raise LayoutError(f"requested alignment {v} is not a positive power of 2", path=where)
        if v >= 1 << 29:
            raise LayoutError(f"requested alignment {v} exceeds maximum", path=where)
        return v

    def _decl_align(self, attrs, alignas, where, natural: int = 0) -> int | None:
        """Alignment requested on a declaration by aligned(N) / _Alignas (None: none)."""
        req = None
        for a in attrs:
            if a.name == "aligned":
                if a.arg is not None and self.ev.value(a.arg, where) == 0:
                    continue  # GCC: aligned(0) is ignored with a warning (check_user_alignment)
                v = self._attr_value(a, where)
                req = v if req is None else max(req, v)
        for al in alignas:
            if isinstance(al, CType):
                v = self._ctype(al, where).align_bytes
            else:
                v = self.ev.value(al, where)
            if v == 0:
                continue  # _Alignas(0) has no effect (C11 6.7.5p6)
            if v < 0 or v & (v - 1):
                raise LayoutError(f"requested alignment {v} is not a positive power of 2", path=where)
            if natural and v < natural:
                raise LayoutError(f"_Alignas specifiers cannot reduce alignment ({v} < {natural})", path=where)
            req = v if req is None else max(req, v)
        return req

    def _packs_field(self, a: Attr, f, where: str) -> bool:
        """A field's own ``packed``: GCC ignores it on a byte-aligned field that is no bit-field,
        judged on the field's type as it was when it handled the attribute (c-attribs.cc
        handle_packed_attribute: `char __attribute__((vector_size(8))) v __attribute__((packed))`
        is not packed); clang always keeps it (SemaDeclAttr.cpp handlePackedAttr), so that
        vector is 1-aligned."""
        if f.bits is not None or not isinstance(a.arg, CType) or self.compiler == "clang":
            return True
        return self._ctype(a.arg, where).align_bytes > 1

    @staticmethod
    def _unsupported_attrs(attrs, where: str) -> None:
        for a in attrs:
            if a.name == "unsupported":
                raise UnsupportedError(a.arg, path=where)

    # -- records --------------------------------------------------------------------------------
    def _record(self, td: TagDef) -> TypeLayout:
        """GCC stor-layout.cc place_field / update_alignment_for_field, non-MS bit-field layout."""
        r = self.rules
        where = td.coord
        self._unsupported_attrs(td.attrs, where)
        struct_packed = any(a.name == "packed" for a in td.attrs)
        # #pragma pack(n): GCC maximum_field_alignment, caps every field's DECL_ALIGN and turns off
        # the PCC bit-field unit rule (stor-layout.cc place_field / layout_decl)
        mfa = 8 * max([self._attr_value(a, where) for a in td.attrs if a.name == "pack" and
                       self.ev.value(a.arg, where)] or [0])
        sso = next((a.arg for a in td.attrs if a.name == "scalar_storage_order"), None)
        if sso not in (None, "big-endian", "little-endian"):
            raise LayoutError(f"scalar_storage_order argument must be one of \"big-endian\" or \"little-endian\" "
                              f"(got {sso!r})", path=where)
        reverse = False
        if sso is not None:
            self.scalars_read["<little_endian>"] = self.profile.little_endian  # (a layout input now)
            reverse = (sso == "big-endian") == self.profile.little_endian
        is_union = td.kind == "union"
        record_align = r.struct_min_align_bytes * 8  # bits; STRUCTURE_SIZE_BOUNDARY
        user_aligned = False
        bitpos = 0
        size_bits = 0
        members: list[Member] = []
        seen_names: set[str] = set()
        nfields = len(td.fields)
        for idx, f in enumerate(td.fields):
            fwhere = f.coord if f.coord != "<input>" else where
            self._unsupported_attrs(f.attrs, fwhere)
            t = self._ctype(f.ctype, fwhere)
            if f.name:
                if f.name in seen_names:
                    raise LayoutError(f"duplicate member {f.name!r}", path=fwhere)
                seen_names.add(f.name)
            elif f.bits is None:
                for m in t.resolved().flat_members():
                    if m.name in seen_names:
                        raise LayoutError(f"duplicate member {m.name!r}", path=fwhere)
                    seen_names.add(m.name)
            packed = struct_packed or any(a.name == "packed" and self._packs_field(a, f, fwhere) for a in f.attrs)
            if f.bits is not None and f.alignas:
                raise LayoutError(f"alignment specified for bit-field {f.name or '(unnamed)'!r}", path=fwhere)
            user_align = self._decl_align(f.attrs, f.alignas, fwhere, natural=t.align_bytes if f.alignas else 0)
            if f.bits is not None:
                width = self.ev.value(f.bits, fwhere)
                rt = t.resolved()
                if not (rt.integer or rt.kind == "enum") or rt.kind == "atomic":
                    raise LayoutError(f"bit-field {f.name or '(unnamed)'!r} has invalid type {t.c_type!r}",
                                      path=fwhere)
                tbits = 1 if rt.canon[:2] == ("scalar", "_Bool") else 8 * t.size_bytes
                if width < 0:
                    raise LayoutError(f"negative width in bit-field {f.name or '(unnamed)'!r}", path=fwhere)
                if width > tbits:
                    raise LayoutError(f"width {width} of {f.name or '(unnamed)'!r} exceeds its type ({tbits} bits)",
                                      path=fwhere)
                if width == 0 and f.name:
                    raise LayoutError(f"zero width for bit-field {f.name!r}", path=fwhere)
                type_align = 8 * t.field_align  # ADJUST_FIELD_ALIGN: the in-struct alignment
                floor = t.gnu_align_bytes if r.pcc_bitfield_type_matters else r.empty_field_boundary_bytes
                if user_align and not (width == 0 and self.compiler == "gcc" and user_align < floor
                                       and not t.user_aligned):
                    # (GCC layout_decl gives a zero-width bit-field its type's alignment, or
                    # EMPTY_FIELD_BOUNDARY, when that is larger, and drops the user flag: `aligned(1)
                    # long long : 0` leaves the record's _Alignof capped; measured on every GCC arch)
                    user_aligned = True
                if not r.pcc_bitfield_type_matters:
                    bitpos, pos, record_align, size_bits = self._bitfield_no_pcc(
                        t, width, packed, user_align, mfa, bitpos, record_align, size_bits, is_union)
                    if f.name and width:
                        members.append(Member(f.name, pos, width, True, t))
                    continue
                if self.compiler == "clang":
                    bitpos, pos, record_align, size_bits = self._bitfield_clang(
                        t, bool(f.name), width, packed, user_align, mfa, bitpos, record_align, size_bits, is_union)
                    if f.name:
                        members.append(Member(f.name, pos, width, True, t))
                    continue
                if width == 0:
                    # A zero-width bit-field aligns the next field to its type's alignment; packing
                    # does not apply to it, nor does #pragma pack (stor-layout.cc: "Those are not
                    # influenced by #pragmas or packed attributes"; measured on all 26 arches).
                    # An aligned(N) on it counts when N is larger (`int :0 __attribute__((aligned(16)))`
                    # moves the next field to 16, measured with GCC 12 on x86_64 and arm).
                    zero_align = max(type_align, 8 * (user_align or 0))
                    if not is_union:
                        bitpos = _round_up(bitpos, zero_align)
                    if r.unnamed_bitfield_affects_alignment:
                        record_align = max(record_align, zero_align)
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
                # type than the type itself has (stor-layout.cc excess_unit_span); a packed field
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
                    raise LayoutError(f"field {f.name or '(anonymous)'!r} has incomplete type {t.c_type!r}",
                                      path=fwhere)
                if is_union:
                    raise LayoutError(f"flexible array member {f.name!r} in union", path=fwhere)
                if not last:
                    raise LayoutError(f"flexible array member {f.name!r} not at end of {td.key!r}", path=fwhere)
                if not any(g.name or g.bits is None for g in td.fields[:idx]):
                    raise LayoutError(f"flexible array member {f.name!r} in a struct with no named members",
                                      path=fwhere)
            align = t.field_align
            if packed:
                # GCC layout_decl: packing supersedes alignment inherited from the type, but an
                # explicit aligned() on the field itself is kept.
                align = user_align if user_align else 1
            elif user_align:
                align = max(align, user_align)
            if mfa:
                align = min(align, mfa // 8)
            # DECL_USER_ALIGN: an aligned() below the type's own alignment is superseded by the
            # type's (stor-layout.cc do_type_align), and with it the user flag (the type's own).
            # A packed field takes the type's flag too: layout_decl runs do_type_align before it
            # packs (`packed` on a member of an aligned typedef leaves the record user-aligned).
            field_user = t.user_aligned
            if user_align:
                field_user = packed or user_align >= t.gnu_align_bytes or t.user_aligned
            user_aligned = user_aligned or field_user
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
        if type_align_req:
            record_align = max(record_align, 8 * type_align_req)
            user_aligned = True
        end = size_bits if is_union else bitpos
        size = _round_up(end, record_align) // 8
        if size > self.max_object_bytes():
            raise LayoutError(f"type {td.key!r} is too large ({size} bytes)", path=where)
        type_align = record_align // 8
        if user_aligned and self._strict_alignment():
            user_aligned = self._modes.keeps_user_align(
                self._record_mode(td.kind, size, type_align, members), type_align)
        align = type_align if user_aligned or self.compiler == "clang" else \
            min(type_align, self.rules.gcc_biggest_alignment)
        field_align = type_align
        cap = self.rules.int_mode_field_align_cap_bytes
        if cap and self.compiler == "gcc" and not user_aligned and type_align > cap \
                and self._record_mode(td.kind, size, type_align, members).cls in X86_CAPPED_MODES:
            # i386 x86_field_alignment caps a member whose type has an integer, DFmode or DCmode
            # mode, records included (an 8-aligned record gets one when it holds only `_Atomic
            # long long`, an 8-byte `_Atomic` struct ...), and _Alignof is min_align_of_type's
            # min(TYPE_ALIGN, that cap); __alignof__ keeps TYPE_ALIGN (measured with GCC 12).
            field_align = cap
            align = min(align, cap)
        return TypeLayout(td.key, td.kind, size, align, tuple(members), c_type=td.key,
                          gnu_align_bytes=type_align, user_aligned=user_aligned, canon=("tag", td.key),
                          field_align_bytes=field_align, reverse_order=reverse)

    def _bitfield_clang(self, t, named, width, packed, user_align, mfa, bitpos, record_align, size_bits, is_union):
        """Bit-field placement as clang does it (RecordLayoutBuilder.cpp,
        ItaniumRecordLayoutBuilder::LayoutBitField, System V targets, not ms_struct).

        Where it differs from GCC's place_field (the other branch of ``_record``):

        - an ``aligned(N)`` below the type's alignment: clang decides whether the field would
          straddle a storage unit at the *unaligned* next bit, and only then rounds up to N; GCC
          rounds up to N first and tests the straddle there.  ``struct { char :1; int n:25
          __attribute__((aligned(1))); }``: clang puts n at bit 8 (across the first 32-bit unit),
          GCC at bit 32;
        - under ``#pragma pack(P)`` an ``aligned(N)`` with N > P does not move the field at all
          (clang: "#pragma pack ... takes precedence over even the 'aligned' attribute"), where GCC
          rounds it up to P: ``#pragma pack(2) struct { char c; int b:4 __attribute__((aligned(8))); }``
          is 2 bytes with clang, 4 with GCC;
        - a zero-width bit-field aligns to its type's alignment or its ``aligned(N)``, whichever is
          larger.

        The record's alignment takes the field's (its type's or its ``aligned``, capped by the
        pack; 1 bit when packed without a pack), as GCC's does; unnamed bit-fields count only
        where the target says so (``unnamed_bitfield_affects_alignment``, clang
        ``useZeroLengthBitfieldAlignment``: AAPCS).
        """
        storage_bits = 8 * t.size_bytes  # TypeInfo.Width of the declared type (_Bool: 8)
        type_align = 8 * t.field_align
        explicit = 8 * (user_align or 0)  # D->getMaxAlignment(): aligned(N) on the field, in bits
        align = 1 if packed and width else type_align
        unpacked = type_align
        if explicit:
            align, unpacked = max(align, explicit), max(unpacked, explicit)
        if mfa and width:  # #pragma pack does not apply to zero-width bit-fields
            unpacked = min(unpacked, mfa)
            align = unpacked if packed else min(align, mfa)
        pos = 0 if is_union else bitpos
        if width == 0 or not mfa and pos % align + width > storage_bits:
            pos = _round_up(pos, align)  # "#pragma pack, with any value, suppresses the insertion of padding"
        elif explicit and (not mfa or explicit <= mfa):
            pos = _round_up(pos, explicit)
        if not named and not self.rules.unnamed_bitfield_affects_alignment:
            align = 1
        record_align = max(record_align, align)
        if is_union:
            return bitpos, 0, record_align, max(size_bits, _round_up(width, 8))
        return pos + width, pos, record_align, size_bits

    def _bitfield_no_pcc(self, t, width, packed, user_align, mfa, bitpos, record_align, size_bits, is_union):
        """Bit-field placement without PCC_BITFIELD_TYPE_MATTERS (m68k), stor-layout.cc:

        - the declared type neither aligns the field nor the struct: bits follow bits;
        - a zero-width field aligns to EMPTY_FIELD_BOUNDARY and raises the struct's alignment to it;
        - layout_decl turns a field whose width is exactly an integer mode (8/16/32/64) into an
          ordinary field of that mode when its position is already aligned for the mode: then the
          mode's alignment raises the struct's alignment ("known_align >= xalign");
        - #pragma pack caps the field's alignment (layout_decl: maximum_field_alignment).
        """
        s = self.profile.scalars
        desired = 8 * user_align if user_align else 1  # a bit-field's DECL_ALIGN is one bit
        if width == 0:
            desired = max(desired, 8 * self.rules.empty_field_boundary_bytes)
            if not is_union:
                bitpos = _round_up(bitpos, desired)
            return bitpos, bitpos, max(record_align, desired), size_bits
        if mfa:
            desired = min(desired, mfa)
        pos = 0 if is_union else _round_up(bitpos, desired)
        modes = {8: s["char"], 16: s["short"], 32: s["int"], 64: s["long_long"]}
        if width in modes:
            xalign = 8 * modes[width].gnu_align_bytes
            if mfa:
                xalign = min(xalign, mfa)
            known = pos & -pos if pos else 1 << 30
            if not (xalign > 8 and packed) and known >= xalign:
                desired = max(desired, xalign)
        record_align = max(record_align, desired)
        if is_union:
            return bitpos, 0, record_align, max(size_bits, _round_up(width, 8))
        return pos + width, pos, record_align, size_bits

    # -- enums ------------------------------------------------------------------------------
    def _enumerators(self, key: str) -> list[tuple[str, int]]:
        hit = self._enum_values.get(key)
        if hit is not None:
            return hit
        td = self._tagdef(key)
        values: list[tuple[str, int]] = []
        self._enum_values[key] = values  # partial: earlier enumerators visible to later ones
        nxt = 0
        try:
            for name, expr in td.enumerators:
                v = self.ev.value(expr, td.coord) if expr is not None else nxt
                values.append((name, v))
                nxt = v + 1
        except BaseException:
            del self._enum_values[key]
            raise
        return values

    def _enum(self, td: TagDef) -> TypeLayout:
        if td.fields is None:
            return TypeLayout(td.key, "enum", 0, 1, c_type=td.key, gnu_align_bytes=1, complete=False,
                              canon=("tag", td.key))
        self._unsupported_attrs(td.attrs, td.coord)
        if td.fixed_type is not None:
            base = self._ctype(td.fixed_type, td.coord)
        else:
            vals = [v for _, v in self._enumerators(td.key)] or [0]
            lo, hi = min(vals), max(vals)
            unsigned = lo >= 0
            packed = any(a.name == "packed" for a in td.attrs)
            # GCC c-decl.cc finish_enum: the smallest integer type holding every value, at least
            # int unless packed (-fshort-enums / __attribute__((packed))); unsigned when no value
            # is negative.
            min_size = 1 if packed else self.rules.enum_min_size_bytes
            for key in ("char", "short", "int", "long", "long_long", "int128"):
                sc = self._optional_scalar(key)
                if sc is None or sc.size_bytes < min_size:
                    continue
                bits = 8 * sc.size_bytes
                if unsigned and hi < (1 << bits) or not unsigned and lo >= -(1 << (bits - 1)) \
                        and hi < (1 << (bits - 1)):
                    break
            else:
                raise LayoutError(f"enumerator values of {td.key!r} do not fit in any integer type", path=td.coord)
            base = self._scalar(key, unsigned, key, td.coord)
        align, gnu = base.align_bytes, base.gnu_align_bytes
        al = self._decl_align([a for a in td.attrs if a.name == "aligned"], (), td.coord)
        if al:
            align = gnu = max(align, al)
        return TypeLayout(td.key, "enum", base.size_bytes, align, (), base, c_type=td.key,
                          gnu_align_bytes=gnu, unsigned=base.unsigned, integer=True, canon=("tag", td.key),
                          user_aligned=bool(al))


def _key_of(name: str) -> str:
    """The cache key of a contract type name."""
    return name if name.split(" ", 1)[0] in ("struct", "union", "enum") else "typedef " + name


def _reason(exc: Exception) -> str:
    """``<what> at file:line`` for the contract's ``unsupported`` entries."""
    path = getattr(exc, "path", None)
    msg = str(exc)
    if path and msg.startswith(f"{path}: "):
        msg = msg[len(path) + 2:]
    where = path.rsplit(":", 1)[0] if path and path.count(":") >= 2 else path
    return f"{msg} at {where}" if where else msg


def _c_spelling(ct: CType) -> str:
    return ct.describe()


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a if a > 1 else v


def _excess_unit_span(bitpos: int, width: int, align_bits: int, type_bits: int) -> bool:
    """stor-layout.cc excess_unit_span: would the field span more `align` units than its type?"""
    if align_bits <= 1:
        return False
    off = bitpos % align_bits
    return (off + width + align_bits - 1) // align_bits > type_bits // align_bits
