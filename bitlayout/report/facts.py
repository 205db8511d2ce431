"""The report's inputs: plain facts per arch, taken from the run's plans (tests build them by hand).

``facts_from_plans(spec, plans)`` reads what the matrix already planned per arch
(``pipeline``: the LayoutSet, the bitmap geometries and flags) and lays nothing
out; ``compilers_here(profiles)`` is the one question the report asks of this
machine (which compiler exists per arch), answered before the report is built
so that ``model.build_report`` stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..bitmap_types import word_kind
from ..checks import ArchPlan, pointee_of
from ..errors import BitlayoutError
from ..profiles import Profile
from ..spec import Spec

if TYPE_CHECKING:
    from ..bitmap import BitmapGeometry
    from ..layout import LayoutSet, TypeLayout


@dataclass(frozen=True)
class BitmapArchFacts:
    """One bitmap type on one arch: its memory shape and the flag numbers."""

    arch: str
    geometry: BitmapGeometry | None  # None when the type has no layout here
    flags: Mapping[str, int]  # flag name -> bit number
    reason: str = ""  # why geometry is None
    c_type: str = ""
    # Flags the spec gates off on this arch (``only_on``): drawn, but a flag
    # that is not in use here cannot overflow anything.
    unused: frozenset[str] = frozenset()
    # "scalar" (a u32/u64/unsigned long flags word) or "array" (unsigned long[N],
    # DECLARE_BITMAP, a struct wrapping one); word_c_type: the C type of one word.
    shape: str = "array"
    word_c_type: str = "unsigned long"


@dataclass(frozen=True)
class BitmapFacts:
    type: str
    per_arch: Sequence[BitmapArchFacts]
    read_together: Sequence[Sequence[str]] = ()
    label: str = ""  # e.g. "the kernel's choice"; shown next to the type


@dataclass(frozen=True)
class TaggedArchFacts:
    arch: str
    pointee_align_bytes: int | None
    pointee_size_bytes: int | None
    reason: str = ""


@dataclass(frozen=True)
class TaggedFacts:
    field: str  # "struct vm_area_struct.anon_vma"
    pointee: str  # "struct anon_vma"
    tag_bits: int
    allocator: str
    per_arch: Sequence[TaggedArchFacts]


@dataclass(frozen=True)
class StructFacts:
    type: str
    per_arch: Mapping[str, TypeLayout | None]
    reasons: Mapping[str, str] = field(default_factory=dict)


def compilers_here(profiles: Iterable[Profile]) -> dict[str, str]:
    """arch -> identity of the compiler found here for it (arches without one are left out)."""
    from ..toolchains import find_compiler

    out = {}
    for p in profiles:
        compiler = find_compiler(p)
        if compiler is not None:
            out[p.name] = compiler.identity
    return out


def _why(plan: ArchPlan) -> str:
    """Why an arch has no layout, in the report's words (the message, without the error class)."""
    return plan.layout_error.message if plan.layout_error else "no layout"


def _struct_names(spec: Spec, layouts: Sequence[LayoutSet]) -> list[str]:
    """Structs to draw: the tagged pointers' containers and pointees, then every other struct."""
    names: list[str] = []
    for tp in spec.tagged_pointers:
        names.append(tp.container)
        for ls in layouts:
            try:
                names.append(pointee_of(ls, tp.field)[1].name)
                break
            except BitlayoutError:
                continue
    for ls in layouts:
        for name, t in ls.types.items():
            if name.startswith("struct ") and t.kind == "struct" and t.size_bytes:
                names.append(name)
    return [n for n in dict.fromkeys(names) if n]


def facts_from_plans(spec: Spec, plans: Mapping[str, ArchPlan]
                     ) -> tuple[list[BitmapFacts], list[TaggedFacts], list[StructFacts]]:
    """The report's inputs for a spec, from one plan per arch (the page draws what the matrix judged)."""
    bitmaps = []
    for bspec, tname in spec.bitmap_types:
        per_arch = []
        for arch, plan in plans.items():
            bp = next((b for b in plan.bitmaps if b.type == tname and b.spec.key == bspec.key), None)
            if plan.layout is None or bp is None:
                per_arch.append(BitmapArchFacts(arch, None, {}, reason=_why(plan)))
                continue
            if bp.error:
                per_arch.append(BitmapArchFacts(arch, None, {}, reason=bp.error))
                continue
            t = plan.layout.types.get(tname)
            shape, word_c_type = word_kind(t)
            per_arch.append(BitmapArchFacts(
                arch, bp.geometry, {f.name: f.nr for f in bp.flags},
                c_type=getattr(t, "c_type", "") or "",
                unused=frozenset(f.name for f in bp.flags if not f.in_use),
                shape=shape, word_c_type=word_c_type))
        bitmaps.append(BitmapFacts(tname, per_arch, bspec.read_together,
                                   label=f"flag numbers from {bspec.bits.describe()}"))
    tagged = []
    for tp in spec.tagged_pointers:
        per_arch_t = []
        pointee_name = ""
        for arch, plan in plans.items():
            if plan.layout is None:
                per_arch_t.append(TaggedArchFacts(arch, None, None, _why(plan)))
                continue
            try:
                _, pointee = pointee_of(plan.layout, tp.field)
            except BitlayoutError as exc:
                per_arch_t.append(TaggedArchFacts(arch, None, None, str(exc)))
                continue
            pointee_name = pointee_name or pointee.name
            per_arch_t.append(TaggedArchFacts(arch, pointee.align_bytes, pointee.size_bytes))
        tagged.append(TaggedFacts(tp.field, pointee_name, tp.tag_bits, tp.allocator, per_arch_t))
    structs = []
    for sname in _struct_names(spec, [p.layout for p in plans.values() if p.layout is not None]):
        per: dict[str, TypeLayout | None] = {}
        reasons: dict[str, str] = {}
        for arch, plan in plans.items():
            t = plan.layout.types.get(sname) if plan.layout is not None else None
            # A typedef'd struct draws as the struct it names (a typedef has no members).
            per[arch] = t.resolved() if t is not None and t.size_bytes else None
            if per[arch] is None:
                reasons[arch] = plan.layout_error.message if plan.layout_error else f"{sname} not declared here"
        structs.append(StructFacts(sname, per, reasons))
    return bitmaps, tagged, structs
