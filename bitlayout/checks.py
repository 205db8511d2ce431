"""Checks: a model prediction + a backend observation + an assertion, as ``MatrixRow``s.

Every check runs in two phases so that a backend that is expensive to start
(the exec backend runs one emulator process per arch) is asked once per arch:

1. ``plan_arch(spec, profile, layout)`` computes everything the model says for
   one arch (pure: layout engine + bitmap/tagging models), and each check's
   ``requests(plan)`` lists the probes it wants observed (plain data,
   ``bitlayout.probes`` formats them);
2. after the backend answered, ``judge(plan, predicted, backend, pairs)`` compares
   ((request, observation) pairs, in request order).

Status meanings (DESIGN.md, ``bitlayout.matrix/1``):

- ``pass``: the model and the observation agree and there is no hazard;
- ``fail``: a **real hazard** (a flag that exists on this arch but lies outside
  its type, a mask or value read that can tear, too few free tag bits, a false
  expectation) — confirmed by the backend when one observed it;
- ``error``: the model and the backend **disagree** ("model/profile bug"), or the
  check could not be computed (layout error, crashed probe);
- ``skip``: this backend cannot observe this check here (the reason says why
  and how to get the tool).

For the ``model`` backend, hazard checks report the model's own finding;
checks that only compare (profile, bitops, lost-update) skip with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import BitlayoutError, LayoutError
from .expressions import ExprEvalError, UndefinedName
from .profiles import Profile, select_profiles
from .results import MatrixRow, Observation
from .spec import BitmapSpec, Spec

CHECKS = ("profile", "layout", "bit-position", "bitops", "arr64", "bounds", "tear",
          "lost-update", "tag-bits", "expect")

MODEL_BUG = "model/profile bug"
HAZARD = "real hazard"
# A disagreement on an arch whose profile lists a measured toolchain/emulator defect for
# this check ([toolchain] known_issues, docs/known-issues.md): still an error row, but the
# label says the observation, not the model, is what is known to be wrong.
DEFECT = "emulator/toolchain defect"
# Backends whose observations come from the profile's [toolchain] (cross compiler, qemu);
# the host and model backends never use it, so a known issue cannot excuse them.
TOOLCHAIN_BACKENDS = ("exec", "compiled")


# ---------------------------------------------------------------------------
# The per-arch plan: what the model predicts, before any backend runs.


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


def plan_arch(spec: Spec, profile: Profile, layout: Any, layout_error: str = "") -> ArchPlan:
    """Everything the model predicts for one arch (pure)."""
    from .bitmap_types import geometry_of

    plan = ArchPlan(spec, profile, layout, layout_error)
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


# ---------------------------------------------------------------------------
# Expression context on the model (per arch).


class ModelContext:
    """Answers ``[[expect]]`` questions from the layout engine and the models."""

    def __init__(self, plan: ArchPlan):
        self.plan = plan
        self.layout = plan.layout
        self.profile = plan.profile

    def _eval(self, expr: str) -> int:
        try:
            return int(self.layout.eval(expr))
        except BitlayoutError as exc:
            raise ExprEvalError(str(exc)) from None

    def name(self, ident: str) -> int:
        for table in (getattr(self.layout, "enum_constants", {}), getattr(self.layout, "macros", {})):
            if ident in table:
                return int(table[ident])
        try:
            return int(self.layout.eval(ident))
        except BitlayoutError:
            raise UndefinedName(ident) from None

    def sizeof(self, ctype: str) -> int:
        return self._eval(f"sizeof({ctype})")

    def alignof(self, ctype: str) -> int:
        return self._eval(f"_Alignof({ctype})")

    def gnu_alignof(self, ctype: str) -> int:
        try:
            return int(self.layout.type(ctype).gnu_align_bytes)
        except (BitlayoutError, AttributeError):
            return self._eval(f"__alignof__({ctype})")

    def offsetof(self, ctype: str, member: str) -> int:
        try:
            return int(self.layout.eval(f"offsetof({ctype}, {member})"))
        except BitlayoutError:
            pass
        # Walk the laid-out members (anonymous struct/union members are flattened).
        from .bitmap_types import _strip_typedefs

        try:
            t = _strip_typedefs(self.layout.type(ctype))
        except BitlayoutError as exc:
            raise ExprEvalError(str(exc)) from None
        offset_bits = 0
        for part in member.split("."):
            members = t.flat_members() if hasattr(t, "flat_members") else t.members
            hit = next((m for m in members if m.name == part), None)
            if hit is None:
                raise ExprEvalError(f"{ctype!r} has no member {part!r}")
            offset_bits += hit.offset_bits
            t = _strip_typedefs(hit.type)
        return offset_bits // 8

    def _geometry(self, ctype: str):
        from .bitmap_types import geometry_of

        t = self.layout.types.get(ctype)
        if t is None:
            raise ExprEvalError(f"unknown type {ctype!r}")
        return geometry_of(t, self.profile, ctype)

    def fits(self, nr: int, ctype: str) -> bool:
        from .bitmap import bit_position

        return bool(bit_position(self._geometry(ctype), nr).in_bounds)

    def bit_word(self, nr: int, ctype: str) -> int:
        from .bitmap import bit_position

        return bit_position(self._geometry(ctype), nr).word

    def byte_offset(self, nr: int, ctype: str) -> int:
        from .bitmap import bit_position

        return bit_position(self._geometry(ctype), nr).byte_offset

    def tag_bits(self, fld: str, allocator: str) -> int:
        return tag_prediction(self.plan, fld, allocator)["free_bits"]


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


def pointee_of(layout: Any, fld: str) -> tuple[Any, Any]:
    """(member, pointee TypeLayout) for 'struct X.member' whose member is a pointer."""
    from .bitmap_types import _strip_typedefs

    container, _, path = fld.partition(".")
    t = layout.types.get(container)
    if t is None:
        raise LayoutError(f"unknown type {container!r}")
    m = _member(t, path)
    ptr = _strip_typedefs(m.type)
    if ptr.kind != "pointer":
        raise LayoutError(f"{fld!r} is a {ptr.kind}, not a pointer")
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


def tag_prediction(plan: ArchPlan, fld: str, allocator: str) -> dict[str, Any]:
    from .tagging import free_tag_bits

    _, pointee = pointee_of(plan.layout, fld)
    tb = free_tag_bits(plan.profile, pointee.align_bytes, pointee.size_bytes, allocator)
    out = {"pointee": pointee.name, "pointee_align_bytes": pointee.align_bytes,
           "pointee_size_bytes": pointee.size_bytes, "allocator": allocator}
    data = _plain(tb)
    if isinstance(data, dict):
        out.update(data)
        bits = data.get("free_bits", data.get("bits"))
    else:
        bits = data
    out["free_bits"] = int(bits)
    return out


def _plain(obj: Any) -> Any:
    """Dataclasses/namedtuples -> dicts, recursively, for JSON rows."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


