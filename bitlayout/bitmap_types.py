"""Adapter: a C type's ``TypeLayout`` (from the layout engine) -> the model's ``BitmapGeometry``.

"Bitmap-ish" types, the shapes flag words take in real code:

- an integer scalar (``unsigned long``, ``u64``, ``u32``): one word of its size;
- an array of integer scalars (``unsigned long vm_flags_t[N]``, ``DECLARE_BITMAP``): N words;
- a struct or union wrapping exactly one of the above (the kernel's
  ``typedef struct { DECLARE_BITMAP(__vma_flags, NUM_VMA_FLAG_BITS); } vma_flags_t;``);
- typedefs of any of these.

Bit numbering follows the kernel bitops (include/asm-generic/bitops/
generic-non-atomic.h: ``BIT_WORD(nr) = nr / BITS_PER_LONG``, ``BIT_MASK(nr) =
1UL << (nr % BITS_PER_LONG)``) with the word being the array element; for a
scalar ``u64`` the whole value is the word (``flags & (1ULL << nr)``).

The single-copy-atomic unit is the smaller of the word and the largest plain
access the CPU does in one go (profile ``atomicity.single_copy_atomic_bytes``):
a ``u64`` on a 32-bit CPU is read as two 32-bit loads (docs/profiles.md,
``single_copy_atomic_bytes``: 4 on 32-bit CPUs).  Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from .errors import LayoutError
from .profiles import Profile

_INT_SIZES = (1, 2, 4, 8, 16)


def strip_typedefs(t: Any) -> Any:
    seen = 0
    while getattr(t, "kind", None) == "typedef" and getattr(t, "element", None) is not None and seen < 64:
        t = t.element
        seen += 1
    return t


def _is_integer(t: Any) -> bool:
    t = strip_typedefs(t)
    if t.kind == "enum":
        return True
    if t.kind != "scalar":
        return False
    c = (getattr(t, "c_type", "") or "").replace("const", "").replace("volatile", "")
    return not any(w in c.split() for w in ("float", "double")) and t.size_bytes in _INT_SIZES


def word_shape(type_layout: Any, name: str = "") -> tuple[int, int]:
    """(word_bytes, nwords) of a bitmap-ish type; LayoutError for anything else."""
    label = name or getattr(type_layout, "name", "?")
    t = strip_typedefs(type_layout)
    if t.kind in ("scalar", "enum"):
        if not _is_integer(t):
            raise LayoutError(f"{label!r} is a {t.c_type or t.kind}, not an integer bitmap type")
        return t.size_bytes, 1
    if t.kind == "array":
        elem = strip_typedefs(t.element)
        if elem is None or not _is_integer(elem):
            raise LayoutError(f"{label!r} is an array of non-integers, not a bitmap type")
        if not t.count:
            raise LayoutError(f"{label!r} is an array of unknown or zero length")
        return elem.size_bytes, t.count
    if t.kind in ("struct", "union"):
        members = [m for m in t.members if not getattr(m, "bitfield", False)]
        if len(members) != 1 or members[0].offset_bits != 0:
            raise LayoutError(f"{label!r} wraps {len(t.members)} members; a bitmap struct wraps exactly one array")
        return word_shape(members[0].type, f"{label}.{members[0].name}")
    raise LayoutError(f"{label!r} ({t.kind}) is not a bitmap type")


def geometry_of(type_layout: Any, profile: Profile, name: str = ""):
    """The model's BitmapGeometry for a bitmap-ish C type on one arch."""
    from .bitmap import BitmapGeometry

    word_bytes, nwords = word_shape(type_layout, name)
    atomic = min(word_bytes, profile.atomicity.single_copy_atomic_bytes)
    return BitmapGeometry(word_bytes=word_bytes, nwords=nwords, little_endian=profile.little_endian,
                          atomic_bytes=atomic)


def word_kind(t: Any) -> tuple[str, str]:
    """("scalar" | "array", C type of one word) of a bitmap-ish type: a u32/u64 flags word,
    or an array of words (``unsigned long[N]``, ``DECLARE_BITMAP``) that bitops index."""
    def name(x: Any) -> str:
        # The first typedef name below the type itself ("u32"), else the base type.
        return getattr(x, "c_type", "") or getattr(x, "name", "") or "?"

    u = strip_typedefs(t)
    while u is not None and getattr(u, "kind", "") in ("struct", "union"):
        members = [m for m in u.members if not getattr(m, "bitfield", False)]
        if len(members) != 1:
            break
        u = strip_typedefs(members[0].type)
    if u is None:
        return "array", "unsigned long"
    if getattr(u, "kind", "") == "array":
        return "array", name(strip_typedefs(u.element))
    if getattr(u, "kind", "") in ("scalar", "enum") and u is not strip_typedefs(t):
        return "scalar", name(u)  # a struct wrapping one scalar
    if getattr(u, "kind", "") in ("scalar", "enum"):
        return "scalar", _typedef_name(t) or name(u)
    return "array", "unsigned long"


def _typedef_name(t: Any) -> str:
    """foo_flags_t -> 'u32' when it is a typedef of a typedef; '' otherwise."""
    inner = getattr(t, "element", None) if getattr(t, "kind", "") == "typedef" else None
    if inner is not None and getattr(inner, "kind", "") == "typedef":
        return getattr(inner, "name", "") or ""
    return ""


def is_unsigned_long(c_type: str) -> bool:
    """'unsigned long' / 'long unsigned int' (not 'unsigned long long', not 'u64')."""
    words = c_type.split()
    return words.count("long") == 1 and "unsigned" in words
