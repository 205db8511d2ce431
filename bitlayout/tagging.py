"""The pointer tag-bit model: how many low bits of a pointer are really free.

Pure Python, no I/O.  A pointer to an object whose address is guaranteed to
be a multiple of A (a power of two) has log2(A) low bits that are always
zero; code may keep tags there (the "steal low bits of vma->anon_vma" idea).
What A is depends on the allocator, not only on the type's ``_Alignof``:

- ``static``: the object's own alignment, ``_Alignof(T)`` (the profile's
  C11 alignment; ``__alignof__`` may be larger, but only ``_Alignof`` is
  guaranteed inside a struct or array).
- ``slab``: ``kmem_cache_create(name, size, align, ...)`` with the KMEM_CACHE
  default ``align = __alignof__(T)``; mm/slab_common.c calculate_alignment():
  ``align = max(align, ARCH_SLAB_MINALIGN); ALIGN(align, sizeof(void *))``.
- ``kmalloc``: size classes 8, 16, 32, 64, 96, 128, 192, 256, ... (the 96 and
  192 caches only when KMALLOC_MIN_SIZE <= 32 / 64, include/linux/slab.h
  __kmalloc_index); "kmalloc caches guarantee alignment of at least the
  largest power-of-two divisor of the size" (mm/slab_common.c
  create_boot_cache, Documentation/core-api/memory-allocation.rst), at least
  ARCH_KMALLOC_MINALIGN; counted here up to PAGE_SIZE.
- ``malloc``: the C library's guarantee (the profile's libc_malloc_align;
  glibc 2 * sizeof(size_t) or 16, musl 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .bitmap import Hazard
from .errors import UsageError

ALLOCATORS = ("slab", "kmalloc", "malloc", "static")
DEFAULT_PAGE_BYTES = 4096


def _pow2(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise UsageError(f"{name} {value!r} must be a positive power of two")
    return value


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} {value!r} must be a positive integer")
    return value


def align_up(x: int, a: int) -> int:
    """The kernel's ALIGN(x, a) for a power-of-two a."""
    return (x + a - 1) & ~(a - 1)


def log2(a: int) -> int:
    return a.bit_length() - 1


def calculate_alignment(align: int, slab_minalign: int, pointer_bytes: int) -> int:
    """mm/slab_common.c calculate_alignment() without SLAB_HWCACHE_ALIGN."""
    return align_up(max(align, slab_minalign), pointer_bytes)


def slab_object_size(size: int, align: int, pointer_bytes: int) -> int:
    """mm/slub.c calculate_sizes(): ALIGN(size, sizeof(void *)), then ALIGN(.., s->align)."""
    return align_up(align_up(size, pointer_bytes), align)


def kmalloc_size_class(size: int, kmalloc_minalign: int) -> int:
    """include/linux/slab.h __kmalloc_index(): the cache a kmalloc(size) comes from."""
    _positive("kmalloc size", size)
    low = max(8, kmalloc_minalign)  # KMALLOC_MIN_SIZE
    if size <= low:
        return low
    if low <= 32 and 64 < size <= 96:
        return 96
    if low <= 64 and 128 < size <= 192:
        return 192
    c = low
    while c < size:
        c <<= 1
    return c


def kmalloc_alignment(size: int, kmalloc_minalign: int, slab_minalign: int, pointer_bytes: int,
                      page_bytes: int = DEFAULT_PAGE_BYTES) -> int:
    cls = kmalloc_size_class(size, kmalloc_minalign)
    align = min(cls & -cls, page_bytes)  # largest power-of-two divisor, up to PAGE_SIZE
    align = max(align, kmalloc_minalign)
    return calculate_alignment(align, slab_minalign, pointer_bytes)


@dataclass(frozen=True)
class TagBits:
    allocator: str
    guaranteed_align_bytes: int
    free_bits: int
    reasoning: tuple[str, ...]

    @property
    def mask(self) -> int:
        return self.guaranteed_align_bytes - 1

    def fits(self, tag_bits: int) -> bool:
        return tag_bits <= self.free_bits


