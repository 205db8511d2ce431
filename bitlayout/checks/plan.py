"""The per-arch plan: what the model predicts before any backend runs (pure).

The layout engine's LayoutSet (or why there is none, as a ``LayoutFailure``),
each bitmap type's geometry and the flag numbers defined on the arch (with
``only_on`` gates), and pointer-member navigation.  ``bitlayout.pipeline``
builds one plan per arch and run and hands it to every consumer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BitlayoutError, LayoutError
from ..profiles import Profile, selects
from ..spec import BitmapSpec, Spec

if TYPE_CHECKING:
    from ..bitmap import BitmapGeometry
    from ..layout import LayoutSet


@dataclass(frozen=True)
class LayoutFailure:
    """Why an arch has no layout: the error's class and message, kept apart (not one string)."""

    error: str  # the BitlayoutError subclass: "LayoutError", "CParseError", "ToolchainError", ...
    message: str
    # True: the arch cannot be laid out here at all (a kernel tree not prepared for it, a profile
    # without a kernel build): its rows are skips with the reason, not errors
    skip: bool = False

    @classmethod
    def of(cls, exc: BaseException) -> LayoutFailure:
        return cls(type(exc).__name__, str(exc), skip=getattr(exc, "skips_arch", False))

    def __str__(self) -> str:
        return f"{self.error}: {self.message}"


@dataclass(frozen=True)
class Flag:
    name: str
    nr: int
    in_use: bool  # False: gated off on this arch by the spec's only_on
    gate: str = ""  # the gate's description when gated


@dataclass
class BitmapPlan:
    spec: BitmapSpec
    type: str
    geometry: BitmapGeometry | None = None
    error: str = ""
    flags: list[Flag] = field(default_factory=list)  # flags defined on this arch

    @property
    def nbits(self) -> int:
        return self.geometry.word_bytes * 8 * self.geometry.nwords

    def flag(self, name: str) -> Flag | None:
        for f in self.flags:
            if f.name == name:
                return f
        return None


@dataclass
class ArchPlan:
    spec: Spec
    profile: Profile  # as ``compiler`` sees it (Profile.for_compiler)
    layout: LayoutSet | None = None
    layout_error: LayoutFailure | None = None  # set when layout is None
    bitmaps: list[BitmapPlan] = field(default_factory=list)
    # Whose ABI this plan follows ("gcc" or "clang"), and the same spec planned for the arch's
    # other compiler (the profile's [alternate]): the two plans point at each other.  None when
    # the profile describes one compiler only, or nobody asked for the second plan.
    compiler: str = ""
    other: ArchPlan | None = field(default=None, repr=False, compare=False)
    is_reference: bool = True  # the plan of the profile's own [layout] compiler
    # The profile as shipped, where ``profile`` is changed by a kernel tree's Kbuild flags
    # (kernel/abi.py: -funsigned-char, no _Float16): what ``bitlayout profiles`` verifies.
    shipped_profile: Profile | None = field(default=None, repr=False, compare=False)

    @property
    def arch(self) -> str:
        return self.profile.name

    def for_compiler(self, abi: str | None) -> ArchPlan:
        """The plan whose predictions apply to observations made through a compiler of ``abi``
        ("gcc"/"clang"): the other plan when it is that compiler's, else this one (a compiler
        the profile does not describe is judged by the profile's own numbers, as before)."""
        if abi and abi != self.compiler and self.other is not None and self.other.compiler == abi:
            return self.other
        return self

    @property
    def reference(self) -> ArchPlan:
        """The plan of the compiler the model follows on this arch ([layout] compiler)."""
        return self if self.is_reference or self.other is None else self.other


def flags_on_arch(bspec: BitmapSpec, layout: LayoutSet, profile: Profile) -> list[Flag]:
    """Flag numbers of a bitmap spec as defined on one arch, with per-flag validity."""
    names: dict[str, int] = {}
    if bspec.bits.kind == "table":
        names = dict(bspec.bits.table)
    elif bspec.bits.kind == "enum":
        names = enumerators(layout, bspec.bits.enum)
    elif bspec.bits.kind == "masks":
        # a single-bit mask is a flag at that bit; 0 (not on this arch) and combinations are none
        names = {k: v.bit_length() - 1 for k, v in layout.macros.items()
                 if bspec.bits.selects(k) and isinstance(v, int) and v > 0 and v & (v - 1) == 0}
    else:
        pool = {**layout.macros, **layout.enum_constants}
        names = {k: v for k, v in pool.items()
                 if k.startswith(bspec.bits.prefix) and k.endswith(bspec.bits.suffix) and isinstance(v, int)}
    flags = []
    for name, nr in sorted(names.items(), key=lambda kv: (kv[1], kv[0])):
        gates = bspec.gates_for(name, nr)
        in_use = True
        why = ""
        for g in gates:
            if not selects(g.on, profile):
                in_use = False
                why = g.describe()
        flags.append(Flag(name, nr, in_use, why))
    return flags


