"""The per-arch plan: what the model predicts before any backend runs (pure).

The layout engine's LayoutSet, each bitmap type's geometry and the flag numbers
defined on the arch (with ``only_on`` gates), and pointer-member navigation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BitlayoutError, LayoutError
from ..profiles import Profile, select_profiles
from ..spec import BitmapSpec, Spec



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
    geometry: Any = None  # bitmap.BitmapGeometry
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
    profile: Profile
    layout: Any = None  # layout.LayoutSet
    layout_error: str = ""
    # no layout because this arch cannot be laid out here (a kernel tree not prepared for it, a
    # profile without a kernel build): the rows are skips with the reason, not errors
    layout_skipped: bool = False
    bitmaps: list[BitmapPlan] = field(default_factory=list)

    @property
    def arch(self) -> str:
        return self.profile.name


def flags_on_arch(bspec: BitmapSpec, layout: Any, profile: Profile) -> list[Flag]:
    """Flag numbers of a bitmap spec as defined on one arch, with per-flag validity."""
    names: dict[str, int] = {}
    if bspec.bits.kind == "table":
        names = dict(bspec.bits.table)
    elif bspec.bits.kind == "enum":
        names = enumerators(layout, bspec.bits.enum)
    else:
        pool = {**getattr(layout, "macros", {}), **getattr(layout, "enum_constants", {})}
        names = {k: v for k, v in pool.items()
                 if k.startswith(bspec.bits.prefix) and k.endswith(bspec.bits.suffix) and isinstance(v, int)}
    flags = []
    for name, nr in sorted(names.items(), key=lambda kv: (kv[1], kv[0])):
        gates = bspec.gates_for(name, nr)
        in_use = True
        why = ""
        for g in gates:
            if profile.name not in {p.name for p in select_profiles(g.on)}:
                in_use = False
                why = g.describe()
        flags.append(Flag(name, nr, in_use, why))
    return flags


def enumerators(layout: Any, enum_name: str) -> dict[str, int]:
    """name -> value of one enum's enumerators, as the layout engine read them on this arch."""
    t = layout.types.get(enum_name)
    if t is None:
        raise LayoutError(f"{enum_name!r} is not declared on this arch")
    fn = getattr(layout, "enumerators", None)
    if callable(fn):
        return dict(fn(enum_name))
    found = getattr(t, "enumerators", None)
    if found:
        return dict(found)
    tu = getattr(layout, "tu", None)
    if tu is not None and hasattr(tu, "enum_constants"):
        # cfront records name -> (enum key, index); the values are the LayoutSet's, per arch.
        values = layout.enum_constants
        return {n: values[n] for n, (key, _) in tu.enum_constants.items() if key == enum_name}
    raise LayoutError(f"the layout engine does not list the enumerators of {enum_name!r}")


def plan_arch(spec: Spec, profile: Profile, layout: Any, layout_error: str = "",
              layout_skipped: bool = False) -> ArchPlan:
    """Everything the model predicts for one arch (pure)."""
    from ..bitmap_types import geometry_of

    plan = ArchPlan(spec, profile, layout, layout_error, layout_skipped=layout_skipped)
    if layout is None:
        return plan
    for bspec, tname in spec.bitmap_types:
        bp = BitmapPlan(bspec, tname)
        try:
            t = layout.types.get(tname)
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


def pointer_member(layout: Any, fld: str) -> tuple[Any, Any]:
    """(member, pointer TypeLayout) for 'struct X.member'; LayoutError if missing or not a pointer."""
    from ..bitmap_types import _strip_typedefs

    container, _, path = fld.partition(".")
    t = layout.types.get(container)
    if t is None:
        raise LayoutError(f"unknown type {container!r}")
    m = _member(t, path)
    ptr = _strip_typedefs(m.type)
    if ptr.kind != "pointer":
        raise LayoutError(f"{fld!r} is a {ptr.kind}, not a pointer")
    return m, ptr


def pointee_of(layout: Any, fld: str) -> tuple[Any, Any]:
    """(member, pointee TypeLayout) for 'struct X.member' whose member is a pointer."""
    from ..bitmap_types import _strip_typedefs

    container, _, path = fld.partition(".")
    m, ptr = pointer_member(layout, fld)
    pointee = ptr.element
    if pointee is None:
        # The layout engine does not keep the pointee on pointer layouts: read the declared
        # type from the translation unit (cfront) and lay that out.
        name = _declared_pointee(layout, container, path.split("."))
        if name:
            pointee = layout.type(name) if hasattr(layout, "type") else layout.types.get(name)
    if pointee is not None:
        pointee = _strip_typedefs(pointee)
        full = layout.types.get(getattr(pointee, "name", ""))
        if (pointee.size_bytes or 0) == 0 and full is not None:
            pointee = full
    if pointee is None or not pointee.size_bytes:
        raise LayoutError(f"{fld!r} points to an incomplete type; its alignment is unknown")
    return m, pointee


def _declared_pointee(layout: Any, container: str, path: list[str]) -> str:
    """The pointee's type name of member ``path`` of ``container``, from cfront's declarations."""
    tu = getattr(layout, "tu", None)
    if tu is None or not hasattr(tu, "tags"):
        return ""

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
