/*
 * bitops.h - kernel-semantics bitops over words of a chosen width.
 *
 * The shim mirrors the kernel's generic bitops so that their memory effect
 * can be observed on any CPU:
 *   include/asm-generic/bitops/atomic.h         set_bit, clear_bit, change_bit,
 *                                               test_and_{set,clear,change}_bit
 *   include/asm-generic/bitops/generic-non-atomic.h
 *                                               __set_bit & co, generic_test_bit
 *   include/linux/bits.h, include/linux/bitops.h BIT_WORD, BIT_MASK, BITS_TO_LONGS
 *   include/linux/bitmap.h, lib/bitmap.c, lib/find_bit.c
 *                                               bitmap_*, find_*_bit, bitmap_{to,from}_arr{32,64}
 *
 * Every function exists once per word width (8, 16, 32, 64 bits), with the
 * suffix _w8, _w16, _w32, _w64, so that one binary (the driver) and one cffi
 * module (the host backend) behave like every BITS_PER_LONG.  The variant
 * whose width equals sizeof(unsigned long) uses `unsigned long` itself.
 * BL_WORD_BITS (-DBL_WORD_BITS=8|16|32|64) picks the default width of the
 * probe executor; it defaults to the width of `unsigned long`.
 *
 * C reserves leading double underscores, so the kernel's __set_bit is
 * bl_nonatomic_set_bit_wN here.
 *
 * Atomic read-modify-writes use word-sized __atomic builtins where the
 * compiler says they are always lock-free; otherwise (a 64-bit word on most
 * 32-bit CPUs, bytes on CPUs without sub-word atomics) they fall back to one
 * lock shared by every stress worker (workers.h), the way lib/atomic64.c
 * (GENERIC_ATOMIC64) falls back to hashed spinlocks.  bl_atomic_is_lockfree(bits) says which one was built.
 */
#ifndef BL_BITOPS_H
#define BL_BITOPS_H

#include <stddef.h>
#include <stdint.h>

#include "workers.h"

#ifndef BL_WORD_BITS
#define BL_WORD_BITS (__SIZEOF_LONG__ * 8)
#endif
#if BL_WORD_BITS != 8 && BL_WORD_BITS != 16 && BL_WORD_BITS != 32 && BL_WORD_BITS != 64
#error "BL_WORD_BITS must be 8, 16, 32 or 64"
#endif

/* Word types per width: `unsigned long` for the width it has on this target. */
typedef uint8_t bl_w8_t;
typedef uint16_t bl_w16_t;
#if __SIZEOF_LONG__ == 4
typedef unsigned long bl_w32_t;
/* Naturally aligned even where long long is 4-aligned (i386, m68k 2): every
 * bitmap under test lives in a 64-byte aligned buffer, and the atomics must
 * not take the misaligned (library call) path. */
typedef unsigned long long __attribute__((aligned(8))) bl_w64_t;
#else
typedef uint32_t bl_w32_t;
typedef unsigned long bl_w64_t;
#endif

/* include/linux/bits.h, include/linux/bitops.h, for a word of W bits. */
#define BL_BIT_WORD(nr, W) ((nr) / (W))
#define BL_BITS_TO_WORDS(nbits, W) (((nbits) + (W) - 1) / (W))

/* Guard words on each side of every bitmap under test (see probes.c). */
#define BL_GUARD_WORDS 8
/* Largest bitmap a probe accepts, in words. */
#define BL_MAX_WORDS 64

int bl_atomic_is_lockfree(int word_bits);
int bl_default_word_bits(void);

