"""The user's spec (TOML) -> a validated, frozen ``Spec``; and the embedded default.

A spec says what to verify: which headers, on which arches, which bitmap types
and flag numbers, which tagged pointers, which expectations.  The format is
documented key by key in ``docs/spec.md``; the embedded default is
``docs/examples/vma_flags.toml`` (shipped as ``bitlayout/data/examples``).

Validation happens in two steps, both raising ``SpecError`` naming the file
and the key (exit status 2):

1. ``load_spec`` checks everything that needs no C: TOML syntax, unknown or
   mistyped keys, arch selectors, allocators, expression syntax, missing
   header files.
2. ``check_names`` runs once the layout engine has read the headers for every
   selected arch: a type, flag or field that no selected arch defines is a
   typo, not an arch difference.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import SpecError, UsageError
from .expressions import Expression, parse_expression
from .tagging import ALLOCATORS
from .profiles import CLASS_SELECTORS, Profile, known_selector, select_profiles, selector_words
from .textfile import read_utf8

DEFAULT_SPEC_NAME = "vma_flags.toml"


@dataclass(frozen=True)
class BitSource:
    """Where a bitmap's flag numbers come from.

    kind "enum": the enumerators of one C enum are bit numbers;
    kind "macros": integer macros (and enumerators) named PREFIX...SUFFIX;
    kind "masks": the integer macros of the headers that match ``masks`` and none of ``exclude``
    (shell-style patterns) and whose value has exactly one bit set: that bit is the flag's number
    (6.12's ``#define VM_WRITE 0x00000002`` is flag 1); 0 (a flag the arch does not have, such as
    ``VM_UFFD_MINOR`` = ``VM_NONE``) and values of several bits (combinations) are no flag;
    kind "table": an explicit name -> bit number table in the spec.
    """

    kind: str
    enum: str = ""
    prefix: str = ""
    suffix: str = ""
    table: Mapping[str, int] = field(default_factory=dict)
    masks: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "enum":
            return self.enum
        if self.kind == "macros":
            return f"macros {self.prefix}*{self.suffix}"
        if self.kind == "masks":
            return f"single-bit masks {', '.join(self.masks)}"
        return f"table of {len(self.table)} flags"

    def selects(self, name: str) -> bool:
        """``name`` is one of this source's mask names (kind "masks")."""
        return any(fnmatch.fnmatchcase(name, p) for p in self.masks) and \
            not any(fnmatch.fnmatchcase(name, p) for p in self.exclude)


@dataclass(frozen=True)
class Gate:
    """Per-flag validity: the flag (or bit range) is only in use on ``on`` arches."""

    on: str  # an arch selector
    flag: str = ""  # a flag name, or
    first_bit: int = -1  # an inclusive bit range
    last_bit: int = -1
    key: str = ""

    def covers(self, name: str, nr: int) -> bool:
        if self.flag:
            return self.flag == name
        return self.first_bit <= nr <= self.last_bit

    def describe(self) -> str:
        what = self.flag or f"bits {self.first_bit}..{self.last_bit}"
        return f"{what} only on {self.on}"


@dataclass(frozen=True)
class BitmapSpec:
    types: tuple[str, ...]
    bits: BitSource
    read_together: tuple[tuple[str, ...], ...]
    only_on: tuple[Gate, ...]
    key: str

    def gates_for(self, name: str, nr: int) -> list[Gate]:
        return [g for g in self.only_on if g.covers(name, nr)]


@dataclass(frozen=True)
class TaggedPointerSpec:
    field: str  # "struct vm_area_struct.anon_vma"
    container: str  # "struct vm_area_struct"
    member: str  # "anon_vma" (dotted path for nested members)
    tag_bits: int
    allocator: str
    key: str


@dataclass(frozen=True)
class ExpectSpec:
    that: Expression
    on: str | None
    key: str


