"""The C front end: preprocessed C -> declaration table, per-arch preprocessing.

One stage per module, the pycparser habit:

- ``lexer``      tokens of preprocessed C, on demand, with ``file:line:col`` positions;
- ``parser``     a GNU C declaration parser -> ``table.TranslationUnit`` (types as
                 ``nodes.CType``, constant expressions as ``nodes`` trees), replaying top-level
                 declarations it parsed before from ``declmemo``;
- ``table``      the declaration table (immutable once built);
- ``cpp``        the built-in preprocessor (with ``pplex``, ``ppmacro``, ``ppexpand``, ``ppexpr``);
                 ``preprocess`` picks it or the arch's compiler, fed the compiler facts of
                 ``predefined`` and the include path of ``sysinclude``, caching runs with
                 ``ppcache`` (docs/preprocessor.md);
- ``macros``     the object-like macros of the input files, for ``LayoutSet.eval``.

The layout engine (``bitlayout.layout``) evaluates the table per architecture.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from .gc import FREEZE_AFTER, no_gc
from .macros import LazyMacros, collect_macros
from .nodes import CType
from .parser import parse, parse_expression, parse_type_name, scalar_from_words
from .preprocess import predefined_macros, preprocess_for
from .table import (Attr, FieldDecl, StaticAssert, TagDef, TranslationUnit, TypedefAgain, TypedefDecl, Unparsed,
                    VarDecl)

__all__ = ["Attr", "CType", "FieldDecl", "LazyMacros", "StaticAssert", "TagDef", "TranslationUnit", "TypedefAgain",
           "TypedefDecl", "Unparsed", "VarDecl", "build_table", "collect_macros", "no_gc", "parse",
           "parse_expression", "parse_type_name", "predefined_macros", "preprocess_for", "scalar_from_words",
           "FREEZE_AFTER", "clear_caches"]


_TABLES: dict[str, TranslationUnit] = {}


def build_table(text: str, filename: str = "<input>", input_files: Iterable[str] = (), *,
                recover: bool = False) -> TranslationUnit:
    """Preprocessed C text -> TranslationUnit, memoised per process on the text (arches whose
    headers preprocess to the same text share one parse).  ``recover``: see ``Parser.parse``."""
    input_files = tuple(input_files)
    key = hashlib.sha1("\0".join((filename, *input_files, str(recover), text)).encode(
        "utf-8", "surrogatepass")).hexdigest()
    hit = _TABLES.get(key)
    if hit is not None:
        return hit
    with no_gc():
        tu = parse(text, filename, input_files, recover=recover)
    if len(_TABLES) > 64:
        _TABLES.clear()
    _TABLES[key] = tu
    return tu


def clear_caches() -> None:
    """Forget every per-process memo of the front end (benchmarks measure cold starts)."""
    from . import cpp, declmemo, preprocess

    _TABLES.clear()
    declmemo.clear()
    preprocess.clear_caches()
    cpp.clear_caches()
