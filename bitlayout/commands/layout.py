"""``bitlayout layout FILE... [--arch SEL] [-I DIR] [-D NAME[=VAL]] [--type NAME] --format json|table|compare``.

- ``json``: exactly the ``bitlayout.layout/1`` contract (docs/internals.md): every struct, union, enum and
  typedef the files define, for every arch asked for.
- ``table``: pahole-like, per arch: offset, size, holes, tail padding, cacheline boundaries,
  bitfield positions (the bit range inside the byte-addressed storage, and MSB/LSB-first order).
- ``compare``: one type (``--type``), one column per arch, differing rows marked ``*``.

Rendering only: every number comes from ``bitlayout.layout``.  Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..errors import BitlayoutError, UsageError
from . import add_verb, kernel_profiles, kernel_source, parse_defines


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "layout", help="C type layouts per arch (json contract, pahole-like table, compare)",
                 description="Lay out every struct/union/enum/typedef of C headers for each arch.",
                 formats=("json", "table", "compare"), default_format="table", run=run, kernel=True)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VAL]")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="NAME",
                   help='only this type ("struct X", "union X", "enum X" or a typedef name); repeatable')
    p.add_argument("--builtin-cpp", action="store_true",
                   help="preprocess with the built-in preprocessor even when a compiler is installed")


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
    from ..kernel.inputs import layout_for
    from ..profiles import select_profiles

    kernel = _kernel_source(args)
    profiles = kernel_profiles(kernel, args.arch) if kernel else select_profiles(args.arch or "all")
    defines = parse_defines(args.defines)
    _check_paths([] if kernel else args.files, args.include_dirs)
    sets = {}
    failed: dict[str, list[str]] = {}  # message -> arches, in arch order
    first: dict[str, BitlayoutError] = {}
    for p in profiles:
        try:
            sets[p.name] = layout_for(args.files, p, args.include_dirs, defines, kernel=kernel,
                                      builtin=True if args.builtin_cpp else None)
        except BitlayoutError as exc:
            failed.setdefault(str(exc), []).append(p.name)
            first.setdefault(str(exc), exc)
    if failed:
        # One line: the first error, and every arch it happened on (headers often differ per arch
        # through #ifdef __m68k__ & co., so "some.h:3:18: before: z" alone is a riddle).
        msg, arches = next(iter(failed.items()))
        if len(arches) == len(profiles) > 6:
            where = f"on all {len(arches)} arches"
        else:
            where = "on " + ", ".join(arches)
        more = len(failed) - 1
        text = msg if len(arches) == 1 and f"on {arches[0]}" in msg else f"{msg} ({where})"
        if more:
            text += f"; {more} other error{'s' if more > 1 else ''} on other arches"
        err = type(first[msg])(text)
        err.exit_code = first[msg].exit_code
        raise err
    for name in args.types:
        for arch, ls in sets.items():
            if name not in ls.types:
                known = ", ".join(list(ls.types)[:12])
                raise UsageError(f"{args.files[0]}: no type {name!r} (defined: {known}...)")
    return sets


def run(args: Any) -> int:
    from ..layout import contract

    sets = compute(args)
    if args.format == "compare" and len(args.types) != 1:
        raise UsageError("--format compare needs exactly one --type NAME")
    if args.format == "json":
        json.dump(contract(sets, args.types), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if args.format == "compare":
        sys.stdout.write(render_compare(sets, args.types[0]))
        return 0
    for arch, ls in sets.items():
        names = args.types or list(ls.types)
        sys.stdout.write(f"== {arch} ({ls.profile.layout_class}, cacheline {ls.profile.cacheline_bytes}) ==\n")
        for name in names:
            sys.stdout.write(render_table(ls.types[name], ls.profile))
        sys.stdout.write("\n")
    return 0


def render_table(t, profile) -> str:
    """pahole-like listing of one type."""
    lines = [f"{t.name} {{  /* size {t.size_bytes}, align {t.align_bytes} */"]
    members = t.flat_members()
    cl_bits = 8 * profile.cacheline_bytes
    end_bits = 0
    holes = 0
    hole_bytes = 0
    next_cl = cl_bits
    for m in sorted(members, key=lambda m: m.offset_bits) if t.resolved().kind == "struct" else members:
        while t.resolved().kind == "struct" and m.offset_bits >= next_cl:
            lines.append(f"\t/* --- cacheline {next_cl // cl_bits} boundary ({next_cl // 8} bytes) --- */")
            next_cl += cl_bits
        if t.resolved().kind == "struct" and m.offset_bits > end_bits:
            gap = m.offset_bits - end_bits
            if gap >= 8:
                holes += 1
                hole_bytes += gap // 8
                lines.append(f"\t/* XXX {gap // 8} byte hole{'' if gap % 8 == 0 else f', {gap % 8} bits'} */")
            elif gap:
                lines.append(f"\t/* XXX {gap} bit hole */")
        if m.bitfield:
            byte, bit = divmod(m.offset_bits, 8)
            unit = 8 * m.type.size_bytes
            in_unit = m.offset_bits % unit if unit else 0
            # within the storage unit's value: LSB-first on little-endian, MSB-first on big-endian
            shift = in_unit if profile.little_endian else unit - in_unit - m.size_bits
            lines.append(f"\t{m.type.c_type:<24} {m.name + ':' + str(m.size_bits):<20} /* {byte:5} {'':4} "
                         f"bits {m.offset_bits}..{m.offset_bits + m.size_bits - 1}, value bit {shift} of "
                         f"{unit}-bit unit */")
        else:
            lines.append(f"\t{m.type.c_type:<24} {m.name:<20} /* {m.offset_bits // 8:5} {m.size_bits // 8:4} */")
        end_bits = max(end_bits, m.offset_bits + m.size_bits)
    pad = 8 * t.size_bytes - end_bits if t.resolved().kind == "struct" and members else 0
    lines.append(f"\t/* size: {t.size_bytes}, cachelines: {max(1, -(-t.size_bytes // profile.cacheline_bytes))}, "
                 f"members: {len(members)}, holes: {holes} ({hole_bytes} bytes), padding: {max(pad, 0) // 8} */")
    lines.append("};")
    return "\n".join(lines) + "\n"


def render_compare(sets: dict, name: str) -> str:
    arches = list(sets)
    types = {a: sets[a].types[name] for a in arches}
    rows: list[tuple[str, list[str]]] = [
        ("size", [str(types[a].size_bytes) for a in arches]),
        ("align", [str(types[a].align_bytes) for a in arches]),
    ]
    member_names: list[str] = []
    for a in arches:
        for m in types[a].flat_members():
            if m.name not in member_names:
                member_names.append(m.name)
    for mn in member_names:
        cells = []
        for a in arches:
            m = next((x for x in types[a].flat_members() if x.name == mn), None)
            cells.append("-" if m is None else f"{m.offset_bits}+{m.size_bits}")
        rows.append((mn, cells))
    width = max(8, *(len(a) for a in arches))
    head = f"{'':2}{name + ' (offset_bits+size_bits)':<30}" + "".join(f"{a:>{width + 1}}" for a in arches)
    out = [head]
    for label, cells in rows:
        mark = "*" if len(set(cells)) > 1 else " "
        out.append(f"{mark} {label:<30}" + "".join(f"{c:>{width + 1}}" for c in cells))
    out.append("(* = differs between arches)")
    return "\n".join(out) + "\n"
