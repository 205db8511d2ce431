"""``bitlayout diff``: what changes, per arch, between two designs of a type.

A design is a C type in a header: ``unsigned long`` vs
``unsigned long[8 / sizeof(unsigned long)]`` vs ``u64`` vs
``DECLARE_BITMAP(..., BITS_PER_LONG)``.  For every selected arch the layout
engine lays out both headers and this module compares: size and alignment;
the bitmap shape (words x word size); which flag bits do not fit (given a flag
set, by default the embedded spec's VMA flags); tear exposure (a whole-value
read or a mask read together that spans more than one single-copy-atomic
access); and, with ``--container``, the offsets, holes and size of the
containing struct.

Computation only (no printing): ``diff_designs`` returns the
``bitlayout.diff/1`` dict; ``report.text.render_diff_text`` renders it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import BitlayoutError, LayoutError, UsageError
from .profiles import Profile
from .ranges import format_bit_ranges

DIFF_SCHEMA = "bitlayout.diff/1"


@dataclass(frozen=True)
class Design:
    path: str  # absolute header path, or a kernel include name (``--kernel``)
    type: str  # "vm_flags_t", "struct foo", ...

    @property
    def label(self) -> str:
        return f"{self.type} ({header_label(self.path)})"


def header_label(path: str) -> str:
    """A design's header as the user knows it: a file by its name, a kernel include name as
    written (``linux/mm_types.h``)."""
    return Path(path).name if Path(path).is_absolute() else path


def _split(arg: str) -> tuple[str, str | None]:
    """'file.h:TYPE' -> (file.h, TYPE); 'file.h' -> (file.h, None)."""
    if Path(arg).is_file():
        return arg, None
    head, sep, tail = arg.rpartition(":")
    if sep and head and tail.strip():
        return head, " ".join(tail.split())
    return arg, None


def parse_designs(old: str, new: str | None, types: Sequence[str] | None, kernel: Any = None) -> tuple[Design, Design]:
    """The command line's designs: ``OLD NEW`` as FILE:TYPE pairs, or files + ``--type OLD_T NEW_T``.
    With ``kernel`` (a ``kernel.inputs.KernelSource``) a FILE may also be a kernel include name."""
    old_file, old_type = _split(old)
    new_file, new_type = _split(new) if new else (old_file, None)
    if types:
        if len(types) != 2:
            raise UsageError(f"--type takes two type names (OLD_T NEW_T), got {len(types)}")
        if old_type or new_type:
            raise UsageError("give the types either as FILE:TYPE or with --type, not both")
        old_type, new_type = (" ".join(t.split()) for t in types)
    if not old_type or not new_type:
        raise UsageError("which types? give OLD and NEW as FILE:TYPE, or --type OLD_T NEW_T")
    out = []
    for f in (old_file, new_file):
        p = Path(f)
        if p.is_file():
            out.append(str(p.resolve()))
            continue
        if kernel is None:
            raise UsageError("header not found", path=f)
        kernel.check_headers([f], "header")
        out.append(f)
    return Design(out[0], old_type), Design(out[1], new_type)


# ---------------------------------------------------------------------------
# Flag sets


@dataclass(frozen=True)
class FlagSet:
    """Where the flag numbers come from, and the masks read together."""

    source: str  # "default", "enum NAME", "none"
    read_together: tuple[tuple[str, ...], ...] = ()


def _ranges(nrs: Sequence[int]) -> str:
    return format_bit_ranges(nrs, empty="none")

class _Layouts:
    """Per (header, arch) layout cache: the same header is read once per arch."""

    def __init__(self, include_dirs: Sequence[str], defines: Mapping[str, str], kernel: Any = None):
        self.include_dirs = tuple(include_dirs)
        self.defines = dict(defines)
        self.kernel = kernel
        self.cache: dict[tuple[str, str], Any] = {}

    def get(self, path: str, profile: Profile) -> Any:
        key = (path, profile.name)
        if key not in self.cache:
            from .kernel.inputs import layout_for

            try:
                self.cache[key] = layout_for([path], profile, self.include_dirs, self.defines, kernel=self.kernel)
            except LayoutError as exc:
                self.cache[key] = exc
        value = self.cache[key]
        if isinstance(value, Exception):
            raise value
        return value


@functools.cache
def _default_spec():
    """The embedded spec, read once per process (the flags are asked for per arch)."""
    from .spec import load_default_spec

    return load_default_spec()


def _flags_for(flagset: FlagSet, profile: Profile, layouts: _Layouts, old: Design) -> tuple[dict, set, tuple]:
    """(name -> nr, names not in use on this arch, masks) for one arch."""
    from .checks import enumerators, flags_on_arch

    if flagset.source == "none":
        return {}, set(), ()
    if flagset.source == "default":
        spec = _default_spec()
        bspec = spec.bitmaps[0]
        ls = layouts.get(spec.headers[0], profile)
        flags = flags_on_arch(bspec, ls, profile)
        return ({f.name: f.nr for f in flags}, {f.name for f in flags if not f.in_use},
                tuple(bspec.read_together))
    ls = layouts.get(old.path, profile)
    return enumerators(ls, flagset.source), set(), tuple(flagset.read_together)


# ---------------------------------------------------------------------------
# One design on one arch


def _type_names(t: Any) -> set[str]:
    """Every name of a type along its typedef chain: {'foo_bitmap_t', 'struct foo_bitmap'}."""
    names: set[str] = set()
    for _ in range(64):
        if t is None:
            break
        names.update(n for n in (getattr(t, "name", ""), getattr(t, "c_type", "")) if n)
        if getattr(t, "kind", "") != "typedef":
            break
        t = getattr(t, "element", None)
    return names


def _container_facts(ls: Any, container: str, design: Design, profile: Profile) -> dict[str, Any]:
    from .struct_layout import struct_layout

    t = ls.types.get(container)
    if t is None or not t.size_bytes:
        return {"declared": False}
    t = t.resolved()  # a typedef'd container: its members are the struct's
    lay = struct_layout(t, profile.cacheline_bytes)
    members = [(m.name, m.offset_bits, m) for m in t.flat_members()]
    # The member may name the type through a typedef (foo_bitmap_t for struct foo_bitmap,
    # or the other way round): match on every name along either typedef chain.
    wanted = _type_names(ls.types.get(design.type)) | {design.type}
    # A member declared with the design's own name first: a scalar typedef (vm_flags_t, an
    # unsigned long) would otherwise match every unsigned long member (vm_start)
    holder = [name for name, _, m in members if design.type in _type_names(m.type)] or \
        [name for name, _, m in members if _type_names(m.type) & wanted]
    return {
        "declared": True, "size_bytes": t.size_bytes, "align_bytes": t.align_bytes,
        "hole_bytes": lay["hole_bits"] // 8, "padding_bytes": lay["padding_bits"] // 8,
        "cachelines": lay["cachelines"], "member": holder[0] if holder else "",
        "offsets": {name: off // 8 for name, off, _ in members if name},
        "holes": [{"offset": s["offset_bits"] // 8, "size": s["size_bits"] // 8}
                  for s in lay["segments"] if s["kind"] == "hole"],
    }


def _design_facts(design: Design, profile: Profile, layouts: _Layouts, flags: Mapping[str, int],
                  unused: set[str], masks: Sequence[Sequence[str]], container: str | None) -> dict[str, Any]:
    from . import bitmap as bm
    from .bitmap_types import geometry_of

    try:
        ls = layouts.get(design.path, profile)
    except BitlayoutError as exc:
        return {"error": str(exc)}
    t = ls.types.get(design.type)
    if t is None:
        return {"error": f"{design.type!r} is not declared in {header_label(design.path)} on {profile.name}"}
    out: dict[str, Any] = {"size_bytes": t.size_bytes, "align_bytes": t.align_bytes,
                           "c_type": getattr(t, "c_type", "") or ""}
    try:
        geom = geometry_of(t, profile, design.type)
    except BitlayoutError as exc:
        out["bitmap"] = None
        out["not_bitmap"] = str(exc)
    else:
        oob = sorted(set(bm.out_of_bounds(geom, list(flags.values()))))
        oob_flags = sorted((n for n, nr in flags.items() if nr in set(oob)), key=lambda n: (flags[n], n))
        words = [bm.bit_position(geom, flags[n]).word for n in oob_flags]
        tearing = []
        for group in masks:
            nrs = [flags[n] for n in group if n in flags and n not in unused]
            if nrs and bm.read_tears(geom, nrs):
                tearing.append([n for n in group if n in flags and n not in unused])
        out.update({
            "bitmap": {"word_bytes": geom.word_bytes, "nwords": geom.nwords,
                       "nbits": geom.word_bytes * 8 * geom.nwords, "atomic_bytes": geom.atomic_bytes},
            "oob_bits": oob,
            "oob_flags": oob_flags,
            "oob_in_use": [n for n in oob_flags if n not in unused],
            "words_past_end": (max(words) - geom.nwords + 1) if words else 0,
            "full_read_tears": bool(bm.full_read_tears(geom)),
            "tearing_masks": tearing,
        })
    if container:
        out["container"] = _container_facts(ls, container, design, profile)
    return out


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Plain-language differences, one short line each."""
    if "error" in old or "error" in new:
        return [f"cannot compare: {old.get('error') or new.get('error')}"]
    ch = []
    if old["size_bytes"] != new["size_bytes"]:
        ch.append(f"size {old['size_bytes']} -> {new['size_bytes']} bytes")
    if old["align_bytes"] != new["align_bytes"]:
        ch.append(f"align {old['align_bytes']} -> {new['align_bytes']}")
    ob, nb = old.get("bitmap"), new.get("bitmap")
    if ob and nb:
        if (ob["nwords"], ob["word_bytes"]) != (nb["nwords"], nb["word_bytes"]):
            ch.append(f"bits {ob['nbits']} ({ob['nwords']} x {ob['word_bytes'] * 8}) -> "
                      f"{nb['nbits']} ({nb['nwords']} x {nb['word_bytes'] * 8})")
        if old["oob_bits"] != new["oob_bits"]:
            ch.append(f"out-of-bounds flag bits {_ranges(old['oob_bits'])} -> {_ranges(new['oob_bits'])}")
        if old["full_read_tears"] != new["full_read_tears"]:
            ch.append(f"whole-value read tears: {'yes' if old['full_read_tears'] else 'no'} -> "
                      f"{'yes' if new['full_read_tears'] else 'no'}")
        if old["tearing_masks"] != new["tearing_masks"]:
            ch.append(f"masks that tear: {len(old['tearing_masks'])} -> {len(new['tearing_masks'])}")
    elif bool(ob) != bool(nb):
        ch.append(f"bitmap-ish: {'yes' if ob else 'no'} -> {'yes' if nb else 'no'}")
    oc, nc = old.get("container"), new.get("container")
    if oc and nc and oc.get("declared") and nc.get("declared"):
        for key, what in (("size_bytes", "container size"), ("hole_bytes", "container holes"),
                          ("cachelines", "container cachelines")):
            if oc[key] != nc[key]:
                ch.append(f"{what} {oc[key]} -> {nc[key]}")
        moved = [f"{m} {oc['offsets'][m]} -> {nc['offsets'][m]}" for m in oc["offsets"]
                 if m in nc["offsets"] and oc["offsets"][m] != nc["offsets"][m]]
        if moved:
            ch.append("offsets moved: " + ", ".join(moved))
    return ch


