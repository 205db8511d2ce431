/*
 * bitops.c - instantiates bitops_impl.h (the bitmap-wide bitops) once per word
 * width (see bitops.h).
 */
#include "bitops.h"

#include <string.h>

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
#include "bitops_impl.h"
#undef BL_W
#undef BL_T

#define BL_W 16
#define BL_T bl_w16_t
#include "bitops_impl.h"
#undef BL_W
#undef BL_T

#define BL_W 32
#define BL_T bl_w32_t
#include "bitops_impl.h"
#undef BL_W
#undef BL_T

#define BL_W 64
#define BL_T bl_w64_t
#include "bitops_impl.h"
#undef BL_W
#undef BL_T
