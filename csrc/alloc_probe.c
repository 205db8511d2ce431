/*
 * alloc_probe.c - see alloc_probe.h.
 */
#include "alloc_probe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BL_ALIGN(x, a) (((x) + (a) - 1) & ~((a) - 1))
/* All objects of one allocator are live at once: cap the total. */
#define BL_ALLOC_MAX_TOTAL (1ull << 28)

static int bl_ctz(uintptr_t p)
{
    return p ? __builtin_ctzll((unsigned long long)p) : (int)(sizeof(uintptr_t) * 8);
}

static int bl_pow2(size_t x) { return x && !(x & (x - 1)); }

/* mm/slab_common.c calculate_alignment() without SLAB_HWCACHE_ALIGN:
 *     align = max(align, ARCH_SLAB_MINALIGN);
 *     return ALIGN(align, sizeof(void *));                                  */
static size_t bl_calculate_alignment(size_t align, size_t slab_minalign)
{
    if (align < slab_minalign)
        align = slab_minalign;
    return BL_ALIGN(align, sizeof(void *));
}

/* include/linux/slab.h __kmalloc_index(): KMALLOC_MIN_SIZE is
 * max(8, ARCH_KMALLOC_MINALIGN); the 96- and 192-byte caches exist only when
 * KMALLOC_MIN_SIZE <= 32 / <= 64; every other class is a power of two. */
static size_t bl_kmalloc_class(size_t size, size_t kmalloc_minalign)
{
    size_t min = kmalloc_minalign > 8 ? kmalloc_minalign : 8, c;
    if (size <= min)
        return min;
    if (min <= 32 && size > 64 && size <= 96)
        return 96;
    if (min <= 64 && size > 128 && size <= 192)
        return 192;
    for (c = min; c < size; c <<= 1)
        ;
    return c;
}

/* Carve `count` objects of object_size from slabs aligned to slab_align (a
 * slab is a page-aligned block, mm/slub.c places object i at i * size) and
 * return the minimum trailing-zero count of their addresses. */
static int bl_carve(size_t object_size, size_t slab_align, size_t page_size, unsigned count)
{
    size_t per_slab, slab_bytes;
    unsigned done = 0, i;
    int bits = (int)(sizeof(uintptr_t) * 8);
    slab_bytes = BL_ALIGN(object_size * 8, page_size);
    per_slab = slab_bytes / object_size;
    while (done < count) {
        char *slab = aligned_alloc(slab_align, slab_bytes);
        if (!slab)
            return -1;
        for (i = 0; i < per_slab && done < count; i++, done++) {
            int b = bl_ctz((uintptr_t)(slab + i * object_size));
            if (b < bits)
                bits = b;
        }
        free(slab);
    }
    return bits;
}

/* The fewest trailing zero bits over `count` live objects from malloc(size)
 * (align == 0) or aligned_alloc(align, size); -1 if an allocation failed.
 * All objects are live at once, so the allocator cannot hand back one lucky,
 * highly aligned block over and over. */
static int bl_live_alloc_bits(void **ptrs, unsigned count, size_t size, size_t align)
{
    unsigned i;
    int bits = (int)(sizeof(uintptr_t) * 8);

    for (i = 0; i < count; i++) {
        /* C11 7.22.3.1: aligned_alloc wants a size that is a multiple of the alignment. */
        ptrs[i] = align ? aligned_alloc(align, BL_ALIGN(size, align)) : malloc(size);
        if (!ptrs[i])
            bits = -1;
        else if (bits >= 0 && bl_ctz((uintptr_t)ptrs[i]) < bits)
            bits = bl_ctz((uintptr_t)ptrs[i]);
    }
    for (i = 0; i < count; i++)
        free(ptrs[i]);
    return bits;
}

int bl_alloc_probe(size_t size, size_t align, unsigned count, size_t slab_minalign,
                   size_t kmalloc_minalign, size_t page_size, struct bl_alloc_result *out)
{
    void **ptrs;
    size_t kalign, ksize;

    memset(out, 0, sizeof *out);
    if (size < 1 || size > (1u << 20) || !bl_pow2(align) || align > 65536 || count < 1 ||
        count > 100000 || !bl_pow2(slab_minalign) || slab_minalign > 4096 ||
        !bl_pow2(kmalloc_minalign) || kmalloc_minalign > 4096 || !bl_pow2(page_size) ||
        page_size < 1024 || page_size > 65536 ||
        (unsigned long long)count * BL_ALIGN(size, align) > BL_ALLOC_MAX_TOTAL)
        return -1;
#ifdef BL_FREESTANDING
    /* No C library in this build (csrc/freestanding): malloc and aligned_alloc
     * are the runtime's mmap-per-object stand-ins, whose alignment says nothing
     * about this arch's libc.  Not observed, rather than observed wrongly. */
    (void)ptrs;
    (void)bl_live_alloc_bits;
    out->malloc_bits = out->aligned_alloc_bits = BL_ALLOC_NOT_OBSERVABLE;
#else
    ptrs = calloc(count, sizeof *ptrs);
    if (!ptrs)
        return -1;

    out->malloc_bits = bl_live_alloc_bits(ptrs, count, size, 0);
    out->aligned_alloc_bits = bl_live_alloc_bits(ptrs, count, size, align);
    free(ptrs);
#endif

    /* kmem_cache_create(name, size, align, 0, NULL): mm/slub.c
     * calculate_sizes() rounds the object to sizeof(void *) then to s->align. */
    out->slab_align = bl_calculate_alignment(align, slab_minalign);
    out->slab_object_size = BL_ALIGN(BL_ALIGN(size, sizeof(void *)), out->slab_align);
    out->slab_bits = bl_carve(out->slab_object_size,
                              out->slab_align > page_size ? out->slab_align : page_size,
                              page_size, count);

    /* kmalloc(size): mm/slab_common.c create_boot_cache(): "kmalloc caches
     * guarantee alignment of at least the largest power-of-two divisor of
     * the size", at least ARCH_KMALLOC_MINALIGN; the guarantee is taken up
     * to PAGE_SIZE (larger requests go to the page allocator). */
    ksize = bl_kmalloc_class(size, kmalloc_minalign);
    kalign = ksize & (0 - ksize);
    if (kalign > page_size)
        kalign = page_size;
    if (kalign < kmalloc_minalign)
        kalign = kmalloc_minalign;
    kalign = bl_calculate_alignment(kalign, slab_minalign);
    out->kmalloc_size = ksize;
    out->kmalloc_align = kalign;
    out->kmalloc_bits = bl_carve(BL_ALIGN(ksize, kalign), kalign > page_size ? kalign : page_size,
                                 page_size, count);
    if (out->malloc_bits == -1 || out->aligned_alloc_bits == -1 || out->slab_bits < 0 ||
        out->kmalloc_bits < 0)
        return -1;
    return 0;
}