@dataclass(frozen=True)
class Spec:
    path: str
    headers: tuple[str, ...]  # absolute paths; with ``kernel``, also kernel include names
    include_dirs: tuple[str, ...]
    defines: Mapping[str, str]
    arches: tuple[str, ...] | None  # selector parts, None = all
    bitmaps: tuple[BitmapSpec, ...]
    tagged_pointers: tuple[TaggedPointerSpec, ...]
    expects: tuple[ExpectSpec, ...]
    is_default: bool = False
    # A kernel tree (absolute path): headers are taken from it per arch with Kbuild's flags, and a
    # header that is not a file next to the spec is a kernel include name ("linux/mm_types.h").
    kernel: str | None = None

    def select_arches(self, override: str | Iterable[str] | None = None,
                      profiles: Iterable[Profile] | None = None) -> list[Profile]:
        """Profiles to run: the command line's selector if given, else the spec's."""
        chosen = override if override else self.arches
        return select_profiles(chosen, profiles)

    @property
    def bitmap_types(self) -> list[tuple[BitmapSpec, str]]:
        return [(b, t) for b in self.bitmaps for t in b.types]


# ---------------------------------------------------------------------------


_TOP_KEYS = ("headers", "include_dirs", "defines", "arches", "kernel", "bitmap", "tagged_pointer", "expect")
_FIELD_RE = re.compile(r"^(struct|union)\s+([A-Za-z_]\w*)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$")
_RANGE_RE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
_IDENT_RE = re.compile(r"^[A-Za-z_]\w*$")
_GLOB_RE = re.compile(r"^[A-Za-z_*?\[][\w*?\[\]!-]*$")


