/*
 * stdio.h of the freestanding runtime (csrc/freestanding/libc.c): only what
 * the shim and driver.c call.  stdin and stdout are file descriptors 0 and
 * 1, stdout is buffered until fflush; there is no FILE beyond these two.
 */
#ifndef BL_FS_STDIO_H
#define BL_FS_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

typedef struct bl_file FILE;
extern FILE *const stdin;
extern FILE *const stdout;

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fputs(const char *s, FILE *f);
int fputc(int c, FILE *f);
int fflush(FILE *f);
char *fgets(char *buf, int size, FILE *f);
int getchar(void);

#endif /* BL_FS_STDIO_H */
