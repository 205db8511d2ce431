"""Top-level declarations parsed once per process and replayed where they stand again.

The same header preprocesses to much the same text on every arch: a kernel translation unit is
3-4.5 MB per arch, and 80-87% of its top-level declarations are also in the arch parsed before
it (same text at the same file, line and column; measured on the stored kernel TUs of 23 arches).
The parser (``parser.Parser.parse``) asks this memo before each top-level declaration.  An entry
is replayed only when all of these hold, so the table is exactly the one a fresh parse builds:

* the same text starts at the same line and column (every position the parse stores is computed
  from these, the file and the text itself);
* the same parse context: the file name before any line marker, the input files (whose
  prototypes are read), the ``#pragma pack`` / ``scalar_storage_order`` state;
* every question the first parse asked of the parser's tables gets the same answer now (its
  *reads*: whether a name is a typedef, what a tag key or a typedef name stands for, an
  identifier's kind ...): the same object or an equal one (table entries are immutable values,
  compared by value; a replay usually finds the very objects it put there).

Replaying appends the recorded items and repeats the recorded table writes in their order.

A function definition is kept up to the `{` of its body: the parse jumps over a body without
reading it (``Lexer.skip_balanced``), so the body is no part of what the parse depends on, and a
replay jumps over the body of the text it stands in.  A kernel TU is mostly static inline
functions whose bodies expand arch macros differently on every arch.

The file may differ.  Each cross sysroot holds its own byte-identical copy of the asm-generic
and linux UAPI headers (``/usr/<triplet>/include/asm-generic/posix_types.h``), so an entry made
for one arch's copy is *moved* to another's: every position in its reads, items and writes names
the new file instead (``file:`` -> ``new file:``, in coordinates and anonymous tag keys alike).
That is what parsing the same text there gives, provided the file plays the same part: the parse
asks only whether the physical file is an input file (prototypes) and whether a line marker names
the TU's own file, so both must answer the same for the old and the new file.  A string that
names the old file any other way, or an object the move does not know, and the declaration is
parsed instead.

``BITLAYOUT_NO_DECL_MEMO=1`` parses every declaration (tests compare the two ways).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, is_dataclass
from typing import Callable

# The memo keeps every entry's objects alive; past this many entries it starts again (a kernel
# TU has about 11,000 top-level declarations per arch).
MAX_ENTRIES = 300_000
PREFIX = 48  # characters of a declaration's text in its lookup key (up to a `{` at most)


@dataclass(frozen=True, slots=True)
class Entry:
    text: str  # the declaration, from its first token to the end of its last
    reads: tuple  # ((table, key, presence_only), answer) the parse asked, in any order
    typedef_reads: tuple  # (name, is a typedef) the parse asked
    items: tuple  # appended to Parser.items
    writes: tuple  # (table, key, value) in the order the parse made them
    state_after: tuple | None  # the pragma state after it, when the declaration changed it
    files: tuple[str, str]  # the presumed and physical file it was parsed in
    # A function definition: ``text`` ends with its body's `{`, at this offset in it; a replay
    # skips the body of the text it stands in (bodies are never read).  -1 for the rest.
    body_at: int = -1


_MEMO: dict[tuple, list[Entry]] = {}
_count = 0  # entries stored
moves = 0  # of them, moved from another file (the rest were parsed)


def enabled() -> bool:
    return os.environ.get("BITLAYOUT_NO_DECL_MEMO") != "1"


def clear() -> None:
    global _count, moves
    _MEMO.clear()
    _PLANS.clear()
    _count = moves = 0


def lookup(key: tuple, text: str, start: int, tables: dict, files: tuple[str, str],
           role: Callable[[str], tuple]) -> Entry | None:
    """The entry recorded under ``key`` whose text stands at ``start`` of ``text`` and whose reads
    ``tables`` (table name -> dict) answer the same way now, parsed in ``files`` (presumed,
    physical) or moved there from other files that play the same ``role``; None if there is none."""
    global moves
    entries = _MEMO.get(key, ())
    for entry in entries:
        if entry.files == files and text.startswith(entry.text, start) and _reads_hold(entry, tables):
            return entry
    for entry in entries:
        if entry.files != files and text.startswith(entry.text, start):
            moved = _moved(entry, files, role, tables)
            if moved is not None:
                moves += 1
                store(key, moved)
                return moved
    return None


def _moved(entry: Entry, files: tuple[str, str], role, tables: dict) -> Entry | None:
    """``entry`` as parsed in ``files`` if its reads hold there; None when it cannot be moved."""
    (old_presumed, old_physical), (presumed, physical) = entry.files, files
    if role(old_presumed) != role(presumed) or role(old_physical) != role(physical):
        return None
    paths = {old_presumed: presumed}
    if paths.setdefault(old_physical, physical) != physical:
        return None  # one old file, two new ones
    paths = {old: new for old, new in paths.items() if old != new}
    plans = _plans_of(entry)
    if plans is None:
        return None
    memo: dict = {}
    try:
        reads = _apply(entry.reads, plans[0], paths, memo)
        probe = Entry(entry.text, reads, entry.typedef_reads, (), (), None, files, entry.body_at)
        if not _reads_hold(probe, tables):
            return None
        return Entry(entry.text, reads, entry.typedef_reads, _apply(entry.items, plans[1], paths, memo),
                     _apply(entry.writes, plans[2], paths, memo), entry.state_after, files, entry.body_at)
    except _CannotMove:
        return None


class _CannotMove(Exception):
    pass


# Where an entry's positions are (its reads, items and writes), found once per entry: the other
# arches rebuild only the objects on the way to them.  id(entry) -> (entry, plans or None).
_PLANS: dict[int, tuple] = {}
_STRING = "string"  # the plan of a string that names an old file
_ATOMS = (int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _plans_of(entry: Entry):
    hit = _PLANS.get(id(entry))
    if hit is None:
        olds = set(entry.files)
        seen: dict = {}
        try:
            plans = tuple(_plan(part, olds, seen) for part in (entry.reads, entry.items, entry.writes))
        except _CannotMove:
            plans = None
        hit = _PLANS[id(entry)] = (entry, plans)
    return hit[1]


def _field_names(cls: type) -> tuple[str, ...]:
    if cls not in _FIELDS:
        frozen = is_dataclass(cls) and cls.__dataclass_params__.frozen
        _FIELDS[cls] = tuple(f.name for f in fields(cls)) if frozen else None
    names = _FIELDS[cls]
    if names is None:
        raise _CannotMove(cls)  # not an immutable value the move knows how to rebuild
    return names


def _plan(obj, olds: set, seen: dict):
    """None if nothing in ``obj`` names a file of ``olds``, else what to rebuild: ``_STRING``, or
    (index, plan) of the tuple elements / dataclass fields that do."""
    cls = type(obj)
    if cls is str:
        return _STRING if any(old in obj for old in olds) else None
    if cls in _ATOMS:
        return None
    key = id(obj)
    if key in seen:
        return seen[key][1]
    parts = obj if cls is tuple else [getattr(obj, name) for name in _field_names(cls)]
    plan = tuple((i, sub) for i, part in enumerate(parts) if (sub := _plan(part, olds, seen)) is not None) or None
    seen[key] = (obj, plan)
    return plan


def _apply(obj, plan, paths: dict[str, str], memo: dict):
    """``obj`` with every position in an old file of ``paths`` naming the new file (``plan`` says
    where they are; ``memo``: id -> (old, new), so a shared object stays shared)."""
    if plan is None:
        return obj
    hit = memo.get(id(obj))
    if hit is not None:
        return hit[1]
    if plan is _STRING:
        new = obj
        for old, renamed in paths.items():
            if old in new:
                new = renamed if new == old else new.replace(old + ":", renamed + ":")
                if old in new and old not in renamed:
                    raise _CannotMove(new)  # the old file named some other way
        memo[id(obj)] = (obj, new)
        return new
    cls = type(obj)
    if cls is tuple:
        parts = list(obj)
        for i, sub in plan:
            parts[i] = _apply(obj[i], sub, paths, memo)
        new = tuple(parts)
    else:
        parts = [getattr(obj, name) for name in _FIELDS[cls]]
        for i, sub in plan:
            parts[i] = _apply(parts[i], sub, paths, memo)
        new = cls(*parts)
    memo[id(obj)] = (obj, new)
    return new


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
