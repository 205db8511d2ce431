"""``bitlayout layout FILE... [--arch SEL] [-I DIR] [-D NAME[=VAL]] [--type NAME] --format json|table|compare``.

- ``json``: exactly the ``bitlayout.layout/1`` contract (docs/internals.md): every struct, union, enum and
  typedef the files define, for every arch asked for.
- ``table``: pahole-like, per arch: offset, size, holes, tail padding, cacheline boundaries,
  bitfield positions (the bit range inside the byte-addressed storage, and MSB/LSB-first order).
- ``compare``: one type (``--type``), one column per arch, differing rows marked ``*``; rows that GCC
  and clang lay out differently on an arch that describes both (``[alternate]``) marked ``!``, with
  each compiler's answer and the arches below (a compiler divergence, ``docs/profiles.md``).

``--type`` names any type the translation unit can see (the files, what they include through
``-I`` or from the libc, built-in types); ``--all-types`` lays out every type of the translation
unit instead of the files' own, and ``--list-types`` prints each type's name and the file it
comes from.  A type the engine cannot lay out is ``{"unsupported": ...}`` (docs/cfront.md); naming
it with ``--type`` is an error.

Rendering only: every number comes from ``bitlayout.layout``.  Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .. import jsontext
from ..errors import BitlayoutError, UsageError
from . import add_verb, kernel_profiles, kernel_source, parse_defines


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "C type layouts per arch (json contract, pahole-like table, compare)"


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "layout", help=HELP,
                 description="Lay out every struct/union/enum/typedef of C headers for each arch.",
                 formats=("json", "table", "compare"), default_format="table", run=run, kernel=True)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VAL]")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="NAME",
                   help='only this type ("struct X", "union X", "enum X", a typedef name, any type the files '
                        'see, e.g. pthread_mutex_t after <pthread.h>); repeatable')
    p.add_argument("--all-types", action="store_true",
                   help="every type of the translation unit (headers included), not only the files' own")
    p.add_argument("--list-types", action="store_true",
                   help="print the name and defining file of every type of the translation unit, and exit")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="with --kernel: arches laid out at once, in forked workers (default: cores)")
    p.add_argument("--builtin-cpp", action="store_true",
                   help="only the built-in preprocessor: an error where it cannot be exact (by default it runs "
                        "wherever it is exact, the arch's compiler elsewhere)")


def _check_paths(files: list[str], include_dirs: list[str]) -> None:
    """Bad paths are usage errors, one line each (a compiler would ignore a missing -I dir and then
    fail on the #include with a less helpful message)."""
    for d in include_dirs:
        if not Path(d).is_dir():
            raise UsageError(f"-I {d}: {'not a directory' if Path(d).exists() else 'no such directory'}")
    for f in files:
        if Path(f).is_dir():
            raise UsageError(f"{f}: is a directory (give header files)")
        if not Path(f).exists():
            raise UsageError(f"{f}: no such file")


def _kernel_source(args: Any) -> Any:
    """``--kernel DIR`` opened and the FILE arguments checked against it (None without it)."""
    if getattr(args, "kernel", None) and args.builtin_cpp:
        raise UsageError("--builtin-cpp and --kernel exclude each other (a kernel TU is preprocessed by Kbuild's "
                         "own compiler command)")
    source = kernel_source(args)
    if source is not None:
        source.check_headers(args.files, "FILE")
    return source


def compute(args: Any) -> dict:
    """arch -> LayoutSet of every arch asked for (the first error: one line, see ``_raise_first``)."""
    from ..kernel.inputs import layouts_for

    kernel, profiles, defines = _inputs(args)
    sets = {}
    failed: dict[str, BitlayoutError] = {}
    for p, result in layouts_for(args.files, profiles, args.include_dirs, defines, kernel=kernel,
                                 builtin=True if args.builtin_cpp else None):
        if isinstance(result, BitlayoutError):
            failed[p.name] = result
        else:
            sets[p.name] = result
    _raise_first(failed, len(profiles))
    for name in args.types:
        for arch, ls in sets.items():
            _named_type(ls, name, args.files[0])
    return sets


def _inputs(args: Any) -> tuple:
    """(kernel source or None, profiles, -D macros), every path checked."""
    from ..profiles import select_profiles

    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    kernel = _kernel_source(args)
    profiles = kernel_profiles(kernel, args.arch) if kernel else select_profiles(args.arch or "all")
    defines = parse_defines(args.defines)
    _check_paths([] if kernel else args.files, args.include_dirs)
    return kernel, profiles, defines


def _raise_first(failed: dict[str, BitlayoutError], n_arches: int) -> None:
    """Raise the first arch's error (in arch order) as one line naming every arch it happened on
    (headers often differ per arch through #ifdef __m68k__ & co., so "some.h:3:18: before: z"
    alone is a riddle), with how many other errors there were."""
    if not failed:
        return
    by_message: dict[str, list[str]] = {}
    first: dict[str, BitlayoutError] = {}
    for arch, exc in failed.items():
        by_message.setdefault(str(exc), []).append(arch)
        first.setdefault(str(exc), exc)
    msg, arches = next(iter(by_message.items()))
    if len(arches) == n_arches > 6:
        where = f"on all {len(arches)} arches"
    else:
        where = "on " + ", ".join(arches)
    more = len(by_message) - 1
    text = msg if len(arches) == 1 and f"on {arches[0]}" in msg else f"{msg} ({where})"
    if more:
        text += f"; {more} other error{'s' if more > 1 else ''} on other arches"
    err = type(first[msg])(text)
    err.exit_code = first[msg].exit_code
    raise err


def arch_outputs(args: Any) -> dict[str, Any]:
    """arch -> what ``run`` prints for it (``_render``), in arch order; errors as ``compute``.
    With ``--kernel``, contiguous runs of arches are laid out in forked workers (``workers``)."""
    from ..workers import contiguous_runs, map_runs

    kernel, profiles, defines = _inputs(args)
    runs = contiguous_runs(profiles, args.jobs) if kernel is not None else [profiles]
    rendered: dict[str, tuple] = {}
    for outputs in map_runs(_render_run, runs, args, kernel, defines):
        rendered.update(outputs)
    _raise_first({arch: r[1] for arch, r in rendered.items() if r[0] == "failed"}, len(profiles))
    for name in args.types:
        for arch, (_kind, _payload, named_errors) in rendered.items():
            if name in named_errors:
                raise named_errors[name]
    return {arch: payload for arch, (_kind, payload, _errors) in rendered.items()}


def _render_run(profiles: list, args: Any, kernel: Any, defines: dict) -> dict[str, tuple]:
    """``_render`` of each arch of ``profiles``, in order (a worker's job, or the whole run)."""
    from ..kernel.inputs import layouts_for

    return {p.name: _render(result, args)
            for p, result in layouts_for(args.files, profiles, args.include_dirs, defines, kernel=kernel,
                                         builtin=True if args.builtin_cpp else None)}


def _render(result: Any, args: Any) -> tuple:
    """("failed", the error, {}) or ("ok", the arch's output, {--type name: its error}): the
    ``bitlayout.layout/1`` entry (json), the table text, the named type's TypeLayout (compare) or
    the type listing (--list-types)."""
    if isinstance(result, BitlayoutError):
        return "failed", result, {}
    ls = result
    named_errors = {}
    for name in args.types:
        try:
            _named_type(ls, name, args.files[0])
        except BitlayoutError as exc:
            named_errors[name] = exc
    if named_errors:
        return "ok", None, named_errors
    if args.list_types:
        return "ok", ls.tu.type_names_with_files(), {}
    if args.format == "compare":
        return "ok", ls.type(args.types[0]), {}
    if args.format == "json":
        return "ok", ls.to_contract(type_names(ls, args)), {}
    parts = [f"== {ls.profile.name} ({ls.profile.layout_class}, cacheline {ls.profile.cacheline_bytes}) ==\n"]
    for name in type_names(ls, args):
        if name in ls.unsupported:
            parts.append(f"{name} {{  /* unsupported: {ls.unsupported[name].reason} */ }};\n")
            continue
        parts.append(render_table(ls.type(name), ls.profile))
    parts.append("\n")
    return "ok", "".join(parts), {}


def _named_type(ls, name: str, where: str):
    """The layout of a type a user named: any type the translation unit sees; an unknown name or a
    type the engine cannot lay out is one line, exit 2."""
    from ..errors import LayoutError, UnsupportedError

    if name in ls.unsupported:
        raise UnsupportedError(f"{name!r} cannot be laid out on {ls.profile.name}: {ls.unsupported[name].reason}")
    try:
        return ls.type(name)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{name!r} cannot be laid out on {ls.profile.name}: {exc}") from None
    except LayoutError:
        known = ", ".join(list(ls.types)[:12])
        raise UsageError(f"{where}: no type {name!r} (defined: {known}...)") from None


def type_names(ls, args) -> list[str]:
    """What a run lays out: the --type names, every type of the TU (--all-types), or the files'."""
    if args.types:
        return list(args.types)
    if getattr(args, "all_types", False):
        return ls.tu.defined_type_names(everything=True)
    return ls.tu.defined_type_names()


def run(args: Any) -> int:
    from ..layout import contract

    if args.format == "compare" and len(args.types) != 1:
        raise UsageError("--format compare needs exactly one --type NAME")
    if args.format == "compare" and not args.list_types and not args.kernel:
        sets = compute(args)
        sys.stdout.write(render_compare(sets, args.types[0], other_compiler_sets(sets, args)))
        return 0
    if args.format == "compare" and not args.list_types:
        # A kernel tree is built with one compiler per arch (Kbuild's): no second one to compare.
        sys.stdout.write(render_compare_types(arch_outputs(args), args.types[0]))
        return 0
    outputs = arch_outputs(args)
    if args.list_types:
        return _list_types(outputs, args.format)
    if args.format == "json":
        doc = contract({})
        doc["arches"].update(outputs)
        # One write of text the C encoder made for each member (jsontext): doc, arches, arch,
        # types, type, members are one entry per line, each member one line.
        sys.stdout.write(jsontext.dumps(doc, 6) + "\n")
        return 0
    sys.stdout.write("".join(outputs.values()))
    return 0


def _list_types(listing: dict, fmt: str) -> int:
    """Every type of each arch's translation unit with the file that defines it."""
    if fmt == "json":
        sys.stdout.write(json.dumps({arch: [{"name": n, "file": f} for n, f in rows]
                                     for arch, rows in listing.items()}, indent=1) + "\n")
        return 0
    for arch, rows in listing.items():
        sys.stdout.write(f"== {arch}: {len(rows)} types ==\n")
        for name, file in rows:
            sys.stdout.write(f"{name:<40} {file}\n")
    return 0


_TYPE_COLUMN = 24  # the width of a member's type, as pahole pads it
_COMMENT_COLUMN = 64  # where a member line's /* offset size */ starts (tabs counted as 8)


def _anonymous(t: Any) -> bool:
    """An anonymous struct or union (its members are printed inside the parent, as pahole does)."""
    r = t.resolved()
    return r.kind in ("struct", "union") and t.kind != "typedef" and "<anonymous" in r.name


def _declaration(m: Any) -> str:
    """A member as C declares it: ``struct mm_struct *vm_mm``, ``char comm[16]``, ``unsigned flag:1``."""
    c_type = m.type.c_type or m.type.name
    base, bracket, dims = c_type.partition("[")
    if bracket:  # arrays: the dimensions follow the name
        c_type, suffix = base.rstrip(), "[" + dims
    else:
        suffix = ""
    name = f"{m.name}{suffix}" + (f":{m.size_bits}" if m.bitfield else "")
    return f"{c_type:<{_TYPE_COLUMN}} {name}"


class _Table:
    """pahole's listing of one type: members in declaration order, anonymous structs and unions as
    nested blocks, offsets from the start of the outer type, holes, cacheline boundaries."""

    def __init__(self, profile: Any):
        self.profile = profile
        self.lines: list[str] = []
        self.cl_bits = 8 * profile.cacheline_bytes
        self.next_cl = self.cl_bits
        self.holes = self.hole_bytes = 0

    def line(self, depth: int, text: str, offset_bits: int | None = None, size_bits: int = 0, note: str = "") -> None:
        indent = "\t" * depth
        if offset_bits is None:
            self.lines.append(indent + text)
            return
        comment = note or f"{offset_bits // 8:5} {size_bits // 8:4}"
        pad = max(1, _COMMENT_COLUMN - 8 * depth - len(text))
        self.lines.append(f"{indent}{text}{' ' * pad}/* {comment} */")

    def boundaries(self, depth: int, offset_bits: int) -> None:
        while offset_bits >= self.next_cl:
            self.line(depth, f"/* --- cacheline {self.next_cl // self.cl_bits} boundary ({self.next_cl // 8} bytes) --- */")
            self.next_cl += self.cl_bits

    def members(self, t: Any, base_bits: int, depth: int) -> int:
        """Lines for the members of struct/union ``t`` at ``base_bits``; returns where they end."""
        in_struct = t.kind == "struct"
        end_bits = base_bits
        for m in t.members:
            at = base_bits + m.offset_bits
            if in_struct:
                self.boundaries(depth, at)
                gap = at - end_bits
                if gap >= 8:
                    self.holes += 1
                    self.hole_bytes += gap // 8
                    self.line(depth, f"/* XXX {gap // 8} byte hole{'' if gap % 8 == 0 else f', {gap % 8} bits'} */")
                elif gap > 0:
                    self.line(depth, f"/* XXX {gap} bit hole */")
            if _anonymous(m.type) and not m.bitfield:
                inner = m.type.resolved()
                self.line(depth, f"{inner.kind} {{")
                self.members(inner, at, depth + 1)
                self.line(depth, f"}}{' ' + m.name if m.name else ''};", at, m.size_bits)
            elif m.bitfield:
                unit = 8 * m.type.size_bytes
                in_unit = at % unit if unit else 0
                # within the storage unit's value: LSB-first on little-endian, MSB-first on big-endian
                shift = in_unit if self.profile.little_endian else unit - in_unit - m.size_bits
                self.line(depth, _declaration(m) + ";", at, m.size_bits,
                          f"{at // 8:5} {'':4} bits {at}..{at + m.size_bits - 1}, value bit {shift} of {unit}-bit unit")
            else:
                self.line(depth, _declaration(m) + ";", at, m.size_bits)
            end_bits = max(end_bits, at + m.size_bits)
        return end_bits


def render_table(t, profile) -> str:
    """pahole-like listing of one type: each member's declared C type and name, its offset and
    size in bytes, holes, tail padding and cacheline boundaries."""
    r = t.resolved()
    table = _Table(profile)
    table.line(0, f"{t.name} {{  /* size {t.size_bytes}, align {t.align_bytes} */")
    end_bits = table.members(r, 0, 1) if r.kind in ("struct", "union") else 0
    pad = 8 * t.size_bytes - end_bits if r.kind == "struct" and r.members else 0
    lines = len(r.members)
    table.line(1, f"/* size: {t.size_bytes}, cachelines: {max(1, -(-t.size_bytes // profile.cacheline_bytes))}, "
                  f"members: {lines}, holes: {table.holes} ({table.hole_bytes} bytes), padding: {max(pad, 0) // 8} */")
    table.line(0, "};")
    return "\n".join(table.lines) + "\n"


def other_compiler_sets(sets: dict, args: Any) -> dict:
    """arch -> the same files laid out for the arch's other compiler (its profile's [alternate]),
    for the arches that describe two; a layout that fails there is left out."""
    from ..layout import layout_headers

    out = {}
    for arch, ls in sets.items():
        alt = ls.profile.alternate
        if alt is None:
            continue
        try:
            out[arch] = layout_headers(args.files, ls.profile.for_compiler(alt.compiler), args.include_dirs,
                                       parse_defines(args.defines), builtin=True if args.builtin_cpp else None)
        except BitlayoutError:
            continue
    return out


def _cells(t, names: list[str]) -> list[str]:
    """size, align, then each member as offset_bits+size_bits ("-" where the type has none)."""
    members = {m.name: m for m in t.flat_members()}
    return [str(t.size_bytes), str(t.align_bytes)] + [
        "-" if members.get(n) is None else f"{members[n].offset_bits}+{members[n].size_bits}" for n in names]


def render_compare(sets: dict, name: str, others: dict | None = None) -> str:
    """One column per arch, ``*`` where arches differ; with ``others`` (``other_compiler_sets``),
    ``!`` where GCC and clang lay the row out differently on some arch, with both answers below."""
    return render_compare_types({a: ls.type(name) for a, ls in sets.items()}, name, others,
                                {a: ls.compiler for a, ls in sets.items()})


def render_compare_types(types: dict, name: str, others: dict | None = None, compilers: dict | None = None) -> str:
    """``render_compare`` of arch -> the type's TypeLayout (``compilers``: arch -> the compiler
    the model followed, needed with ``others``)."""
    from ..profiles import COMPILER_NAMES

    arches = list(types)
    member_names: list[str] = []
    for a in arches:
        for m in types[a].flat_members():
            if m.name not in member_names:
                member_names.append(m.name)
    labels = ["size", "align", *member_names]
    cells = {a: _cells(types[a], member_names) for a in arches}
    from ..layout.typelayout import declared_alike

    other = {}
    apart = []  # arches whose two routes' C libraries declare the type differently
    for a, ls in (others or {}).items():
        if a in types and ls.has_type(name):
            try:
                theirs = ls.type(name)
            except BitlayoutError:
                continue
            if not declared_alike(types[a], theirs):
                apart.append(a)
                continue
            other[a] = (ls, _cells(theirs, member_names))
    width = max(8, *(len(a) for a in arches))
    head = f"{'':3}{name + ' (offset_bits+size_bits)':<30}" + "".join(f"{a:>{width + 1}}" for a in arches)
    out = [head]
    split: list[str] = []
    for i, label in enumerate(labels):
        row = [cells[a][i] for a in arches]
        mark = "*" if len(set(row)) > 1 else " "
        differ = [a for a in other if other[a][1][i] != cells[a][i]]
        out.append(f"{mark}{'!' if differ else ' '} {label:<30}" + "".join(f"{c:>{width + 1}}" for c in row))
        by_answer: dict[tuple[str, str], list[str]] = {}
        for a in differ:
            ref, alt = compilers[a], other[a][0].compiler
            key = (f"{COMPILER_NAMES[ref]} {cells[a][i]}", f"{COMPILER_NAMES[alt]} {other[a][1][i]}")
            by_answer.setdefault(key, []).append(a)
        split += [f"! {label}: {x}, {y} on {', '.join(on)}" for (x, y), on in by_answer.items()]
    out.append("(* = differs between arches)")
    if others is not None and (other or not apart):
        out.append("(! = GCC and clang lay it out differently: compiler divergence; the columns show the "
                   "compiler the model follows per arch)" if split else
                   f"(GCC and clang agree on {name} on every arch that has both: {', '.join(other) or 'none'})")
    out += split
    if apart:
        out.append(f"(not compared on {', '.join(apart)}: the other compiler's C library declares {name} "
                   "(or a type in it) differently, so its layout says nothing about the compilers)")
    return "\n".join(out) + "\n"