# ---------------------------------------------------------------------------
# Check base and the checks.


class Skip(Exception):
    """This check cannot run here; the message is the reason."""


@dataclass
class CheckOutcome:
    """What a check concluded for one arch and backend (becomes one MatrixRow)."""

    status: str
    detail: str
    predicted: Any = None
    observed: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)


class Check:
    name = ""
    # Backends that can observe this check (besides the model's own verdict).
    observers: tuple[str, ...] = ()
    # What the model backend alone can conclude: "verdict" (a hazard finding) or "" (skip).
    model_verdict = True

    def predict(self, plan: ArchPlan) -> Any:
        raise NotImplementedError

    def model_outcome(self, plan: ArchPlan, predicted: Any) -> CheckOutcome:
        raise NotImplementedError

    def requests(self, plan: ArchPlan, predicted: Any, backend: str) -> list[dict[str, Any]]:
        """Probe requests this check wants ``backend`` to answer: ``probe(...)`` dicts."""
        return []

    def judge(self, plan: ArchPlan, predicted: Any, backend: str,
              pairs: Sequence[tuple[dict[str, Any], Observation]]) -> CheckOutcome:
        """Compare; ``pairs`` are (request, observation) in request order."""
        raise Skip(f"{backend} backend does not observe {self.name}")

    # The compiled backend observes layout facts (sizes, alignments, offsets read back from a
    # real compiler's DWARF), not behaviour: only checks about layout implement these two.
    def compiled_types(self, plan: ArchPlan, predicted: Any) -> list[str]:
        """C type names whose compiled layout this check needs."""
        raise Skip(f"the compiled backend observes layout facts only, not {self.name} (see host/exec)")

    def judge_compiled(self, plan: ArchPlan, predicted: Any, facts: dict[str, Any]) -> CheckOutcome:
        raise Skip(f"the compiled backend observes layout facts only, not {self.name}")


def probe(name: str, meta: dict[str, Any] | None = None, **args: Any) -> dict[str, Any]:
    """A check's probe request: the ``bitlayout.probes`` probe name and arguments, plus
    ``meta`` (which type/flag it is about) that stays on the Python side."""
    return {"probe": name, "args": args, "meta": meta or {}}


def _wn(geom: Any) -> dict[str, int]:
    """Word width and count of a geometry, as probe arguments."""
    return {"w": geom.word_bytes * 8, "n": geom.nwords}


GUARD_WORDS = 8  # csrc/bitops.h BL_GUARD_WORDS (bitlayout.probes.GUARD_WORDS)
STRESS_MS = 60  # per stress probe: tears show within 1 ms under qemu (DESIGN.md); cheap in CI
STRESS_MAX = 400000


def _bitmaps_ok(plan: ArchPlan) -> list[BitmapPlan]:
    if plan.layout is None:
        raise Skip(f"no layout: {plan.layout_error}")
    if not plan.spec.bitmaps:
        # A spec with only [[tagged_pointer]] / [[expect]] is valid (docs/spec.md): the
        # bitmap checks have nothing to look at, which is a skip, not an error or a pass.
        raise Skip("the spec has no [[bitmap]]")
    return [b for b in plan.bitmaps if not b.error]


def _bitmap_errors(plan: ArchPlan) -> dict[str, str]:
    return {b.type: b.error for b in plan.bitmaps if b.error}


def _errors_text(errors: dict[str, str]) -> str:
    """``{name: reason}`` as one readable line (not a Python dict repr)."""
    return "; ".join(f"{k}: {v}" for k, v in errors.items()) or "no reason recorded"


def _flags_text(flags: Sequence[Flag], limit: int = 14) -> str:
    items = [f"{f.name}({f.nr})" for f in flags]
    if len(items) > limit:
        items = items[:limit] + [f"... {len(flags) - limit} more"]
    return ", ".join(items)


def _bit_ranges(nrs: Sequence[int]) -> str:
    nrs = sorted(set(nrs))
    out = []
    i = 0
    while i < len(nrs):
        j = i
        while j + 1 < len(nrs) and nrs[j + 1] == nrs[j] + 1:
            j += 1
        out.append(f"{nrs[i]}" if i == j else f"{nrs[i]}..{nrs[j]}")
        i = j + 1
    return ",".join(out)


