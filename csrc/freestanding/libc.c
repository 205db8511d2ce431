/*
 * libc.c - the few C library functions the shim and driver.c call, for the
 * driver built without libc (-ffreestanding -nostdlib): memory and string
 * functions, a printf subset, stdin/stdout over file descriptors 0 and 1, a
 * mmap-per-object allocator and clock_gettime.  Nothing else: a call to
 * anything missing fails at link time, never at run time.
 *
 * Formatting covers exactly what csrc/ uses: flags '-' '0', a width (digits
 * or '*'), a precision (digits or '*'), lengths hh h l ll z, conversions
 * d i u x X c s p %.  tests/test_freestanding.py checks it against Python's
 * own %-formatting (the C rules) on every case.
 */
#include "sys.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- memory and strings --------------------------------------------------
 * Byte loops with an empty asm in the body: otherwise GCC may turn the loop
 * inside memset into a call to memset (-ftree-loop-distribute-patterns). */

#define BL_NO_IDIOM() __asm__ __volatile__("" ::: "memory")

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--) {
        *p++ = (unsigned char)c;
        BL_NO_IDIOM();
    }
    return d;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) {
        *p++ = *q++;
        BL_NO_IDIOM();
    }
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p == q || n == 0)
        return d;
    if (p < q) {
        while (n--) {
            *p++ = *q++;
            BL_NO_IDIOM();
        }
    } else {
        while (n--) {
            p[n] = q[n];
            BL_NO_IDIOM();
        }
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

/* ---- formatting ---------------------------------------------------------- */

struct bl_file {
    int fd;
};

/* Where formatted characters go: a bounded buffer (snprintf) or stdout. */
struct bl_sink {
    char *buf;
    size_t size, len;   /* len counts every character, also those past size */
    FILE *file;
};

static void bl_emit(struct bl_sink *s, char c)
{
    if (s->file)
        fputc((unsigned char)c, s->file);
    else if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

static void bl_emit_pad(struct bl_sink *s, char c, int n)
{
    while (n-- > 0)
        bl_emit(s, c);
}

struct bl_spec {
    int left, zero, width, prec; /* prec < 0: none */
};

/* digits (most significant first) into tmp; returns their count */
static int bl_digits(char *tmp, unsigned long long v, unsigned base, int upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    int n = 0, i;
    do {
        rev[n++] = set[v % base];
        v /= base;
    } while (v);
    for (i = 0; i < n; i++)
        tmp[i] = rev[n - 1 - i];
    return n;
}

static void bl_emit_int(struct bl_sink *s, const struct bl_spec *sp, unsigned long long v, int negative,
                        unsigned base, int upper)
{
    char digits[24];
    int n, zeros = 0, body, i;
    if (sp->prec == 0 && v == 0)
        n = 0; /* C: precision 0 prints no digits for 0 */
    else
        n = bl_digits(digits, v, base, upper);
    if (sp->prec > n)
        zeros = sp->prec - n;
    body = negative + zeros + n;
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > body) {
        zeros += sp->width - body; /* the sign comes before zero padding */
        body = sp->width;
    }
    if (!sp->left)
        bl_emit_pad(s, ' ', sp->width - body);
    if (negative)
        bl_emit(s, '-');
    bl_emit_pad(s, '0', zeros);
    for (i = 0; i < n; i++)
        bl_emit(s, digits[i]);
    if (sp->left)
        bl_emit_pad(s, ' ', sp->width - body);
}

static void bl_emit_str(struct bl_sink *s, const struct bl_spec *sp, const char *str)
{
    size_t n = 0;
    if (!str)
        str = "(null)";
    while (str[n] && (sp->prec < 0 || n < (size_t)sp->prec))
        n++;
    if (!sp->left)
        bl_emit_pad(s, ' ', sp->width - (int)n);
    for (size_t i = 0; i < n; i++)
        bl_emit(s, str[i]);
    if (sp->left)
        bl_emit_pad(s, ' ', sp->width - (int)n);
}

static void bl_format(struct bl_sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        struct bl_spec sp = {0, 0, 0, -1};
        int lng = 0; /* -2 hh, -1 h, 0 int, 1 l, 2 ll, 3 z */
        if (*fmt != '%') {
            bl_emit(s, *fmt);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = 1;
            else if (*fmt == '0')
                sp.zero = 1;
            else
                break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = 1;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                sp.prec = va_arg(ap, int);
                if (sp.prec < 0)
                    sp.prec = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.prec = sp.prec * 10 + (*fmt++ - '0');
            }
        }
        if (*fmt == 'h') {
            lng = -1;
            if (*++fmt == 'h') {
                lng = -2;
                fmt++;
            }
        } else if (*fmt == 'l') {
            lng = 1;
            if (*++fmt == 'l') {
                lng = 2;
                fmt++;
            }
        } else if (*fmt == 'z') {
            lng = 3;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = lng == 2 ? va_arg(ap, long long)
                        : lng == 1 ? va_arg(ap, long)
                        : lng == 3 ? (long long)va_arg(ap, size_t)
                                   : va_arg(ap, int);
            if (lng == -1)
                v = (short)v;
            else if (lng == -2)
                v = (signed char)v;
            /* 0 - (unsigned)v is |v| even for the most negative value */
            bl_emit_int(s, &sp, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0, 10, 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = lng == 2 ? va_arg(ap, unsigned long long)
                                 : lng == 1 ? va_arg(ap, unsigned long)
                                 : lng == 3 ? va_arg(ap, size_t)
                                            : va_arg(ap, unsigned int);
            if (lng == -1)
                v = (unsigned short)v;
            else if (lng == -2)
                v = (unsigned char)v;
            bl_emit_int(s, &sp, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            break;
        }
        case 'p': {
            struct bl_spec hex = {sp.left, 0, sp.width > 2 ? sp.width - 2 : 0, -1};
            bl_emit(s, '0');
            bl_emit(s, 'x');
            bl_emit_int(s, &hex, (uintptr_t)va_arg(ap, void *), 0, 16, 0);
            break;
        }
        case 'c': {
            char c[2] = {(char)va_arg(ap, int), 0};
            sp.prec = 1;
            if (c[0])
                bl_emit_str(s, &sp, c);
            else { /* a NUL character still counts */
                if (!sp.left)
                    bl_emit_pad(s, ' ', sp.width - 1);
                bl_emit(s, 0);
                if (sp.left)
                    bl_emit_pad(s, ' ', sp.width - 1);
            }
            break;
        }
        case 's':
            bl_emit_str(s, &sp, va_arg(ap, const char *));
            break;
        case '%':
            bl_emit(s, '%');
            break;
        default: /* not a conversion this runtime knows: print it as written */
            bl_emit(s, '%');
            if (!*fmt)
                return;
            bl_emit(s, *fmt);
        }
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct bl_sink s = {buf, size, 0, NULL};
    bl_format(&s, fmt, ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = 0;
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- stdin / stdout ------------------------------------------------------ */

static struct bl_file bl_stdin_file = {0}, bl_stdout_file = {1};
FILE *const stdin = &bl_stdin_file;
FILE *const stdout = &bl_stdout_file;

static char bl_out_buf[8192];
static size_t bl_out_len;
static unsigned char bl_in_buf[8192];
static size_t bl_in_pos, bl_in_len;
static int bl_in_eof;

int fflush(FILE *f)
{
    size_t done = 0;
    if (f != stdout)
        return 0;
    while (done < bl_out_len) {
        long n = bl_sys_write(1, bl_out_buf + done, bl_out_len - done);
        if (n == -BL_EINTR)
            continue;
        if (n <= 0) {
            bl_out_len = 0;
            return EOF;
        }
        done += (size_t)n;
    }
    bl_out_len = 0;
    return 0;
}

int fputc(int c, FILE *f)
{
    if (f != stdout)
        return EOF;
    if (bl_out_len == sizeof bl_out_buf && fflush(stdout))
        return EOF;
    bl_out_buf[bl_out_len++] = (char)c;
    return (unsigned char)c;
}

int fputs(const char *str, FILE *f)
{
    for (; *str; str++)
        if (fputc((unsigned char)*str, f) == EOF)
            return EOF;
    return 0;
}

int printf(const char *fmt, ...)
{
    struct bl_sink s = {NULL, 0, 0, stdout};
    va_list ap;
    va_start(ap, fmt);
    bl_format(&s, fmt, ap);
    va_end(ap);
    return (int)s.len;
}

int getchar(void)
{
    while (bl_in_pos == bl_in_len) {
        long n;
        if (bl_in_eof)
            return EOF;
        n = bl_sys_read(0, bl_in_buf, sizeof bl_in_buf);
        if (n == -BL_EINTR)
            continue;
        if (n <= 0) {
            bl_in_eof = 1;
            return EOF;
        }
        bl_in_pos = 0;
        bl_in_len = (size_t)n;
    }
    return bl_in_buf[bl_in_pos++];
}

char *fgets(char *buf, int size, FILE *f)
{
    int n = 0, c;
    if (f != stdin || size < 1)
        return NULL;
    while (n < size - 1 && (c = getchar()) != EOF) {
        buf[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0 && size > 1)
        return NULL;
    buf[n] = 0;
    return buf;
}

/* ---- allocation -----------------------------------------------------------
 * Every object is its own private anonymous mapping, with its mapping's base
 * and length stored just below the pointer handed out.  Slow per call, but
 * the shim keeps only a few buffers per request, and free returns all of it. */

struct bl_block {
    void *base;
    size_t len;
};

#define BL_MAP_ALIGN 4096u /* mmap results are at least this aligned on every arch here */

void *aligned_alloc(size_t align, size_t size)
{
    size_t head, len;
    char *base, *p;
    if (align < sizeof(struct bl_block))
        align = sizeof(struct bl_block);
    if (align & (align - 1))
        return NULL;
    head = align > BL_MAP_ALIGN ? align - 1 + sizeof(struct bl_block) : align;
    if (size > (size_t)-1 / 2 - head)
        return NULL;
    len = head + size;
    base = bl_sys_mmap_anon(len, 0);
    if (!base)
        return NULL;
    p = (char *)(((uintptr_t)base + sizeof(struct bl_block) + align - 1) & ~(uintptr_t)(align - 1));
    ((struct bl_block *)p)[-1].base = base;
    ((struct bl_block *)p)[-1].len = len;
    return p;
}

void *malloc(size_t size) { return aligned_alloc(16, size); }

void *calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return NULL;
    return malloc(n * size); /* fresh anonymous mappings are zero-filled */
}

void free(void *p)
{
    if (p)
        bl_sys_munmap(((struct bl_block *)p)[-1].base, ((struct bl_block *)p)[-1].len);
}

/* ---- time ---------------------------------------------------------------- */

int clock_gettime(int clock, struct timespec *ts)
{
    return bl_sys_clock_gettime(clock, ts) < 0 ? -1 : 0;
}

/* libgcc's division-by-zero hooks (ARM EABI __aeabi_idiv0/__aeabi_ldiv0) call raise(SIGFPE):
 * with no signals here, a division by zero ends the driver with the shell's 128 + signal. */
int raise(int sig)
{
    bl_sys_exit_group(128 + sig);
}

/* AArch64 libgcc's outline atomics (lse-init.o, linked by gcc's -moutline-atomics default) ask
 * glibc's __getauxval whether the CPU has LSE.  No auxiliary vector is read here: 0 says "no
 * LSE", and its constructor never runs anyway (no init_array without libc), so the helpers
 * take their load/store-exclusive path, which every AArch64 CPU has. */
unsigned long __getauxval(unsigned long type);

unsigned long __getauxval(unsigned long type)
{
    (void)type;
    return 0;
}