def _describe_flags(flagset: FlagSet) -> str:
    if flagset.source == "default":
        b = _default_spec().bitmaps[0]
        return f"the embedded spec's {b.bits.describe()}"
    if flagset.source == "none":
        return "no flags"
    return f"{flagset.source} of OLD's header"


def _signature(facts: Mapping[str, Any]) -> tuple:
    """The facts a reader compares, without per-arch flag names."""
    if "error" in facts:
        return ("error", facts["error"])
    c = facts.get("container") or {}
    return (facts["size_bytes"], facts["align_bytes"], repr(facts.get("bitmap")), tuple(facts.get("oob_bits", ())),
            len(facts.get("oob_in_use", ())), facts.get("words_past_end"), facts.get("full_read_tears"),
            len(facts.get("tearing_masks", ())), c.get("declared"), c.get("size_bytes"), c.get("align_bytes"),
            c.get("hole_bytes"), c.get("member"), (c.get("offsets") or {}).get(c.get("member", "")))


def _arch_entries(profiles: Sequence[Profile], old: Design, new: Design, flagset: FlagSet, container: str | None,
                  include_dirs: Sequence[str], defines: Mapping[str, str], kernel: Any) -> tuple[list, int, int]:
    """The ``arches`` entries of ``profiles`` in order, with the most flag names and bit numbers
    any of them has (a worker's job, or the whole run)."""
    layouts = _Layouts(include_dirs, defines, kernel)
    arches = []
    flag_count = bit_count = 0
    for p in profiles:
        try:
            flags, unused, masks = _flags_for(flagset, p, layouts, old)
        except BitlayoutError as exc:
            raise UsageError(f"flag set {flagset.source!r} on {p.name}: {exc}") from None
        flag_count = max(flag_count, len(flags))
        bit_count = max(bit_count, len(set(flags.values())))
        o = _design_facts(old, p, layouts, flags, unused, masks, container)
        n = _design_facts(new, p, layouts, flags, unused, masks, container)
        arches.append({"arch": p.name, "layout_class": p.layout_class, "old": o, "new": n,
                       "changes": _changes(o, n)})
    return arches, flag_count, bit_count