class ProfileCheck(Check):
    """Profile numbers (sizes, alignments, endianness) vs what a real compiler/CPU says."""

    name = "profile"
    model_verdict = False

    def predict(self, plan):
        p = plan.profile
        return {
            "bits_per_long": p.bits_per_long, "endianness": p.endianness,
            "char_signed": p.char_signed,
            "scalars": {k: {"size": s.size_bytes, "align": s.align_bytes, "gnu_align": s.gnu_align_bytes}
                        for k, s in p.scalars.items()},
        }

    def model_outcome(self, plan, predicted):
        return CheckOutcome("skip", "model only: a profile is checked against a compiler or CPU "
                            "(use --backend compiled,exec)", predicted)

    def compiled_types(self, plan, predicted):
        return _profile_compiled_types(plan)

    def judge_compiled(self, plan, predicted, facts):
        return _judge_profile_compiled(plan, predicted, facts)

    def requests(self, plan, predicted, backend):
        if backend == "host" and not plan.profile.toolchain.host_native:
            raise Skip("the host backend runs on this machine's ABI; it checks the host's own profile only "
                       "(use --backend exec)")
        return [probe("info")]

    def judge(self, plan, predicted, backend, pairs):
        (_, obs), = pairs
        v = obs.values
        want = {"sizeof_long": predicted["scalars"]["long"]["size"],
                "sizeof_pointer": predicted["scalars"]["pointer"]["size"],
                "sizeof_long_long": predicted["scalars"]["long_long"]["size"],
                "little_endian": predicted["endianness"] == "little"}
        got = {k: v.get(k) for k in want}
        if want != got:
            diff = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
            return CheckOutcome("error", f"{MODEL_BUG}: profile vs {backend} (profile, observed): {diff}",
                                want, got)
        return CheckOutcome("pass", f"{backend} confirms sizeof long/pointer/long long "
                            f"{got['sizeof_long']}/{got['sizeof_pointer']}/{got['sizeof_long_long']}, "
                            f"{predicted['endianness']}-endian", want, got)


def _profile_compiled_types(plan: ArchPlan) -> list[str]:
    from .profiles import C_SPELLING

    return [C_SPELLING[k] for k in plan.profile.scalars]


def _judge_profile_compiled(plan: ArchPlan, predicted: Any, facts: dict[str, Any]) -> CheckOutcome:
    from .profiles import C_SPELLING

    diffs = {}
    seen = {}
    for key, want in predicted["scalars"].items():
        got = facts.get(C_SPELLING[key])
        if got is None:
            continue
        seen[key] = {"size": got["size"], "align": got["align"]}
        if (got["size"], got["align"]) != (want["size"], want["align"]):
            diffs[key] = {"profile": [want["size"], want["align"]], "compiler": [got["size"], got["align"]]}
    if diffs:
        return CheckOutcome("error", f"{MODEL_BUG}: profile scalars differ from the compiler (size, _Alignof): "
                            + "; ".join(f"{k} {v['profile']} vs {v['compiler']}" for k, v in diffs.items()),
                            predicted, seen)
    return CheckOutcome("pass", f"compiler agrees on size and _Alignof of {len(seen)} scalars", predicted, seen)


class LayoutCheck(Check):
    """The layout engine's sizes/offsets of the spec's types vs a real compiler."""

    name = "layout"

    def types_of_interest(self, plan: ArchPlan) -> list[str]:
        names = [t for _, t in plan.spec.bitmap_types]
        names += [tp.container for tp in plan.spec.tagged_pointers]
        for tp in plan.spec.tagged_pointers:
            try:
                _, pointee = pointee_of(plan.layout, tp.field)
                names.append(pointee.name)
            except BitlayoutError:
                pass
        seen = []
        for n in names:
            if n and n not in seen:
                seen.append(n)
        return seen

    def predict(self, plan):
        if plan.layout is None:
            raise Skip(f"no layout: {plan.layout_error}")
        out = {}
        for name in self.types_of_interest(plan):
            t = plan.layout.types.get(name)
            if t is None:
                continue
            # The layout/1 contract form: anonymous members flattened, absolute offsets.
            members = t.flat_members() if hasattr(t, "flat_members") else t.members
            out[name] = {"size": t.size_bytes, "align": t.align_bytes,
                         "members": [{"name": m.name, "offset_bits": m.offset_bits, "size_bits": m.size_bits}
                                     for m in members]}
        return out

    def model_outcome(self, plan, predicted):
        sizes = ", ".join(f"{k} {v['size']}B/{v['align']}" for k, v in predicted.items())
        return CheckOutcome("pass", f"layout engine (nothing observed): {sizes}", predicted)

    def compiled_types(self, plan, predicted):
        return list(predicted)

    def judge_compiled(self, plan, predicted, facts):
        diffs = []
        for name, want in predicted.items():
            got = facts.get(name)
            if got is None:
                diffs.append(f"{name}: not in the compiler's debug info")
                continue
            if (got["size"], got["align"]) != (want["size"], want["align"]):
                diffs.append(f"{name}: size/align {want['size']}/{want['align']} vs compiler {got['size']}/{got['align']}")
            wm = [(m["name"], m["offset_bits"], m["size_bits"]) for m in want["members"]]
            gm = [(m["name"], m["offset_bits"], m["size_bits"]) for m in got.get("members", [])]
            if wm and gm and wm != gm:
                first = next(((a, b) for a, b in zip(wm, gm) if a != b), (wm[len(gm):] or None, gm[len(wm):] or None))
                diffs.append(f"{name}: member (name, offset_bits, size_bits) {first[0]} vs compiler {first[1]}")
        observed = {k: facts.get(k) for k in predicted}
        if diffs:
            return CheckOutcome("error", f"{MODEL_BUG}: layout engine vs compiler: " + "; ".join(diffs),
                                predicted, observed)
        return CheckOutcome("pass", f"compiler agrees on size, alignment and every member offset of "
                            f"{len(predicted)} types", predicted, observed)


