/*
 * stdlib.h of the freestanding runtime (csrc/freestanding/libc.c).  The
 * allocator maps every object on its own (mmap): enough for the probes'
 * few live buffers, and never mistaken for a C library's malloc
 * (alloc_probe.c reports malloc as not observable in this build).
 */
#ifndef BL_FS_STDLIB_H
#define BL_FS_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *aligned_alloc(size_t align, size_t size);
void free(void *p);

#endif /* BL_FS_STDLIB_H */