def enumerators(layout: LayoutSet, enum_name: str) -> dict[str, int]:
    """name -> value of one enum's enumerators, as the layout engine read them on this arch."""
    if layout.find(enum_name) is None:
        raise LayoutError(f"{enum_name!r} is not declared on this arch")
    return dict(layout.enumerators(enum_name))


def plan_arch(spec: Spec, profile: Profile, layout: LayoutSet | None,
              layout_error: LayoutFailure | None = None) -> ArchPlan:
    """Everything the model predicts for one arch (pure)."""
    from ..bitmap_types import geometry_of

    plan = ArchPlan(spec, profile, layout, layout_error, compiler=profile.compiler)
    if layout is None:
        return plan
    for bspec, tname in spec.bitmap_types:
        bp = BitmapPlan(bspec, tname)
        try:
            t = layout.find(tname)
            if t is None:
                raise LayoutError(f"type {tname!r} is not declared on this arch")
            bp.geometry = geometry_of(t, profile, tname)
            bp.flags = flags_on_arch(bspec, layout, profile)
        except BitlayoutError as exc:
            bp.error = str(exc)
        plan.bitmaps.append(bp)
    return plan


def _member(t: Any, path: str) -> Any:
    for part in path.split("."):
        found = None
        for m in getattr(t, "members", ()):
            if m.name == part:
                found = m
                break
        if found is None:
            raise LayoutError(f"{getattr(t, 'name', '?')!r} has no member {part!r}")
        t = found.type
        last = found
    return last


def pointer_member(layout: LayoutSet, fld: str) -> tuple[Any, Any]:
    """(member, pointer TypeLayout) for 'struct X.member'; LayoutError if missing or not a pointer."""
    from ..bitmap_types import strip_typedefs

    container, _, path = fld.partition(".")
    t = layout.find(container)
    if t is None:
        raise LayoutError(f"unknown type {container!r}")
    m = _member(t, path)
    ptr = strip_typedefs(m.type)
    if ptr.kind != "pointer":
        raise LayoutError(f"{fld!r} is a {ptr.kind}, not a pointer")
    return m, ptr


def pointee_of(layout: LayoutSet, fld: str) -> tuple[Any, Any]:
    """(member, pointee TypeLayout) for 'struct X.member' whose member is a pointer."""
    from ..bitmap_types import strip_typedefs

    container, _, path = fld.partition(".")
    m, ptr = pointer_member(layout, fld)
    pointee = ptr.element
    if pointee is None:
        # The layout engine does not keep the pointee on pointer layouts: read the declared
        # type from the translation unit (cfront) and lay that out.
        name = _declared_pointee(layout, container, path.split("."))
        if name:
            pointee = layout.type(name)
    if pointee is not None:
        pointee = strip_typedefs(pointee)
        full = layout.find(getattr(pointee, "name", ""))
        if (pointee.size_bytes or 0) == 0 and full is not None:
            pointee = full
    if pointee is None or not pointee.size_bytes:
        raise LayoutError(f"{fld!r} points to an incomplete type; its alignment is unknown")
    return m, pointee


def _declared_pointee(layout: LayoutSet, container: str, path: list[str]) -> str:
    """The pointee's type name of member ``path`` of ``container``, from cfront's declarations."""
    tu = layout.tu

    def resolve(ct):
        seen = 0
        while ct is not None and ct.kind == "typedef" and ct.name in tu.typedefs and seen < 64:
            ct = tu.typedefs[ct.name].ctype
            seen += 1
        return ct

    def find(tag_key: str, name: str):
        tag = tu.tags.get(tag_key)
        for f in (tag.fields or []) if tag else []:
            if f.name == name:
                return f.ctype
            if f.name is None:  # anonymous struct/union: members are flattened into the parent
                inner = resolve(f.ctype)
                if inner is not None and inner.kind == "tag":
                    hit = find(inner.name, name)
                    if hit is not None:
                        return hit
        return None

    key = container
    ct = None
    for i, part in enumerate(path):
        ct = find(key, part)
        if ct is None:
            return ""
        if i < len(path) - 1:
            ct = resolve(ct)
            if ct is None or ct.kind != "tag":
                return ""
            key = ct.name
    ct = resolve(ct)
    if ct is None or ct.kind != "pointer" or ct.of is None:
        return ""
    of = ct.of
    if of.kind in ("tag", "typedef"):
        return of.name
    return of.spelled or of.name
