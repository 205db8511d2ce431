/*
 * tagging.c - pointer tag/untag/test/set/clear under a mask derived from the
 * pointee's guaranteed alignment; see tagging.h.
 */
#include "tagging.h"

uintptr_t bl_tag_mask(uintptr_t align_bytes) { return align_bytes ? align_bytes - 1 : 0; }
uintptr_t bl_tag_ptr(uintptr_t ptr, uintptr_t tag, uintptr_t mask) { return (ptr & ~mask) | (tag & mask); }
uintptr_t bl_untag_ptr(uintptr_t word, uintptr_t mask) { return word & ~mask; }
uintptr_t bl_ptr_tag(uintptr_t word, uintptr_t mask) { return word & mask; }
int bl_ptr_test_tag(uintptr_t word, uintptr_t bits) { return (word & bits) == bits; }
uintptr_t bl_ptr_set_tag(uintptr_t word, uintptr_t bits) { return word | bits; }
uintptr_t bl_ptr_clear_tag(uintptr_t word, uintptr_t bits) { return word & ~bits; }

uintptr_t bl_ptr_load(const uintptr_t *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

void bl_atomic_ptr_set_tag(uintptr_t *word, uintptr_t bits)
{
    __atomic_fetch_or(word, bits, __ATOMIC_SEQ_CST);
}
void bl_atomic_ptr_clear_tag(uintptr_t *word, uintptr_t bits)
{
    __atomic_fetch_and(word, ~bits, __ATOMIC_SEQ_CST);
}
/* Relaxed load + relaxed store: the instruction sequence of `p->w |= bits`
 * without a C data race, so the compiler cannot fuse or hoist it. */
void bl_nonatomic_ptr_set_tag(uintptr_t *word, uintptr_t bits)
{
    uintptr_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
    __atomic_store_n(word, v | bits, __ATOMIC_RELAXED);
}
void bl_nonatomic_ptr_clear_tag(uintptr_t *word, uintptr_t bits)
{
    uintptr_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
    __atomic_store_n(word, v & ~bits, __ATOMIC_RELAXED);
}
