/*
 * bitops.c - instantiates bitops_impl.h once per word width (see bitops.h).
 */
#include "bitops.h"

#include "workers.h"

#include <string.h>

/* Widths without lock-free atomics take bl_fallback_lock() (workers.h): one
 * lock for all of them, held across threads or worker processes. */

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

int bl_atomic_is_lockfree(int word_bits)
{
    switch (word_bits) {
    case 8: return BL_LOCKFREE_8;
    case 16: return BL_LOCKFREE_16;
    case 32: return BL_LOCKFREE_32;
    case 64: return BL_LOCKFREE_64;
    default: return 0;
    }
}

int bl_default_word_bits(void) { return BL_WORD_BITS; }

#define BL_W 8
#define BL_T bl_w8_t
#define BL_LOCKFREE BL_LOCKFREE_8
#include "bitops_impl.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 16
#define BL_T bl_w16_t
#define BL_LOCKFREE BL_LOCKFREE_16
#include "bitops_impl.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 32
#define BL_T bl_w32_t
#define BL_LOCKFREE BL_LOCKFREE_32
#include "bitops_impl.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE

#define BL_W 64
#define BL_T bl_w64_t
#define BL_LOCKFREE BL_LOCKFREE_64
#include "bitops_impl.h"
#undef BL_W
#undef BL_T
#undef BL_LOCKFREE
