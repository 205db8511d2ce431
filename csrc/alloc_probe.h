/*
 * alloc_probe.h - how many low address bits are really zero in objects
 * handed out by malloc, aligned_alloc, a slab-like allocator and a
 * kmalloc-like allocator (the last two reproduce mm/slab_common.c with the
 * arch's ARCH_SLAB_MINALIGN / ARCH_KMALLOC_MINALIGN passed in).
 */
#ifndef BL_ALLOC_PROBE_H
#define BL_ALLOC_PROBE_H

#include <stddef.h>

/* malloc_bits / aligned_alloc_bits in the driver built without libc
 * (BL_FREESTANDING): its allocator is a stand-in, not the C library's. */
#define BL_ALLOC_NOT_OBSERVABLE (-2)

struct bl_alloc_result {
    int malloc_bits;         /* min trailing zeros over `count` malloc(size) results */
    int aligned_alloc_bits;  /* ... over aligned_alloc(align, ALIGN(size, align)) */
    int slab_bits;           /* ... over objects carved like kmem_cache_create(size, align) */
    int kmalloc_bits;        /* ... over objects carved like kmalloc(size) */
    unsigned long slab_align;     /* calculate_alignment(0, align, size) */
    unsigned long slab_object_size;
    unsigned long kmalloc_size;   /* the kmalloc size class */
    unsigned long kmalloc_align;
};

int bl_alloc_probe(size_t size, size_t align, unsigned count, size_t slab_minalign,
                   size_t kmalloc_minalign, size_t page_size, struct bl_alloc_result *out);

#endif /* BL_ALLOC_PROBE_H */
