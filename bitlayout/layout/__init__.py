"""The ABI layout engine: C declarations -> per-architecture layouts (pure Python).

``layout_text`` lays out already-preprocessed C for one profile and never touches a file;
``layout_headers`` preprocesses headers first (through ``bitlayout.cfront``).  The engine itself
is ``LayoutSet`` (``layoutset.py``), its constant-expression evaluator ``constexpr.py``, and the
result values ``TypeLayout``/``Member``/``Unsupported`` (``typelayout.py``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .. import cfront
from ..errors import CParseError
from ..results import LAYOUT_SCHEMA
from .layoutset import LayoutSet
from .typelayout import Member, TypeLayout, Unsupported, find_member

__all__ = ["LayoutSet", "Member", "TypeLayout", "Unsupported", "find_member", "layout_text",
           "layout_headers", "contract", "abi_key"]


def abi_key(profile) -> tuple:
    """The profile inputs every layout reads: arches with the same key (and the same numbers for
    the scalars a translation unit uses, ``LayoutSet.scalars_read``) lay a table out identically
    (x86_64, alpha, mips64, sparc64... are one computation).  ``LayoutSet`` never reads the
    arch's name (only its error messages do), ``bitfields_msb_first`` (offsets are counted in
    memory order from the start of the type on either bit order; renderers read it) or the prose
    ``source`` fields."""
    from ..profiles import SCALAR_KEYS

    scalars = tuple((k, s.size_bytes, s.align_bytes, s.gnu_align_bytes)
                    for k, s in sorted(profile.scalars.items()) if k in SCALAR_KEYS)
    # va_list and strict_alignment: read dependencies (LayoutSet.scalars_read), like the
    # optional scalars
    rules = dataclasses.replace(profile.layout, source="", bitfields_msb_first=False, va_list="",
                                strict_alignment=False)
    return (scalars, rules, profile.char_signed)


# id(tu) -> (tu, {abi key: [LayoutSet]}), the most recently used last.  A few tables only: a
# kernel TU's LayoutSets take ~25 MB per ABI, and one process may lay out one TU per arch.
_SHARED: dict = {}
_SHARED_TABLES = 4


def layout_text(text: str, profile, filename: str = "<input>", input_files: Iterable[str] = (),
                macros: Mapping[str, str] | None = None) -> LayoutSet:
    """Lay out already-preprocessed C for one profile (pure: no I/O)."""
    tu = cfront.build_table(text, filename, tuple(input_files))
    return layout_table(tu, profile, macros)


def layout_table(tu, profile, macros: Mapping[str, str] | None = None) -> LayoutSet:
    """A LayoutSet for a declaration table; arches with the same ABI inputs share one computation
    within this process (never across processes: no layout is ever stored)."""
    entry = _SHARED.pop(id(tu), None)
    if entry is None or entry[0] is not tu:
        entry = (tu, {})
    _SHARED[id(tu)] = entry  # most recently used last
    while len(_SHARED) > _SHARED_TABLES:
        del _SHARED[next(iter(_SHARED))]
    sets = entry[1].setdefault(abi_key(profile), [])
    for ls in sets:
        if all(_scalar_numbers(profile, k) == v for k, v in ls.scalars_read.items()):
            # the macros are each arch's own (`#define W __SIZEOF_LONG__`); types never read them
            return ls.for_profile(profile, macros)
    with cfront.no_gc():
        ls = LayoutSet(tu, profile, macros)
    sets.append(ls)
    return ls


def _scalar_numbers(profile, key: str):
    if key == "<little_endian>":
        return profile.little_endian
    if key == "<va_list>":
        return profile.layout.va_list
    if key == "<strict_alignment>":
        return profile.layout.strict_alignment
    s = profile.scalars.get(key)
    return None if s is None else (s.size_bytes, s.align_bytes, s.gnu_align_bytes)


def layout_headers(paths, profile, include_dirs=(), defines={}, *, builtin: bool | None = None) -> LayoutSet:
    """Preprocess ``paths`` for ``profile`` (real compiler -E, else the built-in preprocessor),
    parse, and lay out every type."""
    paths = [Path(p) for p in paths]
    text, _how, macros = cfront.preprocess_for(paths, profile, include_dirs, defines, builtin=builtin)
    inputs = tuple(str(p) for p in paths) + tuple(str(p.resolve()) for p in paths)
    try:
        tu = cfront.build_table(text, str(paths[0]), inputs)
    except CParseError:
        # Valid C this parser cannot read must not refuse the file: when the arch's compiler
        # accepts it, the declarations that did not parse are reported unsupported, per type.
        if not compiler_accepts(paths, profile, include_dirs, defines):
            raise
        tu = cfront.build_table(text, str(paths[0]), inputs, recover=True)
    return layout_table(tu, profile, macros)


def compiler_accepts(paths, profile, include_dirs=(), defines={}) -> bool:
    """Whether the arch's compiler compiles the headers (False when none is installed: a syntax
    error is then bitlayout's to report)."""
    import tempfile

    from .. import toolchains

    comp = toolchains.find_compiler(profile)
    if comp is None:
        return False
    with tempfile.TemporaryDirectory(prefix="bitlayout-check-") as tmp:
        src = Path(tmp) / "check.c"
        src.write_text("".join(f'#include "{Path(p).resolve()}"\n' for p in paths))
        argv = [*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", *[f"-I{d}" for d in include_dirs],
                *toolchains.define_flags(defines), str(src), "-o", str(Path(tmp) / "check.o")]
        return toolchains.run_compiler(argv, timeout=300, what="checking the headers").returncode == 0


def contract(sets: Mapping[str, LayoutSet], only: Sequence[str] = ()) -> dict:
    """The bitlayout.layout/1 document for several arches (``only``: just these type names)."""
    doc: dict = {"schema": LAYOUT_SCHEMA, "arches": {}}
    for arch, ls in sets.items():
        doc["arches"][arch] = ls.to_contract(list(only) if only else None)
    return doc
