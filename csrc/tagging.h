/*
 * tagging.h - low-bit pointer tagging (the "steal low bits of vma->anon_vma"
 * idea): a pointer to an object aligned to A bytes has log2(A) low bits that
 * are zero, and code may keep flags there.  mask = A - 1.
 */
#ifndef BL_TAGGING_H
#define BL_TAGGING_H

#include <stdint.h>

uintptr_t bl_tag_mask(uintptr_t align_bytes);
uintptr_t bl_tag_ptr(uintptr_t ptr, uintptr_t tag, uintptr_t mask);
uintptr_t bl_untag_ptr(uintptr_t word, uintptr_t mask);
uintptr_t bl_ptr_tag(uintptr_t word, uintptr_t mask);
int bl_ptr_test_tag(uintptr_t word, uintptr_t bits);
uintptr_t bl_ptr_set_tag(uintptr_t word, uintptr_t bits);
uintptr_t bl_ptr_clear_tag(uintptr_t word, uintptr_t bits);

/* Read-modify-write of a shared pointer word: atomic (fetch_or / fetch_and)
 * or as plain code does it (load, modify, store: a racing update is lost). */
void bl_atomic_ptr_set_tag(uintptr_t *word, uintptr_t bits);
void bl_atomic_ptr_clear_tag(uintptr_t *word, uintptr_t bits);
void bl_nonatomic_ptr_set_tag(uintptr_t *word, uintptr_t bits);
void bl_nonatomic_ptr_clear_tag(uintptr_t *word, uintptr_t bits);
uintptr_t bl_ptr_load(const uintptr_t *word);

#endif /* BL_TAGGING_H */
