"""Top-level declarations parsed once per process and replayed where they stand again.

The same header preprocesses to much the same text on every arch: a kernel translation unit is
3-4.5 MB per arch, and 80-87% of its top-level declarations are also in the arch parsed before
it (same text at the same file, line and column; measured on the stored kernel TUs of 23 arches).
The parser (``parser.Parser.parse``) asks this memo before each top-level declaration.  An entry
is replayed only when all of these hold, so the table is exactly the one a fresh parse builds:

* the same text starts at the same place: presumed file, line and column, physical file (every
  position the parse stores is computed from these and the text itself);
* the same parse context: the file name before any line marker, the input files (whose
  prototypes are read), the ``#pragma pack`` / ``scalar_storage_order`` state;
* every question the first parse asked of the parser's tables gets the same answer now (its
  *reads*: whether a name is a typedef, what a tag key or a typedef name stands for, an
  identifier's kind ...): the same object or an equal one (table entries are immutable values,
  compared by value; a replay usually finds the very objects it put there).

Replaying appends the recorded items and repeats the recorded table writes in their order.
``BITLAYOUT_NO_DECL_MEMO=1`` parses every declaration (tests compare the two ways).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# The memo keeps every entry's objects alive; past this many entries it starts again (a kernel
# TU has about 11,000 top-level declarations per arch).
MAX_ENTRIES = 300_000
PREFIX = 48  # characters of a declaration's text in its lookup key


@dataclass(frozen=True, slots=True)
class Entry:
    text: str  # the declaration, from its first token to the end of its last
    reads: tuple  # ((table, key, presence_only), answer) the parse asked, in any order
    typedef_reads: tuple  # (name, is a typedef) the parse asked
    items: tuple  # appended to Parser.items
    writes: tuple  # (table, key, value) in the order the parse made them
    state_after: tuple | None  # the pragma state after it, when the declaration changed it


_MEMO: dict[tuple, list[Entry]] = {}
_count = 0


def enabled() -> bool:
    return os.environ.get("BITLAYOUT_NO_DECL_MEMO") != "1"


def clear() -> None:
    global _count
    _MEMO.clear()
    _count = 0


def lookup(key: tuple, text: str, start: int, tables: dict) -> Entry | None:
    """The entry recorded under ``key`` whose text stands at ``start`` of ``text`` and whose reads
    ``tables`` (table name -> dict) answer the same way now; None if there is none."""
    for entry in _MEMO.get(key, ()):
        if text.startswith(entry.text, start) and _reads_hold(entry, tables):
            return entry
    return None


def _reads_hold(entry: Entry, tables: dict) -> bool:
    typedefs = tables["typedefs"]
    for name, answer in entry.typedef_reads:
        if (name in typedefs) != answer:
            return False
    for (table, name, presence_only), answer in entry.reads:
        if presence_only:
            if (name in tables[table]) != answer:
                return False
        else:
            now = tables[table].get(name)
            # the same object (a replayed one), or an equal one: the parse only looks at values
            if now is not answer and now != answer:
                return False
    return True


def store(key: tuple, entry: Entry) -> None:
    global _count
    if _count >= MAX_ENTRIES:
        clear()
    _MEMO.setdefault(key, []).append(entry)
    _count += 1