class _Table:
    """Typed access to one TOML table; every error names file and key."""

    def __init__(self, path: str, data: Mapping[str, Any], prefix: str):
        self.path = path
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, why: str):
        raise SpecError(why, path=self.path, key=self.key(name))

    def reject_unknown(self, known: Iterable[str]) -> None:
        for name in self.data:
            if name not in known:
                self.fail(name, f"unknown key {name!r} (known: {', '.join(known)})")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                self.fail(name, "missing key")
            return default
        value = self.data[name]
        if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(name, f"expected {want}, got {type(value).__name__} {value!r}")
        return value

    def strings(self, name: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(name, (list, str), default)
        if value is default:
            return value
        if isinstance(value, str):
            value = [value]
        for item in value:
            if not isinstance(item, str) or not item.strip():
                self.fail(name, f"expected a list of non-empty strings, got {item!r}")
        return tuple(value)


def _check_selector(path: str, key: str, selector: str | Iterable[str]) -> tuple[str, ...]:
    parts = [selector] if isinstance(selector, str) else list(selector)
    bad = [x for x in parts if not isinstance(x, str) or not x.strip()]
    if bad:  # a TOML list may hold anything
        raise SpecError(f"expected an arch selector (a string or a list of strings), got {bad[0]!r}",
                        path=path, key=key)
    words = selector_words(parts)
    if not words:
        raise SpecError("empty arch selector", path=path, key=key)
    for word in words:
        if not known_selector(word):
            raise SpecError(f"unknown arch selector {word!r} (known: {', '.join(CLASS_SELECTORS)}, "
                            "profile names and kernel arch names)", path=path, key=key)
    return tuple(parts)


def _parse_bits(t: _Table) -> BitSource:
    raw = t.get("bits", (str, dict))
    if isinstance(raw, str):
        text = " ".join(raw.split())
        if text.startswith("enum ") and _IDENT_RE.match(text[5:]):
            return BitSource("enum", enum=text)
        t.fail("bits", f"expected 'enum NAME' or a table, got {raw!r}")
    sub = _Table(t.path, raw, t.key("bits"))
    sub.reject_unknown(("enum", "prefix", "suffix", "table", "masks", "exclude"))
    kinds = [k for k in ("enum", "prefix", "table", "masks") if k in raw]
    if len(kinds) != 1:
        t.fail("bits", "give exactly one of enum = '...', prefix = '...' (with optional suffix), masks = '...' "
                       "(with optional exclude), table = {...}")
    if "exclude" in raw and "masks" not in raw:
        sub.fail("exclude", "only with masks = '...'")
    if "enum" in raw:
        name = sub.get("enum", str).strip()
        if not name.startswith("enum "):
            name = f"enum {name}"
        if not _IDENT_RE.match(name[5:].strip()):
            sub.fail("enum", f"not an enum name: {raw['enum']!r}")
        return BitSource("enum", enum=" ".join(name.split()))
    if "masks" in raw:
        masks = sub.strings("masks")
        exclude = sub.strings("exclude") if "exclude" in raw else ()
        for key, patterns in (("masks", masks), ("exclude", exclude)):
            for pattern in patterns:
                if not isinstance(pattern, str) or not _GLOB_RE.match(pattern):
                    sub.fail(key, f"expected a name pattern such as 'VM_*', got {pattern!r}")
        if not masks:
            sub.fail("masks", "expected at least one pattern")
        return BitSource("masks", masks=tuple(masks), exclude=tuple(exclude))
    if "prefix" in raw:
        prefix = sub.get("prefix", str)
        suffix = sub.get("suffix", str, "")
        if not prefix and not suffix:
            sub.fail("prefix", "empty prefix and suffix would match every macro")
        return BitSource("macros", prefix=prefix, suffix=suffix)
    table = sub.get("table", dict)
    out: dict[str, int] = {}
    for name, nr in table.items():
        if not _IDENT_RE.match(name):
            sub.fail(f"table.{name}", f"not a C identifier: {name!r}")
        if isinstance(nr, bool) or not isinstance(nr, int) or nr < 0:
            sub.fail(f"table.{name}", f"bit number must be a non-negative integer, got {nr!r}")
        out[name] = nr
    if not out:
        sub.fail("table", "empty table")
    return BitSource("table", table=out)


def _parse_bitmap(path: str, data: Any, index: int) -> BitmapSpec:
    key = f"bitmap[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"expected a table, got {data!r}", path=path, key=key)
    t = _Table(path, data, key)
    t.reject_unknown(("type", "types", "bits", "read_together", "only_on"))
    if ("type" in data) == ("types" in data):
        t.fail("type", "give exactly one of type = '...' or types = [...]")
    types = t.strings("type") if "type" in data else t.strings("types")
    if not types:  # `types = []`: nothing to check would pass (or error) silently
        t.fail("types", "expected at least one bitmap type, got []")
    types = tuple(" ".join(x.split()) for x in types)
    bits = _parse_bits(t)
    groups = []
    raw_groups = t.get("read_together", list, [])
    for gi, group in enumerate(raw_groups):
        if not isinstance(group, list) or not group or not all(isinstance(x, str) for x in group):
            t.fail(f"read_together[{gi}]", f"expected a non-empty list of flag names, got {group!r}")
        groups.append(tuple(group))
    gates = []
    only_on = t.get("only_on", dict, {})
    for name, selector in only_on.items():
        gkey = t.key(f"only_on.{name}")
        if not isinstance(selector, (str, list)):
            raise SpecError(f"expected an arch selector, got {selector!r}", path=path, key=gkey)
        sel = ",".join(_check_selector(path, gkey, selector))
        m = _RANGE_RE.match(name)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise SpecError(f"empty bit range {name!r}", path=path, key=gkey)
            gates.append(Gate(sel, first_bit=lo, last_bit=hi, key=gkey))
        elif _IDENT_RE.match(name):
            gates.append(Gate(sel, flag=name, key=gkey))
        else:
            raise SpecError(f"expected a flag name or a range 'LO..HI', got {name!r}", path=path, key=gkey)
    if bits.kind == "table":
        known = set(bits.table)
        for gi, group in enumerate(groups):
            for flag in group:
                if flag not in known:
                    t.fail(f"read_together[{gi}]", f"unknown flag {flag!r} (not in bits.table)")
        for g in gates:
            if g.flag and g.flag not in known:
                raise SpecError(f"unknown flag {g.flag!r} (not in bits.table)", path=path, key=g.key)
    return BitmapSpec(types, bits, tuple(groups), tuple(gates), key)


def _parse_tagged(path: str, data: Any, index: int) -> TaggedPointerSpec:
    key = f"tagged_pointer[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"expected a table, got {data!r}", path=path, key=key)
    t = _Table(path, data, key)
    t.reject_unknown(("field", "tag_bits", "allocator"))
    fld = " ".join(t.get("field", str).split())
    m = _FIELD_RE.match(fld)
    if not m:
        t.fail("field", f"expected 'struct NAME.member', got {fld!r}")
    tag_bits = t.get("tag_bits", int)
    if not 0 < tag_bits <= 12:
        t.fail("tag_bits", f"must be 1..12, got {tag_bits}")
    allocator = t.get("allocator", str)
    if allocator not in ALLOCATORS:
        t.fail("allocator", f"unknown allocator {allocator!r} (known: {', '.join(ALLOCATORS)})")
    return TaggedPointerSpec(fld, f"{m.group(1)} {m.group(2)}", m.group(3), tag_bits, allocator, key)


def _parse_expect(path: str, data: Any, index: int) -> ExpectSpec:
    key = f"expect[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"expected a table, got {data!r}", path=path, key=key)
    t = _Table(path, data, key)
    t.reject_unknown(("that", "on"))
    expr = parse_expression(t.get("that", str), path=path, key=t.key("that"))
    on = None
    if "on" in data:
        on = ",".join(_check_selector(path, t.key("on"), t.strings("on")))
    return ExpectSpec(expr, on, key)


def _existing(spath: str, key: str, base: Path, name: str, what: str, test) -> str:
    """``base / name`` resolved, if ``test`` holds for it; a name the OS refuses (a NUL byte,
    too long) is a spec error like a missing file."""
    try:
        found = (base / name).resolve()
        if test(found):
            return str(found)
        why = "not found"
    except (OSError, ValueError) as exc:
        why = f"not a usable path ({getattr(exc, 'strerror', None) or exc})"
    raise SpecError(f"{what} {why}: {name[:80]!r} (looked in {base})", path=spath, key=key)


def _kernel_tree(path: str, base: Path, t: _Table, override: str | Path | None) -> Any:
    """The spec's ``kernel`` (relative to the spec file) or the command line's ``--kernel``."""
    from .errors import KernelTreeError
    from .kernel.tree import find_tree

    if override is not None:
        return find_tree(override)
    if "kernel" not in t.data:
        return None
    raw = t.get("kernel", str)
    try:
        return find_tree((base / raw).expanduser())
    except KernelTreeError as exc:
        raise SpecError(str(exc), path=path, key="kernel") from None


def parse_spec(path: str | Path, data: Mapping[str, Any], *, is_default: bool = False,
               kernel: str | Path | None = None) -> Spec:
    """Validate a spec's TOML data (step 1: everything that needs no C).  ``kernel``: a kernel
    tree from the command line (``--kernel DIR``), replacing the spec's own ``kernel`` key."""
    path = Path(path)
    spath = str(path)
    base = path.parent
    t = _Table(spath, data, "")
    t.reject_unknown(_TOP_KEYS)
    tree = _kernel_tree(spath, base, t, kernel)
    headers = []
    for i, h in enumerate(t.strings("headers")):
        try:
            beside_spec = tree is None or (base / h).is_file()
        except (OSError, ValueError):  # a name the OS refuses: _existing says so
            beside_spec = True
        if beside_spec:
            headers.append(_existing(spath, f"headers[{i}]", base, h, "header", Path.is_file))
            continue
        from .kernel.inputs import header_problem

        why = header_problem(tree, h)
        if why:
            raise SpecError(f"header {h!r}: not next to the spec, and {why}", path=spath, key=f"headers[{i}]")
        headers.append(h)
    if not headers:
        t.fail("headers", "at least one header is needed")
    include_dirs = [_existing(spath, f"include_dirs[{i}]", base, d, "include dir", Path.is_dir)
                    for i, d in enumerate(t.strings("include_dirs", ()))]
    defines_raw = t.get("defines", dict, {})
    defines: dict[str, str] = {}
    for name, value in defines_raw.items():
        if not _IDENT_RE.match(name):
            t.fail(f"defines.{name}", f"not a macro name: {name!r}")
        if isinstance(value, bool):
            value = "1" if value else "0"
        if not isinstance(value, (str, int)):
            t.fail(f"defines.{name}", f"expected a string or integer, got {value!r}")
        if isinstance(value, str) and any(c in value for c in "\0\n\r"):  # one -D on a command line
            t.fail(f"defines.{name}", f"a macro value is one line, got {value!r}")
        defines[name] = str(value)
    arches = None
    if "arches" in data:
        arches = _check_selector(spath, "arches", t.strings("arches"))
        if arches == ("all",):
            arches = None
    bitmaps = tuple(_parse_bitmap(spath, b, i) for i, b in enumerate(t.get("bitmap", list, [])))
    tagged = tuple(_parse_tagged(spath, x, i) for i, x in enumerate(t.get("tagged_pointer", list, [])))
    expects = tuple(_parse_expect(spath, x, i) for i, x in enumerate(t.get("expect", list, [])))
    if not (bitmaps or tagged or expects):
        raise SpecError("nothing to verify: give at least one [[bitmap]], [[tagged_pointer]] or [[expect]]",
                        path=spath)
    return Spec(spath, tuple(headers), tuple(include_dirs), defines, arches, bitmaps, tagged, expects,
                is_default=is_default, kernel=str(tree.given.resolve()) if tree is not None else None)


def load_spec(path: str | Path | None = None, *, kernel: str | Path | None = None) -> Spec:
    """Load and validate a spec file; ``None`` loads the embedded default.  ``kernel``: take the
    headers from this kernel tree (``--kernel DIR``), whatever the spec says."""
    if path is None:
        if kernel is not None:
            raise UsageError("--kernel needs a spec naming kernel headers (the embedded default is a "
                             "standalone header); see docs/spec.md 'kernel'")
        return load_default_spec()
    path = Path(path)
    text = read_utf8(path, SpecError, "spec file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"malformed TOML: {exc}", path=str(path)) from None
    return parse_spec(path, data, kernel=kernel)


def default_spec_path() -> Path:
    return Path(str(resources.files("bitlayout") / "data" / "examples" / DEFAULT_SPEC_NAME))


def load_default_spec() -> Spec:
    spec = load_spec(default_spec_path())
    return Spec(**{**spec.__dict__, "is_default": True})


# ---------------------------------------------------------------------------
# Step 2: names against what the layout engine found (per arch).


def check_names(spec: Spec, known_types: set[str], known_names: set[str]) -> None:
    """Raise SpecError for a type/flag/field that no selected arch defines.

    ``known_types`` and ``known_names`` are unions over every selected arch:
    a name defined on some arches only is an arch difference (handled per
    row), one defined nowhere is a typo.
    """
    for b in spec.bitmaps:
        for i, ty in enumerate(b.types):
            if ty not in known_types:
                raise SpecError(f"unknown type {ty!r} (not declared in {', '.join(Path(h).name for h in spec.headers)})",
                                path=spec.path, key=f"{b.key}.type{'s' if len(b.types) > 1 else ''}")
        if b.bits.kind == "enum" and b.bits.enum not in known_types:
            raise SpecError(f"unknown enum {b.bits.enum!r}", path=spec.path, key=f"{b.key}.bits")
        if b.bits.kind == "macros" and not any(
                n.startswith(b.bits.prefix) and n.endswith(b.bits.suffix) for n in known_names):
            # Zero flags would make every bitmap check pass vacuously: a typo, not a finding.
            raise SpecError(f"no macro or enumerator named {b.bits.prefix}...{b.bits.suffix} on any selected arch",
                            path=spec.path, key=f"{b.key}.bits")
        if b.bits.kind == "masks" and not any(b.bits.selects(n) for n in known_names):
            raise SpecError(f"no macro matches {', '.join(b.bits.masks)} "
                            "(less the excluded ones) on any selected arch", path=spec.path, key=f"{b.key}.bits")
        if b.bits.kind != "table":
            for gi, group in enumerate(b.read_together):
                for flag in group:
                    if flag not in known_names:
                        raise SpecError(f"unknown flag {flag!r}", path=spec.path, key=f"{b.key}.read_together[{gi}]")
            for g in b.only_on:
                if g.flag and g.flag not in known_names:
                    raise SpecError(f"unknown flag {g.flag!r}", path=spec.path, key=g.key)
    for tp in spec.tagged_pointers:
        if tp.container not in known_types:
            raise SpecError(f"unknown type {tp.container!r}", path=spec.path, key=f"{tp.key}.field")
    for e in spec.expects:
        for name in e.that.names:
            if name not in known_names:
                raise SpecError(f"unknown name {name!r} in {e.that.text!r}", path=spec.path, key=f"{e.key}.that")
        for fname, pos, arg in e.that.type_args:
            bad = None
            if fname == "tag_bits":
                m = _FIELD_RE.match(arg)
                if pos == 0 and (not m or f"{m.group(1)} {m.group(2)}" not in known_types):
                    bad = f"unknown pointer field {arg!r}"
            elif fname == "offsetof" and pos == 1:
                pass  # the member path; checked per arch by the layout engine
            elif not _is_builtin_type(arg) and arg not in known_types:
                bad = f"unknown type {arg!r}"
            if bad:
                raise SpecError(f"{bad} in {e.that.text!r}", path=spec.path, key=f"{e.key}.that")


_BUILTIN_WORDS = {"void", "char", "short", "int", "long", "signed", "unsigned", "float", "double",
                  "_Bool", "__int128", "*"}


def _is_builtin_type(text: str) -> bool:
    words = text.replace("*", " * ").split()
    return bool(words) and all(w in _BUILTIN_WORDS for w in words)
