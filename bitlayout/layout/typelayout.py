"""Laid-out types: what the engine answers for one type on one architecture (plain values)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    kind: str  # struct union enum scalar array pointer typedef func void vector complex atomic
    size_bytes: int
    align_bytes: int  # C11 _Alignof
    members: tuple[Member, ...] = ()  # declared members; anonymous struct/union members nested
    element: "TypeLayout | None" = None  # array element, typedef target, enum base, vector/complex/atomic part
    count: int | None = None  # array length (None for a flexible array)
    c_type: str = ""  # the type as C spells it: `struct mm_struct *`, `atomic_t`, `unsigned long[2]`
    gnu_align_bytes: int = 0  # GCC __alignof__ (the preferred alignment, 8 for double on i386)
    unsigned: bool = False  # integer/enum types
    user_aligned: bool = False  # alignment set by an attribute or _Alignas (TYPE_USER_ALIGN)
    complete: bool = True
    integer: bool = False  # may be a bit-field's declared type
    pointee: object = field(default=None, compare=False, repr=False)  # (cfront CType, where), laid out on demand
    # identity for type compatibility (C11 6.2.7): ("int", unsigned), ("tag", key), ("ptr", ...)
    canon: tuple = field(default=(), compare=False, repr=False)
    reverse_order: bool = False  # scalar_storage_order opposite to the target's (GCC TYPE_REVERSE_STORAGE_ORDER)
    field_align_bytes: int = 0  # alignment as a struct member (0: align_bytes); see layout.layoutset

    @property
    def field_align(self) -> int:
        return self.field_align_bytes or self.align_bytes

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


def _flat_dicts(t: TypeLayout, base_bits: int, out: list) -> None:
    # the same walk as TypeLayout.flat_members
    for m in t.members:
        if not m.name and not m.bitfield and m.type.resolved().kind in ("struct", "union"):
            _flat_dicts(m.type.resolved(), base_bits + m.offset_bits, out)
        elif m.name:
            out.append({"name": m.name, "offset_bits": base_bits + m.offset_bits, "size_bits": m.size_bits})


@dataclass(frozen=True)
class Unsupported:
    """A type the engine cannot lay out (a construct it does not model), with where and why."""

    name: str
    reason: str  # "<what> at file:line"

    def to_contract(self) -> dict:
        return {"unsupported": self.reason}


VOID = TypeLayout("void", "void", 1, 1, c_type="void", gnu_align_bytes=1, complete=False, canon=("void",))


def find_member(t: TypeLayout, name: str) -> tuple[int, Member] | None:
    """Member by name, looking into anonymous struct/union members; (offset_bits, member)."""
    for m in t.members:
        if m.name == name:
            return m.offset_bits, m
        if not m.name and m.type.resolved().kind in ("struct", "union"):
            hit = find_member(m.type.resolved(), name)
            if hit is not None:
                return m.offset_bits + hit[0], hit[1]
    return None


def declaration(t: TypeLayout, depth: int = 0) -> tuple:
    """What the source says a laid-out type is, independent of any layout: member names, their
    declared types and bit-field widths, array counts, the scalars' C names (``long unsigned int``
    as ``unsigned long``), recursively through members and typedefs (not pointees).  Two compiler
    routes whose C libraries declare a type differently (glibc's ``pthread_mutex_t`` is 48 bytes
    on aarch64, musl's 40) differ here; a compiler divergence is a different layout of the same
    declaration."""
    if t.kind == "scalar":
        words = sorted(t.name.split())
        if words == ["signed"]:
            words = ["int"]
        if len(words) > 1 and "int" in words:
            words.remove("int")
        if "signed" in words and "char" not in words and len(words) > 1:
            words.remove("signed")
        return ("scalar", tuple(words))
    if t.kind == "pointer" or depth > 16:
        return (t.kind,)
    if t.kind == "typedef" and t.element is not None:
        return declaration(t.element, depth + 1)
    members = tuple((m.name, m.size_bits if m.bitfield else None, declaration(m.type, depth + 1))
                    for m in t.members)
    element = declaration(t.element, depth + 1) if t.element is not None else None
    return (t.kind, t.count, members, element)


def declared_alike(one: TypeLayout, two: TypeLayout) -> bool:
    """Whether two routes' layouts of a type come from the same declaration (``declaration``)."""
    return declaration(one) == declaration(two)
