"""GCC machine modes of laid-out types, as far as a layout depends on them.

A type's mode (gcc/stor-layout.cc: ``compute_record_mode``, ``mode_for_array``, ``layout_type``)
is invisible in C, but two target macros read it:

- i386's ``x86_field_alignment`` caps a member at 4 bytes when its mode is an integer, DFmode or
  DCmode one (records and arrays included);
- on a ``STRICT_ALIGNMENT`` target (alpha, arm, mips, parisc, riscv64, sh, sparc64),
  ``finalize_type_size`` gives an array or record whose mode is not BLKmode the mode's
  alignment, and clears its TYPE_USER_ALIGN when that alignment is at least the type's own.
  ``struct { int a, b; } __attribute__((aligned(8)))`` on mips is then no longer user-aligned,
  and a struct holding it next to a 32-byte vector has ``_Alignof`` 8 (capped at
  ``__BIGGEST_ALIGNMENT__``), not 32.

Mode classes: "INT" (an integer mode), "DF", "DC" (double and _Complex double), "CINT" (complex
integers), "FLOAT" and "CFLOAT" (any other float or complex float mode), "BLK",
and "ZERO" for a zero-sized type (which ``compute_record_mode`` passes over).
"""

from __future__ import annotations

from dataclasses import dataclass

from .typelayout import TypeLayout

# The classes i386's x86_field_alignment caps.
X86_CAPPED_MODES = ("INT", "DF", "DC", "CINT")


@dataclass(frozen=True)
class Mode:
    cls: str
    size: int = 0
    # BLKmode only because the type is under-aligned for the integer mode of its size
    # (TYPE_NO_FORCE_BLK): a record or array holding it may still get a mode.
    no_force_blk: bool = False

    @property
    def blk(self) -> bool:
        return self.cls in ("BLK", "ZERO")


BLK = Mode("BLK")


class GccModes:
    """Modes as GCC computes them for one target.

    ``strict``: STRICT_ALIGNMENT; ``biggest``: __BIGGEST_ALIGNMENT__ in bytes (GET_MODE_ALIGNMENT
    is a mode's natural alignment capped by it); ``max_int_bytes``: MAX_FIXED_MODE_SIZE in bytes,
    the widest integer mode an aggregate is given (two words: 8 on 32-bit targets, 16 on 64-bit).
    """

    def __init__(self, strict: bool, biggest: int, max_int_bytes: int):
        self.strict = strict
        self.biggest = biggest
        self.int_sizes = tuple(s for s in (1, 2, 4, 8, 16) if s <= max_int_bytes)

    def align(self, mode: Mode) -> int:
        """GET_MODE_ALIGNMENT in bytes: a complex mode's is its part's."""
        natural = mode.size // 2 if mode.cls in ("DC", "CINT", "CFLOAT") else mode.size
        return min(natural, self.biggest)

    def keeps_user_align(self, mode: Mode, type_align: int) -> bool:
        """finalize_type_size: on a STRICT_ALIGNMENT target an aggregate with a mode whose
        alignment is at least its own loses TYPE_USER_ALIGN."""
        return not (self.strict and not mode.blk and self.align(mode) >= type_align)

    def of(self, t: TypeLayout) -> Mode:
        r = t.resolved()
        kind = r.kind
        if kind == "array" and r.count is None:
            return BLK  # no TYPE_SIZE: a record holding a flexible array member is BLKmode
        if r.size_bytes == 0:
            return Mode("ZERO")
        if kind == "atomic" and r.element is not None:
            return self.of(r.element)
        if kind in ("pointer", "enum") or kind == "scalar" and r.integer:
            return Mode("INT", r.size_bytes)
        if kind == "scalar":
            return Mode("DF" if r.canon[1] == "double" else "FLOAT", r.size_bytes)
        if kind == "complex" and r.element is not None:
            part = r.element.resolved()
            if part.integer:
                return Mode("CINT", r.size_bytes)
            return Mode("DC" if part.canon[:2] == ("scalar", "double") else "CFLOAT", r.size_bytes)
        if kind == "vector" and r.element is not None:
            # mode_for_vector: without a vector unit, an integer vector takes the integer mode of
            # its size; a float vector is BLKmode
            return Mode("INT", r.size_bytes) if r.element.resolved().integer and r.size_bytes in self.int_sizes \
                else BLK
        if kind == "array" and r.element is not None:
            return self.array(self.of(r.element), r.element.size_bytes, r.size_bytes, r.gnu_align_bytes)
        if kind in ("struct", "union"):
            return self.record(kind, r.size_bytes, r.gnu_align_bytes, r.members)
        return BLK

    def array(self, elem: Mode, elem_size: int, size: int, align: int) -> Mode:
        """layout_type for an ARRAY_TYPE (mode_for_array)."""
        if size == 0:
            return Mode("ZERO")
        if elem.blk and not elem.no_force_blk:
            return BLK
        if size == elem_size:
            mode = elem  # a one-element array has its element's mode (BLKmode included)
            if mode.blk:
                return BLK
        else:
            mode = Mode("INT", size) if size in self.int_sizes else BLK
        return self._strict_check(mode, align)

    def record(self, kind: str, size: int, align: int, members) -> Mode:
        """compute_record_mode: BLK when a member is (unless only under-aligned); the mode of a
        member as wide as the whole record (a union only takes an integer one); else the
        integer mode of the record's size, if there is one."""
        whole = None
        for m in members:
            mode = self.of(m.type)
            if mode.cls == "BLK" and not mode.no_force_blk:
                return BLK
            if not mode.blk and m.size_bits == 8 * size and whole is None:
                # (GCC keeps the widest-precision one; only a union has two, and a union takes
                # nothing but an integer mode from them, which its size gives it anyway)
                whole = mode
        if whole is not None and whole.size == size and (kind == "struct" or whole.cls == "INT"):
            mode = whole
        else:
            mode = Mode("INT", size) if size in self.int_sizes else BLK
        return self._strict_check(mode, align)

    def _strict_check(self, mode: Mode, align: int) -> Mode:
        """On a STRICT_ALIGNMENT target a type aligned below both its mode and the biggest
        alignment stays BLKmode, without forcing its containers to be."""
        if self.strict and not mode.blk and align < self.biggest and align < self.align(mode):
            return Mode("BLK", no_force_blk=True)
        return mode