def diff_designs(old: Design, new: Design, profiles: Sequence[Profile], *,
                 flagset: FlagSet = FlagSet("default"), container: str | None = None,
                 include_dirs: Sequence[str] = (), defines: Mapping[str, str] | None = None,
                 kernel: Any = None, jobs: int | None = None) -> dict[str, Any]:
    """The ``bitlayout.diff/1`` dict for two designs on every given arch (``kernel``: a
    ``kernel.inputs.KernelSource`` the headers come from; its arches are worked on in ``jobs``
    forked workers, default one per core: ``bitlayout.workers``)."""
    from .workers import contiguous_runs, map_runs

    runs = contiguous_runs(profiles, jobs) if kernel is not None else [list(profiles)]
    arches = []
    flag_count = bit_count = 0
    for run_arches, run_flags, run_bits in map_runs(_arch_entries, runs, old, new, flagset, container,
                                                    tuple(include_dirs), dict(defines or {}), kernel):
        arches += run_arches
        flag_count = max(flag_count, run_flags)
        bit_count = max(bit_count, run_bits)
    errors = [a for a in arches if "error" in a["old"] or "error" in a["new"]]
    if errors and len(errors) == len(arches):
        e = errors[0]
        raise LayoutError(e["old"].get("error") or e["new"]["error"])
    if container and arches and not any((a[side].get("container") or {}).get("declared")
                                        for a in arches for side in ("old", "new")):
        # A container no arch declares is a typo (as in a spec), not "not declared" rows and exit 0.
        raise UsageError(f"--container {container!r} is not a complete type in {header_label(old.path)} or "
                         f"{header_label(new.path)} on any selected arch")
    # Arches whose old and new facts agree (up to flag names: aliases differ per arch)
    # are summarised together.
    groups: dict[str, dict[str, Any]] = {}
    for a in arches:
        key = repr((_signature(a["old"]), _signature(a["new"]), a["changes"]))
        groups.setdefault(key, {"arches": [], "layout_classes": [], "old": a["old"], "new": a["new"],
                                "changes": a["changes"]})
        groups[key]["arches"].append(a["arch"])
        if a["layout_class"] not in groups[key]["layout_classes"]:
            groups[key]["layout_classes"].append(a["layout_class"])
    return {
        "schema": DIFF_SCHEMA,
        "old": {"path": old.path, "type": old.type},
        "new": {"path": new.path, "type": new.type},
        "flags": {"source": flagset.source, "count": flag_count, "bit_numbers": bit_count,
                  "describe": _describe_flags(flagset)},
        "container": container,
        "arches": arches,
        "groups": list(groups.values()),
        "summary": {
            "arches": len(arches),
            "changed": [a["arch"] for a in arches if a["changes"]],
            "new_out_of_bounds": [a["arch"] for a in arches
                                  if a["new"].get("oob_in_use") and not a["old"].get("oob_in_use")],
            "fixed_out_of_bounds": [a["arch"] for a in arches
                                    if a["old"].get("oob_in_use") and not a["new"].get("oob_in_use")],
        },
    }