class BitPositionCheck(Check):
    """Where each flag bit lands in memory: word, byte, bit of byte."""

    name = "bit-position"

    def predict(self, plan):
        from .bitmap import bit_position, memory_image

        out = {}
        for b in _bitmaps_ok(plan):
            positions = {}
            for f in b.flags:
                pos = bit_position(b.geometry, f.nr)
                if pos.in_bounds:
                    positions[f.name] = {"nr": f.nr, "word": pos.word, "byte": pos.byte_offset,
                                         "bit_in_byte": pos.bit_in_byte}
            in_bounds = sorted({f.nr for f in b.flags if bit_position(b.geometry, f.nr).in_bounds})
            out[b.type] = {"positions": positions,
                           "image_hex": {str(nr): memory_image(b.geometry, [nr]).hex() for nr in in_bounds}}
        return out

    def model_outcome(self, plan, predicted):
        if not predicted:
            return CheckOutcome("error", f"no bitmap type could be placed: {_errors_text(_bitmap_errors(plan))}", predicted)
        parts = []
        for tname, d in predicted.items():
            hi = max(d["positions"].values(), key=lambda p: p["nr"], default=None)
            if hi:
                parts.append(f"{tname}: bit {hi['nr']} at byte {hi['byte']} bit {hi['bit_in_byte']}")
        return CheckOutcome("pass", "predicted only: " + "; ".join(parts), predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            for nr in sorted({int(k) for k in predicted.get(b.type, {}).get("image_hex", {})}):
                reqs.append(probe("image", {"type": b.type, "nr": nr}, **_wn(b.geometry), bits=[nr]))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        mismatches = []
        for req, obs in pairs:
            tname, nr = req["meta"]["type"], req["meta"]["nr"]
            want = predicted[tname]["image_hex"][str(nr)]
            got = obs.values.get("bytes")
            if want != got or obs.values.get("guards"):
                mismatches.append({"type": tname, "nr": nr, "predicted": want, "observed": got,
                                   "guards": obs.values.get("guards")})
        if mismatches:
            m = mismatches[0]
            return CheckOutcome("error", f"{MODEL_BUG}: {len(mismatches)}/{len(pairs)} bit images differ, e.g. "
                                f"{m['type']} bit {m['nr']}: model {m['predicted']} vs {backend} {m['observed']}",
                                predicted, mismatches)
        return CheckOutcome("pass", f"{backend}: __set_bit put all {len(pairs)} flag bits at the predicted byte "
                            "and bit", predicted, {"images_compared": len(pairs)})

class BoundsCheck(Check):
    """Flags that exist on this arch but lie outside their type (out-of-bounds set_bit)."""

    name = "bounds"

    def predict(self, plan):
        from .bitmap import bit_position

        out = {}
        for b in _bitmaps_ok(plan):
            oob = [f for f in b.flags if not bit_position(b.geometry, f.nr).in_bounds]
            out[b.type] = {
                "nbits": b.nbits,
                "oob_in_use": [{"name": f.name, "nr": f.nr, "word": bit_position(b.geometry, f.nr).word}
                               for f in oob if f.in_use],
                "oob_gated": [{"name": f.name, "nr": f.nr, "gate": f.gate} for f in oob if not f.in_use],
            }
        if _bitmap_errors(plan):
            out["_errors"] = _bitmap_errors(plan)
        return out

    def model_outcome(self, plan, predicted):
        return self._verdict(plan, predicted, "model", None)

    def _verdict(self, plan, predicted, backend, confirmed):
        bad = {t: d for t, d in predicted.items() if not t.startswith("_") and d["oob_in_use"]}
        gated = {t: d for t, d in predicted.items() if not t.startswith("_") and d["oob_gated"]}
        how = f", confirmed by {backend}: {confirmed}" if confirmed else ""
        if bad:
            parts = []
            for t, d in bad.items():
                nrs = [x["nr"] for x in d["oob_in_use"]]
                worst = max(d["oob_in_use"], key=lambda x: x["nr"])
                parts.append(f"{t} holds {d['nbits']} bits but flags {_bit_ranges(nrs)} "
                             f"({len(nrs)} in use) lie outside: set_bit({worst['nr']}) writes word {worst['word']}, "
                             f"past the end")
            note = ""
            if gated:
                note = "; gated off here (fine): " + "; ".join(
                    f"{t}: {_bit_ranges([x['nr'] for x in d['oob_gated']])}" for t, d in gated.items())
            return CheckOutcome("fail", f"{HAZARD}: " + "; ".join(parts) + note + how, predicted)
        if "_errors" in predicted:
            return CheckOutcome("error", f"cannot place: {_errors_text(predicted['_errors'])}", predicted)
        note = ""
        if gated:
            note = " (out of range but not in use here: " + "; ".join(
                f"{t}: {_bit_ranges([x['nr'] for x in d['oob_gated']])}" for t, d in gated.items()) + ")"
        return CheckOutcome("pass", "every flag in use fits its type" + note + how, predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            d = predicted.get(b.type)
            if not d:
                continue
            wn = _wn(b.geometry)
            limit = (wn["n"] + GUARD_WORDS) * wn["w"]
            oob = sorted({x["nr"] for x in d["oob_in_use"] + d["oob_gated"] if x["nr"] < limit})
            if oob:
                # __set_bit on each out-of-bounds flag (writes land in the guard words after the
                # object) and test_bit on them against all-ones guards (reads come from there).
                reqs.append(probe("image", {"type": b.type, "kind": "oob", "bits": oob}, **wn, bits=oob))
                reqs.append(probe("oob_read", {"type": b.type, "kind": "oob_read", "bits": oob}, **wn, reads=oob))
            inside = [f.nr for f in b.flags if f.nr < d["nbits"]]
            if inside:
                top = max(inside)
                reqs.append(probe("image", {"type": b.type, "kind": "control", "bits": [top]}, **wn, bits=[top]))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        from .bitmap import bit_position

        geoms = {b.type: b.geometry for b in plan.bitmaps if not b.error}
        disagree = []
        seen = []
        for req, obs in pairs:
            meta = req["meta"]
            tname, kind, bits = meta["type"], meta["kind"], meta["bits"]
            g = geoms[tname]
            if kind == "oob_read":
                want = sorted(bits)
                got = sorted(obs.values.get("guard_reads", []))
                if want != got:
                    disagree.append(f"test_bit({bits}) on {tname}: model reads guards for {want}, {backend} {got}")
                else:
                    seen.append(f"test_bit({bits[-1]}) on {tname} read a guard word")
                continue
            want_set = set()
            for nr in bits:
                pos = bit_position(g, nr)
                if not pos.in_bounds:
                    want_set.add(("after", pos.word - g.nwords, pos.bit_in_word))
            got_set = {(x["side"], x["index"], bit) for x in obs.values.get("guards", []) for bit in x["bits"]}
            if want_set != got_set:
                disagree.append(f"__set_bit({bits}) on {tname}: model guard changes {sorted(want_set)}, "
                                f"{backend} {sorted(got_set)}")
            elif got_set:
                side, idx, bit = max(got_set, key=lambda t: (t[1], t[2]))
                seen.append(f"__set_bit({bits[-1]}) on {tname} flipped bit {bit} of guard word {idx} after it")
        if disagree:
            return CheckOutcome("error", f"{MODEL_BUG}: " + "; ".join(disagree), predicted,
                                [_plain(o.values) for _, o in pairs])
        out = self._verdict(plan, predicted, backend, "; ".join(seen))
        out.observed = [{**req["meta"], **_plain(obs.values)} for req, obs in pairs]
        return out

class TearCheck(Check):
    """Masks read together and full-value reads that span more than one atomic access."""

    name = "tear"

    def predict(self, plan):
        from .bitmap import bit_position, full_read_tears, read_tears

        out = {}
        for b in _bitmaps_ok(plan):
            masks = []
            for group in b.spec.read_together:
                flags = [b.flag(n) for n in group]
                missing = [n for n, f in zip(group, flags) if f is None or not f.in_use]
                nrs = [f.nr for f in flags if f is not None and f.in_use]
                in_b = [nr for nr in nrs if bit_position(b.geometry, nr).in_bounds]
                entry = {"mask": list(group), "bits": nrs}
                if missing:
                    entry["not_in_use_here"] = missing
                if len(in_b) != len(nrs):
                    entry["out_of_bounds"] = sorted(set(nrs) - set(in_b))
                entry["tears"] = bool(in_b) and len(in_b) > 1 and bool(read_tears(b.geometry, in_b))
                entry["words"] = sorted({bit_position(b.geometry, nr).word for nr in in_b})
                # Which single-copy-atomic loads the mask needs (a u64 on a 32-bit CPU is one
                # word but two loads).
                entry["atomic_units"] = sorted({bit_position(b.geometry, nr).byte_offset // b.geometry.atomic_bytes
                                                for nr in in_b})
                masks.append(entry)
            out[b.type] = {"full_read_tears": bool(full_read_tears(b.geometry)),
                           "atomic_bytes": b.geometry.atomic_bytes,
                           "size_bytes": b.geometry.word_bytes * b.geometry.nwords,
                           "masks": masks}
        return out

    def model_outcome(self, plan, predicted):
        return self._verdict(predicted, "")

    def _verdict(self, predicted, how):
        parts = []
        for t, d in predicted.items():
            torn = [m for m in d["masks"] if m["tears"]]
            if not (d["full_read_tears"] or torn):
                continue
            loads = d["size_bytes"] // d["atomic_bytes"]
            text = f"{t}: a full read is {loads} loads of {d['atomic_bytes']} bytes"
            if torn:
                text += "; masks spanning loads: " + ", ".join("|".join(m["mask"]) for m in torn)
            parts.append(text)
        if parts:
            return CheckOutcome("fail", f"{HAZARD}: can tear: " + "; ".join(parts) + how, predicted)
        return CheckOutcome("pass", "no mask or full read spans more than one atomic access" + how, predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            g = b.geometry
            size = g.word_bytes * g.nwords
            if g.nwords > 1:
                # word by word, as the C code for an array reads it
                reqs.append(probe("tear", {"type": b.type, "how": f"{g.nwords} loads of {g.word_bytes}"},
                                  w=g.word_bytes * 8, n=g.nwords, mode="words", readers=1,
                                  ms=STRESS_MS, max=STRESS_MAX))
            elif backend == "exec" or g.word_bytes <= g.atomic_bytes:
                # one C load of the whole value: the real compiler and CPU decide how many accesses
                reqs.append(probe("tear", {"type": b.type, "how": f"one {size}-byte C load"},
                                  w=g.word_bytes * 8, mode="whole", readers=1, ms=STRESS_MS, max=STRESS_MAX))
            else:
                # host: this CPU loads 8 bytes at once; emulate the arch's atomic_bytes-wide loads
                k = size // g.atomic_bytes
                reqs.append(probe("tear", {"type": b.type, "how": f"emulated: {k} loads of {g.atomic_bytes}"},
                                  w=g.atomic_bytes * 8, n=k, mode="words", readers=1,
                                  ms=STRESS_MS, max=STRESS_MAX))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        seen = []
        disagree = []
        for req, obs in pairs:
            t = req["meta"]["type"]
            torn = int(obs.values.get("torn", 0))
            reads = int(obs.values.get("reads", 0))
            seen.append({"type": t, "how": req["meta"]["how"], "torn": torn, "reads": reads,
                         "first_us": obs.values.get("first_us")})
            if torn and not predicted.get(t, {}).get("full_read_tears"):
                disagree.append(f"{t} ({req['meta']['how']}): {torn} torn reads")
        if disagree:
            return CheckOutcome("error", f"{MODEL_BUG}: {backend} saw tearing the model rules out: "
                                + "; ".join(disagree), predicted, seen)
        confirmed = [f"{s['type']} torn in {s['torn']}/{s['reads']} reads ({s['how']})" for s in seen if s["torn"]]
        if confirmed:
            how = f" (observed by {backend}: {'; '.join(confirmed)})"
        else:
            how = f" ({backend}: no tear in {sum(s['reads'] for s in seen)} reads)"
        out = self._verdict(predicted, how)
        out.observed = seen
        return out

class Arr64Check(Check):
    """bitmap_to_arr64() vs a naive (u64 *) cast of the bitmap (include/linux/bitmap.h)."""

    name = "arr64"

    def predict(self, plan):
        from .bitmap import naive_u64_view, to_arr64

        out = {}
        for b in _bitmaps_ok(plan):
            if b.geometry.word_bytes * b.geometry.nwords % 8:
                continue
            nrs = sorted({f.nr for f in b.flags if f.nr < b.nbits})
            arr = list(to_arr64(nrs, b.nbits))
            naive = list(naive_u64_view(b.geometry, nrs, b.nbits))
            out[b.type] = {"bits": nrs, "arr64": arr, "naive_u64": naive, "naive_is_wrong": arr != naive}
        return out

    def model_outcome(self, plan, predicted):
        wrong = [t for t, d in predicted.items() if d["naive_is_wrong"]]
        note = (f"; a naive (u64 *) cast of {', '.join(wrong)} reads the words swapped here: use bitmap_to_arr64()"
                if wrong else "")
        return CheckOutcome("pass", f"predicted only: arr64 of {len(predicted)} types{note}", predicted)

    def requests(self, plan, predicted, backend):
        return [probe("arr64", {"type": b.type}, **_wn(b.geometry), nbits=b.nbits, bits=predicted[b.type]["bits"])
                for b in _bitmaps_ok(plan) if b.type in predicted]

    def judge(self, plan, predicted, backend, pairs):
        bad = []
        observed = {}
        for req, obs in pairs:
            t = req["meta"]["type"]
            d = predicted[t]
            arr = [int(x, 16) for x in obs.values.get("to_arr64", [])]
            naive = [int(x, 16) for x in obs.values.get("naive_u64", [])]
            observed[t] = {"arr64": arr, "naive_u64": naive}
            if arr != list(d["arr64"]) or naive != list(d["naive_u64"]):
                bad.append(t)
        if bad:
            t = bad[0]
            return CheckOutcome("error", f"{MODEL_BUG}: {t}: model arr64 {predicted[t]['arr64']} naive "
                                f"{predicted[t]['naive_u64']}, {backend} {observed[t]}", predicted, observed)
        wrong = [t for t, d in predicted.items() if d["naive_is_wrong"]]
        note = f"; a naive (u64 *) cast of {', '.join(wrong)} is wrong here (observed)" if wrong else ""
        return CheckOutcome("pass", f"{backend}: bitmap_to_arr64 and the naive view match the model for "
                            f"{len(pairs)} types{note}", predicted, observed)

class BitopsCheck(Check):
    """Kernel bitops semantics: an ops sequence run by the backend vs the model's result."""

    name = "bitops"
    model_verdict = False

    def predict(self, plan):
        from .bitmap import memory_image

        out = {}
        for b in _bitmaps_ok(plan):
            nrs = sorted({f.nr for f in b.flags if f.nr < b.nbits})
            if not nrs:
                continue
            # set every flag, clear every other one, change the last: a known final set.
            final = set(nrs)
            ops = [("set", nr) for nr in nrs] + [("clear", nr) for nr in nrs[::2]] + [("change", nrs[-1])]
            for op, nr in ops[len(nrs):]:
                if op == "clear":
                    final.discard(nr)
                elif op == "change":
                    final ^= {nr}
            out[b.type] = {"ops": ops, "final_bits": sorted(final),
                           "image_hex": memory_image(b.geometry, sorted(final)).hex()}
        return out

    def model_outcome(self, plan, predicted):
        return CheckOutcome("skip", "model only: bitops semantics are checked by running them "
                            "(use --backend host or exec)", predicted)

    def requests(self, plan, predicted, backend):
        return [probe("ops", {"type": b.type}, **_wn(b.geometry), ops=[list(x) for x in predicted[b.type]["ops"]])
                for b in _bitmaps_ok(plan) if b.type in predicted]

    def judge(self, plan, predicted, backend, pairs):
        bad = [(req, obs) for req, obs in pairs
               if obs.values.get("bytes") != predicted[req["meta"]["type"]]["image_hex"] or obs.values.get("guards")]
        observed = {req["meta"]["type"]: obs.values.get("bytes") for req, obs in pairs}
        if bad:
            req, obs = bad[0]
            t = req["meta"]["type"]
            return CheckOutcome("error", f"{MODEL_BUG}: {t}: after {len(predicted[t]['ops'])} ops the model has "
                                f"{predicted[t]['image_hex']}, {backend} {obs.values.get('bytes')}", predicted, observed)
        return CheckOutcome("pass", f"{backend} ran set/clear/change on {len(pairs)} types; memory matches "
                            "the model", predicted, observed)

class LostUpdateCheck(Check):
    """Atomic set_bit from two threads on one word never loses an update; plain RMW may."""

    name = "lost-update"
    model_verdict = False

    def predict(self, plan):
        out = {}
        for b in _bitmaps_ok(plan):
            # Two flags in the same word: __set_bit (plain RMW) races; set_bit must not.
            out[b.type] = {"atomic_lost": 0, "word_bytes": b.geometry.word_bytes,
                           "nonatomic_may_lose": True}
        return out

    def model_outcome(self, plan, predicted):
        return CheckOutcome("skip", "model only: lost updates are observed by a two-thread stress run "
                            "(use --backend host or exec)", predicted)

    def requests(self, plan, predicted, backend):
        reqs = []
        for b in _bitmaps_ok(plan):
            if b.type not in predicted:
                continue
            for mode in ("atomic", "nonatomic"):
                reqs.append(probe("lost_update", {"type": b.type, "mode": mode}, w=b.geometry.word_bytes * 8,
                                  threads=2, mode=mode, ms=STRESS_MS, max=STRESS_MAX))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        seen = [{**req["meta"], "ops": obs.values.get("ops"), "lost": obs.values.get("lost")} for req, obs in pairs]
        bad = [s for s in seen if s["mode"] == "atomic" and int(s["lost"] or 0)]
        if bad:
            return CheckOutcome("error", f"{MODEL_BUG}: atomic set_bit lost updates on {backend}: {bad[0]}",
                                predicted, seen)
        lost = [s for s in seen if s["mode"] == "nonatomic" and int(s["lost"] or 0)]
        note = (f"; plain __set_bit lost {sum(int(s['lost']) for s in lost)} updates on "
                f"{', '.join(s['type'] for s in lost)} (non-atomic RMW races, as expected)" if lost else "")
        n_atomic = sum(int(s["ops"] or 0) for s in seen if s["mode"] == "atomic")
        return CheckOutcome("pass", f"atomic set_bit lost none of {n_atomic} updates on "
                            f"{len(predicted)} types{note}", predicted, seen)

class TagBitsCheck(Check):
    """Low pointer bits free for tags, given the pointee alignment and the allocator."""

    name = "tag-bits"

    def predict(self, plan):
        if plan.layout is None:
            raise Skip(f"no layout: {plan.layout_error}")
        if not plan.spec.tagged_pointers:
            raise Skip("the spec has no [[tagged_pointer]]")
        out = {}
        for tp in plan.spec.tagged_pointers:
            try:
                d = tag_prediction(plan, tp.field, tp.allocator)
            except BitlayoutError as exc:
                d = {"error": str(exc)}
            d["wanted"] = tp.tag_bits
            out[f"{tp.field}@{tp.allocator}"] = d
        return out

    def model_outcome(self, plan, predicted):
        errors = {k: d["error"] for k, d in predicted.items() if "error" in d}
        if errors:
            return CheckOutcome("error", f"cannot compute: {_errors_text(errors)}", predicted)
        short = [f"{k}: {d['free_bits']} free < {d['wanted']} wanted (alignof {d['pointee']} = "
                 f"{d['pointee_align_bytes']})" for k, d in predicted.items() if d["free_bits"] < d["wanted"]]
        if short:
            return CheckOutcome("fail", f"{HAZARD}: " + "; ".join(short), predicted)
        return CheckOutcome("pass", "; ".join(f"{k}: {d['free_bits']} free >= {d['wanted']}"
                                              for k, d in predicted.items()), predicted)

    def requests(self, plan, predicted, backend):
        a = plan.profile.allocators
        reqs = []
        for key, d in predicted.items():
            if "error" in d or d["allocator"] == "static":
                continue
            if d["allocator"] == "malloc" and backend == "host" and not plan.profile.toolchain.host_native:
                continue  # the host's malloc is not this arch's
            reqs.append(probe("alloc", {"key": key}, size=d["pointee_size_bytes"], align=d["pointee_align_bytes"],
                              slab_minalign=a.arch_slab_minalign, kmalloc_minalign=a.arch_kmalloc_minalign,
                              count=256))
        return reqs

    def judge(self, plan, predicted, backend, pairs):
        bad = []
        seen = {}
        for req, obs in pairs:
            key = req["meta"]["key"]
            d = predicted[key]
            got = int(obs.values.get(d["allocator"], -1))
            seen[key] = {"min_free_bits": got, **{k: obs.values.get(k) for k in ("slab_align", "kmalloc_align")}}
            # Observed objects may happen to be better aligned than guaranteed; never worse.
            if got < d["free_bits"]:
                bad.append(f"{key}: model promises {d['free_bits']} free bits, {backend} saw objects with only {got}")
        if bad:
            return CheckOutcome("error", f"{MODEL_BUG}: " + "; ".join(bad), predicted, seen)
        out = self.model_outcome(plan, predicted)
        out.observed = seen
        out.detail += f" ({backend}: {len(pairs)} allocator emulations agree: " + ", ".join(
            f"{k} min {v['min_free_bits']} free" for k, v in seen.items()) + ")"
        return out


class ExpectCheck(Check):
    """The spec's [[expect]] expressions, evaluated per arch."""

    name = "expect"

    def predict(self, plan):
        if plan.layout is None:
            raise Skip(f"no layout: {plan.layout_error}")
        if not plan.spec.expects:
            raise Skip("the spec has no [[expect]]")
        ctx = ModelContext(plan)
        out = []
        for e in plan.spec.expects:
            entry: dict[str, Any] = {"that": e.that.text, "key": e.key}
            if e.on and plan.arch not in {p.name for p in select_profiles(e.on)}:
                entry["skipped"] = f"only on {e.on}"
            else:
                try:
                    ex = e.that.explain(ctx)
                    entry["result"] = bool(ex["result"])
                    entry["terms"] = ex["terms"]
                except UndefinedName as exc:
                    entry["skipped"] = str(exc)
                except (ExprEvalError, BitlayoutError) as exc:
                    entry["error"] = str(exc)
            out.append(entry)
        return out

    def model_outcome(self, plan, predicted):
        errors = [e for e in predicted if "error" in e]
        false = [e for e in predicted if e.get("result") is False]
        ran = [e for e in predicted if "result" in e]
        if errors:
            return CheckOutcome("error", f"cannot evaluate {errors[0]['that']!r}: {errors[0]['error']}", predicted)
        if false:
            return CheckOutcome("fail", f"{HAZARD}: false here: " + "; ".join(
                f"{e['that']} ({', '.join(f'{k}={v}' for k, v in e['terms'].items())})" for e in false), predicted)
        if not ran:
            return CheckOutcome("skip", "no expectation applies to this arch: " +
                                "; ".join(e.get("skipped", "") for e in predicted), predicted)
        return CheckOutcome("pass", f"{len(ran)}/{len(predicted)} expectations hold"
                            + (f" ({len(predicted) - len(ran)} not for this arch)" if len(ran) < len(predicted) else ""),
                            predicted)

    def compiled_types(self, plan, predicted):
        names = []
        for e in plan.spec.expects:
            for fname, pos, arg in e.that.type_args:
                if fname in ("sizeof", "alignof", "offsetof") and pos == 0 and arg not in names:
                    names.append(arg)
        if not names:
            raise Skip("no sizeof/alignof/offsetof in the expectations: nothing for a compiler to confirm")
        return names

    def judge_compiled(self, plan, predicted, facts):
        ctx = _CompiledContext(plan, facts)
        disagree = []
        confirmed = 0
        for e, pred in zip(plan.spec.expects, predicted):
            if "result" not in pred:
                continue
            try:
                ex = e.that.explain(ctx)
            except (ExprEvalError, BitlayoutError) as exc:
                disagree.append(f"{e.that.text!r}: {exc}")
                continue
            diff = {k: (pred["terms"].get(k), v) for k, v in ex["terms"].items() if pred["terms"].get(k) != v}
            if diff:
                disagree.append(f"{e.that.text!r}: (model, compiler) {diff}")
            else:
                confirmed += ctx.used
            ctx.used = 0
        if disagree:
            return CheckOutcome("error", f"{MODEL_BUG}: " + "; ".join(disagree), predicted)
        out = self.model_outcome(plan, predicted)
        out.detail += f" (compiler confirms the {confirmed} sizeof/alignof/offsetof terms)"
        out.observed = {"terms_confirmed": confirmed}
        return out


class _CompiledContext(ModelContext):
    """sizeof/alignof/offsetof from the compiler's DWARF; everything else from the model."""

    def __init__(self, plan: ArchPlan, facts: dict[str, Any]):
        super().__init__(plan)
        self.facts = facts
        self.used = 0

    def _fact(self, ctype: str) -> dict[str, Any]:
        got = self.facts.get(ctype)
        if got is None:
            raise ExprEvalError(f"{ctype!r} is not in the compiler's debug info")
        self.used += 1
        return got

    def sizeof(self, ctype: str) -> int:
        return self._fact(ctype)["size"]

    def alignof(self, ctype: str) -> int:
        return self._fact(ctype)["align"]

    def offsetof(self, ctype: str, member: str) -> int:
        if "." in member:
            return super().offsetof(ctype, member)
        for m in self._fact(ctype).get("members", []):
            if m["name"] == member:
                return m["offset_bits"] // 8
        raise ExprEvalError(f"{ctype!r} has no member {member!r} in the compiler's debug info")



ALL_CHECKS: dict[str, Check] = {c.name: c for c in (
    ProfileCheck(), LayoutCheck(), BitPositionCheck(), BitopsCheck(), Arr64Check(), BoundsCheck(),
    TearCheck(), LostUpdateCheck(), TagBitsCheck(), ExpectCheck())}
assert tuple(ALL_CHECKS) == CHECKS


def model_row(check: Check, plan: ArchPlan) -> tuple[MatrixRow, Any]:
    """The model backend's row for one check on one arch, and the prediction (for other backends)."""
    if plan.layout is None and check.name != "profile":
        why = f"no layout for this arch: {plan.layout_error}"
        return MatrixRow(plan.arch, check.name, "model", "error", why), Skip(why)
    try:
        predicted = check.predict(plan)
    except Skip as exc:
        return MatrixRow(plan.arch, check.name, "model", "skip", str(exc)), Skip(str(exc))
    except (BitlayoutError, ExprEvalError) as exc:
        return MatrixRow(plan.arch, check.name, "model", "error", f"model: {exc}"), exc
    except Exception as exc:  # noqa: BLE001 - a bug in a check is an error row, never a lost arch
        return MatrixRow(plan.arch, check.name, "model", "error",
                         f"internal error in the {check.name} check: {type(exc).__name__}: {exc}"), exc
    out = check.model_outcome(plan, predicted)
    return MatrixRow(plan.arch, check.name, "model", out.status, out.detail, _plain(out.predicted),
                     _plain(out.observed), out.evidence), predicted


def known_issues_for(profile: Profile, check: str) -> list[str]:
    """The profile's ``[toolchain] known_issues`` that apply to ``check``.

    An entry ``"<check>: <reason>"`` (``<check>`` one of ``CHECKS``) applies to that check
    only; any other entry applies to every check on the arch.  Returns the reasons.
    """
    out = []
    for entry in profile.toolchain.known_issues:
        head, sep, rest = entry.partition(":")
        if sep and head.strip() in CHECKS:
            if head.strip() == check:
                out.append(rest.strip())
        else:
            out.append(entry.strip())
    return out


def label_known_issue(profile: Profile, check: str, backend: str, out: CheckOutcome) -> CheckOutcome:
    """Relabel a model-vs-backend disagreement that a known toolchain/emulator defect explains.

    Only an ``error`` whose detail is a ``MODEL_BUG`` on a backend that uses the profile's
    toolchain is relabelled; it stays an error (the observation is still wrong) and keeps
    the original comparison after the reason.
    """
    if out.status != "error" or not out.detail.startswith(MODEL_BUG) or backend not in TOOLCHAIN_BACKENDS:
        return out
    reasons = known_issues_for(profile, check)
    if not reasons:
        return out
    rest = out.detail[len(MODEL_BUG):].lstrip(": ")
    return CheckOutcome(out.status, f"{DEFECT}: {'; '.join(reasons)} (observed: {rest})",
                        out.predicted, out.observed, {**out.evidence, "known_issues": reasons})


def outcome_row(check: Check, plan: ArchPlan, backend: str, out: CheckOutcome) -> MatrixRow:
    out = label_known_issue(plan.profile, check.name, backend, out)
    return MatrixRow(plan.arch, check.name, backend, out.status, out.detail, _plain(out.predicted),
                     _plain(out.observed), out.evidence)