def free_tag_bits(profile: Any, pointee_align_bytes: int, pointee_size_bytes: int, allocator: str,
                  page_bytes: int = DEFAULT_PAGE_BYTES) -> TagBits:
    """The guaranteed alignment of a pointee from this allocator on this arch
    and so the number of low pointer bits free for tags, with the reasoning."""
    align = _pow2("pointee alignment", pointee_align_bytes)
    # Size 0 means "not known": only kmalloc depends on it, and then the
    # smallest size class's guarantee is taken (every class meets it).
    if isinstance(pointee_size_bytes, bool) or not isinstance(pointee_size_bytes, int) or pointee_size_bytes < 0:
        raise UsageError(f"pointee size {pointee_size_bytes!r} must be a non-negative integer")
    size = pointee_size_bytes
    if allocator not in ALLOCATORS:
        raise UsageError(f"allocator {allocator!r} is not one of {', '.join(ALLOCATORS)}")
    al = profile.allocators
    ptr = profile.scalar("pointer").size_bytes
    why: list[str] = []
    if allocator == "static":
        got = align
        why.append(f"a static or embedded object is aligned to _Alignof = {align}")
    elif allocator == "slab":
        got = calculate_alignment(align, al.arch_slab_minalign, ptr)
        why.append(f"kmem_cache_create(align = __alignof__ = {align}); calculate_alignment: "
                   f"max({align}, ARCH_SLAB_MINALIGN {al.arch_slab_minalign}) aligned up to "
                   f"sizeof(void *) {ptr} = {got} (mm/slab_common.c)")
    elif allocator == "kmalloc":
        if size == 0:
            size = max(8, al.arch_kmalloc_minalign)
            why.append(f"pointee size unknown: taking the smallest kmalloc class ({size}), "
                       "whose alignment every class meets")
        cls = kmalloc_size_class(size, al.arch_kmalloc_minalign)
        got = kmalloc_alignment(size, al.arch_kmalloc_minalign, al.arch_slab_minalign, ptr, page_bytes)
        why.append(f"kmalloc({size}) comes from kmalloc-{cls}, aligned to the largest power-of-two "
                   f"divisor of {cls} (up to PAGE_SIZE {page_bytes}), at least ARCH_KMALLOC_MINALIGN "
                   f"{al.arch_kmalloc_minalign}: {got} (mm/slab_common.c create_boot_cache)")
    else:
        got = al.libc_malloc_align
        why.append(f"malloc guarantees the C library's alignment {got}")
    if allocator != "static" and got < align:
        why.append(f"WARNING: the allocator guarantees {got} < _Alignof {align}: the object is misaligned")
    bits = log2(got)
    why.append(f"{bits} low bit{'s' if bits != 1 else ''} free (mask {got - 1:#x})")
    return TagBits(allocator, got, bits, tuple(why))


def predict_alloc(size: int, align: int, slab_minalign: int, kmalloc_minalign: int, pointer_bytes: int,
                  page_bytes: int = DEFAULT_PAGE_BYTES) -> dict[str, int]:
    """The exact numbers the shim's alloc probe computes (slab/kmalloc alignment
    and sizes); its observed trailing-zero counts must be at least log2 of them."""
    slab_align = calculate_alignment(align, slab_minalign, pointer_bytes)
    return {
        "slab_align": slab_align,
        "slab_object_size": slab_object_size(size, slab_align, pointer_bytes),
        "kmalloc_size": kmalloc_size_class(size, kmalloc_minalign),
        "kmalloc_align": kmalloc_alignment(size, kmalloc_minalign, slab_minalign, pointer_bytes, page_bytes),
    }


# Pure tag arithmetic, mirroring csrc/tagging.c.

def tag_mask(align_bytes: int) -> int:
    return _pow2("alignment", align_bytes) - 1


def tag_ptr(ptr: int, tag: int, mask: int) -> int:
    return (ptr & ~mask) | (tag & mask)


def untag_ptr(word: int, mask: int) -> int:
    return word & ~mask


def predict_lost_tag(atomic: bool, threads: int) -> Hazard:
    """Threads each setting and clearing their own tag bit on one pointer word."""
    if threads < 2:
        return Hazard(False, "a single thread races with no one")
    if atomic:
        return Hazard(False, "the tag update is one atomic read-modify-write of the pointer word")
    return Hazard(True, "a plain load, or, store of the pointer word: another thread's store of a "
                        "stale copy drops this thread's tag")