#define BL_DECLARE_VARIANT(W)                                                              \
    unsigned long bl_find_first_bit_w##W(const bl_w##W##_t *addr, unsigned long size);     \
    unsigned long bl_find_first_zero_bit_w##W(const bl_w##W##_t *addr, unsigned long size); \
    unsigned long bl_find_next_bit_w##W(const bl_w##W##_t *addr, unsigned long size,       \
                                        unsigned long offset);                             \
    unsigned long bl_find_next_zero_bit_w##W(const bl_w##W##_t *addr, unsigned long size,  \
                                             unsigned long offset);                        \
    void bl_bitmap_zero_w##W(bl_w##W##_t *dst, unsigned int nbits);                        \
    void bl_bitmap_fill_w##W(bl_w##W##_t *dst, unsigned int nbits);                        \
    void bl_bitmap_copy_w##W(bl_w##W##_t *dst, const bl_w##W##_t *src, unsigned int nbits); \
    int bl_bitmap_and_w##W(bl_w##W##_t *dst, const bl_w##W##_t *a, const bl_w##W##_t *b,   \
                           unsigned int nbits);                                            \
    void bl_bitmap_or_w##W(bl_w##W##_t *dst, const bl_w##W##_t *a, const bl_w##W##_t *b,   \
                           unsigned int nbits);                                            \
    int bl_bitmap_andnot_w##W(bl_w##W##_t *dst, const bl_w##W##_t *a,                      \
                              const bl_w##W##_t *b, unsigned int nbits);                   \
    int bl_bitmap_intersects_w##W(const bl_w##W##_t *a, const bl_w##W##_t *b,              \
                                  unsigned int nbits);                                     \
    int bl_bitmap_subset_w##W(const bl_w##W##_t *a, const bl_w##W##_t *b,                  \
                              unsigned int nbits);                                         \
    unsigned int bl_bitmap_weight_w##W(const bl_w##W##_t *src, unsigned int nbits);        \
    void bl_bitmap_to_arr64_w##W(uint64_t *buf, const bl_w##W##_t *bitmap,                 \
                                 unsigned int nbits);                                      \
    void bl_bitmap_from_arr64_w##W(bl_w##W##_t *bitmap, const uint64_t *buf,               \
                                   unsigned int nbits);                                    \
    void bl_bitmap_to_arr32_w##W(uint32_t *buf, const bl_w##W##_t *bitmap,                 \
                                 unsigned int nbits);                                      \
    void bl_bitmap_from_arr32_w##W(bl_w##W##_t *bitmap, const uint32_t *buf,               \
                                   unsigned int nbits);                                    \
    void bl_naive_u64_view_w##W(uint64_t *buf, const bl_w##W##_t *bitmap, size_t nu64);    \
    void bl_naive_u32_view_w##W(uint32_t *buf, const bl_w##W##_t *bitmap, size_t nu32);

/* The single-word bitops, inline per width (bitops_word.h).  Widths without
 * lock-free atomics take bl_fallback_lock() (workers.h): one lock for all of
 * them, held across threads or worker processes. */

#if defined(__GCC_ATOMIC_CHAR_LOCK_FREE) && __GCC_ATOMIC_CHAR_LOCK_FREE == 2
#define BL_LOCKFREE_8 1
#else
#define BL_LOCKFREE_8 0
#endif
#if defined(__GCC_ATOMIC_SHORT_LOCK_FREE) && __GCC_ATOMIC_SHORT_LOCK_FREE == 2
#define BL_LOCKFREE_16 1
#else
#define BL_LOCKFREE_16 0
#endif
#if defined(__GCC_ATOMIC_INT_LOCK_FREE) && __GCC_ATOMIC_INT_LOCK_FREE == 2
#define BL_LOCKFREE_32 1
#else
#define BL_LOCKFREE_32 0
#endif
#if defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
#define BL_LOCKFREE_64 1
#else
#define BL_LOCKFREE_64 0
#endif

#define BL_W 8
#define BL_T bl_w8_t
#define BL_LOCKFREE BL_LOCKFREE_8
#include "bitops_word.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 16
#define BL_T bl_w16_t
#define BL_LOCKFREE BL_LOCKFREE_16
#include "bitops_word.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 32
#define BL_T bl_w32_t
#define BL_LOCKFREE BL_LOCKFREE_32
#include "bitops_word.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 64
#define BL_T bl_w64_t
#define BL_LOCKFREE BL_LOCKFREE_64
#include "bitops_word.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

BL_DECLARE_VARIANT(8)
BL_DECLARE_VARIANT(16)
BL_DECLARE_VARIANT(32)
BL_DECLARE_VARIANT(64)

#endif /* BL_BITOPS_H */
