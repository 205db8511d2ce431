/* string.h of the freestanding runtime (csrc/freestanding/libc.c). */
#ifndef BL_FS_STRING_H
#define BL_FS_STRING_H

#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif /* BL_FS_STRING_H */
