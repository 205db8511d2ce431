/*
 * probes.c - parse one request line, run the probe, print one JSON object.
 *
 * The request grammar and the response shape are documented at the top of
 * driver.c (and mirrored by bitlayout/probes.py).  Every argument is checked
 * here as well as in Python, because the driver reads untrusted stdin: a bad
 * request gets {"ok": false, "error": ...}, never undefined behaviour.
 * Deliberately out-of-bounds bit numbers are accepted only as far as the
 * guard words reach, so an out-of-bounds access only ever touches guards.
 */
#include "probes.h"

#include "alloc_probe.h"
#include "bitops.h"
#include "stress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BL_MAX_LIST 256

/* Which runtime the shim was linked against (evidence only). */
#ifdef BL_FREESTANDING
#define BL_RUNTIME "freestanding"
#else
#define BL_RUNTIME "libc"
#endif
#define BL_REGION_WORDS (2 * BL_GUARD_WORDS + BL_MAX_WORDS)

/* ---- output ------------------------------------------------------------- */

struct bl_out {
    char *buf;
    size_t cap, len;
    int overflow;
};

static void bl_put(struct bl_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (o->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    o->len += (size_t)n;
}

static void bl_put_hex_bytes(struct bl_out *o, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    bl_put(o, "\"");
    for (i = 0; i < n; i++)
        bl_put(o, "%02x", b[i]);
    bl_put(o, "\"");
}

/* ---- requests ----------------------------------------------------------- */

enum {
    OP_SET, OP_CLEAR, OP_CHANGE, OP_TAS, OP_TAC, OP_TACH,
    OP_NSET, OP_NCLEAR, OP_NCHANGE, OP_NTAS, OP_NTAC, OP_NTACH,
    OP_TEST, OP_ZERO, OP_FILL, OP_COPY, OP_AND, OP_OR, OP_ANDNOT,
    OP_INTERSECTS, OP_SUBSET, OP_WEIGHT, OP_BSET, OP_BCLEAR, OP_COUNT
};

static const char *const bl_op_names[OP_COUNT] = {
    "set", "clear", "change", "test_and_set", "test_and_clear", "test_and_change",
    "nset", "nclear", "nchange", "ntest_and_set", "ntest_and_clear", "ntest_and_change",
    "test", "zero", "fill", "copy", "and", "or", "andnot",
    "intersects", "subset", "weight", "bset", "bclear",
};

#define OP_IS_BULK(op) ((op) >= OP_ZERO && (op) <= OP_WEIGHT)
#define OP_IS_B(op) ((op) == OP_BSET || (op) == OP_BCLEAR)
#define OP_IS_VOID(op) \
    ((op) <= OP_CHANGE || ((op) >= OP_NSET && (op) <= OP_NCHANGE) || \
     ((op) >= OP_ZERO && (op) <= OP_COPY) || (op) == OP_OR || OP_IS_B(op))

struct bl_op {
    int op;
    unsigned long arg;
};

struct bl_list {
    unsigned long v[BL_MAX_LIST];
    unsigned len;
    int set;
};

struct bl_req {
    char probe[32];
    int w;                              /* word bits; 0 = default */
    unsigned long n, nbits, ms, max, events, threads, readers, size, align, count;
    unsigned long slab_minalign, kmalloc_minalign, page;
    unsigned long id; /* the caller's request id, echoed so every answer can be matched to its request */
    int has_id;
    int has_n, has_nbits, has_ms, has_max, has_events, has_threads, has_readers, has_size, has_align;
    int has_count, has_slab_minalign, has_kmalloc_minalign, has_page;
    char mode[16];
    struct bl_list bits, reads, starts;
    struct bl_op ops[BL_MAX_LIST];
    unsigned nops;
    int has_ops;
    char err[200];
};

static int bl_fail(struct bl_req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decimal only, no sign, at most 18 digits: no overflow possible. */
static int bl_parse_ulong(const char *s, size_t len, unsigned long long *v)
{
    size_t i;
    unsigned long long x = 0;
    if (len == 0 || len > 18)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (unsigned long long)(s[i] - '0');
    }
    *v = x;
    return 0;
}

static int bl_parse_list(struct bl_req *r, const char *key, const char *s, size_t len,
                         struct bl_list *l)
{
    size_t i = 0, j;
    unsigned long long v;
    l->len = 0;
    l->set = 1;
    if (len == 0)
        return 0;
    while (i <= len) {
        for (j = i; j < len && s[j] != ','; j++)
            ;
        if (l->len >= BL_MAX_LIST)
            return bl_fail(r, "too many values for %s (max %d)", key, BL_MAX_LIST);
        if (bl_parse_ulong(s + i, j - i, &v) || v > 0xffffffffull)
            return bl_fail(r, "bad value for %s: %.*s", key, (int)(j - i), s + i);
        l->v[l->len++] = (unsigned long)v;
        i = j + 1;
    }
    return 0;
}

static int bl_parse_ops(struct bl_req *r, const char *s, size_t len)
{
    size_t i = 0, j, k;
    int op;
    unsigned long long v;
    r->nops = 0;
    r->has_ops = 1;
    if (len == 0)
        return 0;
    while (i <= len) {
        for (j = i; j < len && s[j] != ','; j++)
            ;
        for (k = i; k < j && s[k] != ':'; k++)
            ;
        if (k == j)
            return bl_fail(r, "bad op (want name:number): %.*s", (int)(j - i), s + i);
        for (op = 0; op < OP_COUNT; op++)
            if (strlen(bl_op_names[op]) == k - i && !memcmp(bl_op_names[op], s + i, k - i))
                break;
        if (op == OP_COUNT)
            return bl_fail(r, "unknown op: %.*s", (int)(k - i), s + i);
        if (bl_parse_ulong(s + k + 1, j - k - 1, &v) || v > 0xffffffffull)
            return bl_fail(r, "bad op argument: %.*s", (int)(j - i), s + i);
        if (r->nops >= BL_MAX_LIST)
            return bl_fail(r, "too many ops (max %d)", BL_MAX_LIST);
        r->ops[r->nops].op = op;
        r->ops[r->nops].arg = (unsigned long)v;
        r->nops++;
        i = j + 1;
    }
    return 0;
}

static int bl_parse_request(const char *line, struct bl_req *r)
{
    const char *p = line, *tok, *eq;
    size_t len, klen, vlen;
    unsigned long long v;

    memset(r, 0, sizeof *r);
    for (tok = line; *tok; tok++)
        if (!((*tok >= 'a' && *tok <= 'z') || (*tok >= '0' && *tok <= '9') || *tok == '_' ||
              *tok == '=' || *tok == ',' || *tok == ':' || *tok == ' ' || *tok == '\t' ||
              *tok == '\r' || *tok == '\n'))
            return bl_fail(r, "bad character in request: 0x%02x", (unsigned char)*tok);

    while (*p == ' ' || *p == '\t')
        p++;
    for (len = 0; p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\r' && p[len] != '\n';
         len++)
        ;
    if (len == 0 || len >= sizeof r->probe)
        return bl_fail(r, "missing or too long probe name");
    memcpy(r->probe, p, len);
    r->probe[len] = 0;
    p += len;

    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        tok = p;
        for (len = 0; p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\r' &&
                      p[len] != '\n';
             len++)
            ;
        p += len;
        eq = memchr(tok, '=', len);
        if (!eq)
            return bl_fail(r, "bad token (want key=value): %.*s", (int)len, tok);
        klen = (size_t)(eq - tok);
        vlen = len - klen - 1;
#define KEY(name) (klen == sizeof(name) - 1 && !memcmp(tok, name, klen))
#define NUM(name, field, flag)                                                              \
    else if (KEY(name)) {                                                                   \
        if (bl_parse_ulong(eq + 1, vlen, &v) || v > 0xffffffffull)                          \
            return bl_fail(r, "bad value for %s: %.*s", name, (int)vlen, eq + 1);          \
        r->field = (unsigned long)v;                                                        \
        r->flag = 1;                                                                        \
    }
        if (KEY("w")) {
            if (bl_parse_ulong(eq + 1, vlen, &v) || (v != 0 && v != 8 && v != 16 && v != 32 && v != 64))
                return bl_fail(r, "bad value for w (want 0, 8, 16, 32 or 64): %.*s", (int)vlen, eq + 1);
            r->w = (int)v;
        }
        NUM("n", n, has_n)
        NUM("nbits", nbits, has_nbits)
        NUM("ms", ms, has_ms)
        NUM("max", max, has_max)
        NUM("events", events, has_events)
        NUM("threads", threads, has_threads)
        NUM("readers", readers, has_readers)
        NUM("size", size, has_size)
        NUM("align", align, has_align)
        NUM("count", count, has_count)
        NUM("slab_minalign", slab_minalign, has_slab_minalign)
        NUM("kmalloc_minalign", kmalloc_minalign, has_kmalloc_minalign)
        NUM("page", page, has_page)
        NUM("id", id, has_id)
        else if (KEY("bits")) {
            if (bl_parse_list(r, "bits", eq + 1, vlen, &r->bits))
                return -1;
        } else if (KEY("reads")) {
            if (bl_parse_list(r, "reads", eq + 1, vlen, &r->reads))
                return -1;
        } else if (KEY("starts")) {
            if (bl_parse_list(r, "starts", eq + 1, vlen, &r->starts))
                return -1;
        } else if (KEY("ops")) {
            if (bl_parse_ops(r, eq + 1, vlen))
                return -1;
        } else if (KEY("mode")) {
            if (vlen == 0 || vlen >= sizeof r->mode)
                return bl_fail(r, "bad value for mode: %.*s", (int)vlen, eq + 1);
            memcpy(r->mode, eq + 1, vlen);
            r->mode[vlen] = 0;
        } else {
            return bl_fail(r, "unknown key: %.*s", (int)klen, tok);
        }
#undef NUM
#undef KEY
    }
    if (r->w == 0)
        r->w = bl_default_word_bits();
    return 0;
}

/* Checks shared by the bitmap probes: n words, bit numbers within the guard
 * region (single-bit ops) or within the bitmap (bits to set, bulk nbits). */
static int bl_check_bitmap(struct bl_req *r, int need_nbits)
{
    unsigned long W = (unsigned long)r->w, i;
    if (!r->has_n || r->n < 1 || r->n > BL_MAX_WORDS)
        return bl_fail(r, "bad value for n (want 1..%d): %lu", BL_MAX_WORDS, r->n);
    for (i = 0; i < r->bits.len; i++)
        if (r->bits.v[i] >= r->n * W)
            return bl_fail(r, "bit %lu is outside the %lu-bit bitmap", r->bits.v[i], r->n * W);
    if (need_nbits && (!r->has_nbits || r->nbits > r->n * W))
        return bl_fail(r, "bad value for nbits (want 0..%lu): %lu", r->n * W, r->nbits);
    return 0;
}

static void bl_put_list_ul(struct bl_out *o, const unsigned long *v, unsigned n)
{
    unsigned i;
    bl_put(o, "[");
    for (i = 0; i < n; i++)
        bl_put(o, "%s%lu", i ? "," : "", v[i]);
    bl_put(o, "]");
}

/* Guard words that differ from their canary: {"side", "index", "bits"}.
 * index counts outward from the bitmap (after: 0 is the word just past the
 * end; before: 0 is the word just before the start). */
static void bl_put_guards(struct bl_out *o, const unsigned long long *diff_before,
                          const unsigned long long *diff_after, int W)
{
    int side, i, b, first = 1, firstbit;
    bl_put(o, "[");
    for (side = 0; side < 2; side++) {
        const unsigned long long *d = side ? diff_after : diff_before;
        for (i = 0; i < BL_GUARD_WORDS; i++) {
            if (!d[i])
                continue;
            bl_put(o, "%s{\"side\":\"%s\",\"index\":%d,\"bits\":[", first ? "" : ",",
                   side ? "after" : "before", i);
            first = 0;
            firstbit = 1;
            for (b = 0; b < W; b++)
                if ((d[i] >> b) & 1) {
                    bl_put(o, "%s%d", firstbit ? "" : ",", b);
                    firstbit = 0;
                }
            bl_put(o, "]}");
        }
    }
    bl_put(o, "]");
}

/* ---- per-width probe bodies ---------------------------------------------- */

#define BL_W 8
#define BL_T bl_w8_t
#include "probes_impl.h"
#undef BL_W
#undef BL_T
#define BL_W 16
#define BL_T bl_w16_t
#include "probes_impl.h"
#undef BL_W
#undef BL_T
#define BL_W 32
#define BL_T bl_w32_t
#include "probes_impl.h"
#undef BL_W
#undef BL_T
#define BL_W 64
#define BL_T bl_w64_t
#include "probes_impl.h"
#undef BL_W
#undef BL_T

#define BL_DISPATCH(fn, r, o)                       \
    ((r)->w == 8    ? fn##_w8(r, o)                 \
     : (r)->w == 16 ? fn##_w16(r, o)                \
     : (r)->w == 32 ? fn##_w32(r, o)                \
                    : fn##_w64(r, o))

/* ---- probes without a word-width body ------------------------------------ */

static int bl_mode(struct bl_req *r, const char *a, const char *b, const char *dflt)
{
    if (!r->mode[0])
        snprintf(r->mode, sizeof r->mode, "%s", dflt);
    if (!strcmp(r->mode, a))
        return 0;
    if (!strcmp(r->mode, b))
        return 1;
    return bl_fail(r, "bad value for mode (want %s or %s): %s", a, b, r->mode);
}

static int bl_check_budget(struct bl_req *r)
{
    if (!r->has_ms || r->ms < 1 || r->ms > 60000)
        return bl_fail(r, "bad value for ms (want 1..60000): %lu", r->ms);
    if (!r->has_max || r->max < 1)
        return bl_fail(r, "bad value for max (want >= 1): %lu", r->max);
    return 0;
}

/* events=N: the run ends once one of its threads saw N events (torn reads, lost updates);
 * absent or 0: it runs to its time or operation bound. */
static unsigned long long bl_stop_events(const struct bl_req *r)
{
    return r->has_events ? r->events : 0;
}

static void bl_put_stress(struct bl_out *o, const struct bl_stress_result *s, const char *ops,
                          const char *events)
{
    bl_put(o, "\"values\":{\"%s\":%llu,\"%s\":%llu,\"first_us\":%lld", ops, s->ops, events,
           s->events, s->first_us);
}

static int bl_probe_tear(struct bl_req *r, struct bl_out *o)
{
    struct bl_stress_result s;
    int mode = bl_mode(r, "words", "whole", "words");
    unsigned long readers = r->has_readers ? r->readers : 1;
    if (mode < 0 || bl_check_budget(r))
        return -1;
    if (mode == 0 && (!r->has_n || r->n < 1 || r->n > BL_MAX_WORDS))
        return bl_fail(r, "bad value for n (want 1..%d): %lu", BL_MAX_WORDS, r->n);
    if (readers < 1 || readers > 8)
        return bl_fail(r, "bad value for readers (want 1..8): %lu", readers);
    if (bl_stress_tear(r->w, mode ? 1 : (unsigned)r->n, mode, (unsigned)readers, (unsigned)r->ms,
                       r->max, bl_stop_events(r), &s))
        return bl_fail(r, "stress run failed (threads?)");
    bl_put_stress(o, &s, "reads", "torn");
    bl_put(o, ",\"writes\":%llu},\"evidence\":{\"elapsed_us\":%llu,\"threads\":%u",
           s.writes, s.elapsed_us, s.threads);
    return 0;
}

static int bl_probe_lost(struct bl_req *r, struct bl_out *o, int tag)
{
    struct bl_stress_result s;
    int atomic = bl_mode(r, "nonatomic", "atomic", "atomic");
    unsigned long threads = r->has_threads ? r->threads : 2;
    int rc;
    if (atomic < 0 || bl_check_budget(r))
        return -1;
    if (threads < 1 || threads > 16 || (!tag && threads > (unsigned long)r->w))
        return bl_fail(r, "bad value for threads (want 1..%d): %lu", tag ? 16 : (r->w < 16 ? r->w : 16),
                       threads);
    if (tag) {
        if (!r->has_align || r->align < 2 || r->align > 4096 || (r->align & (r->align - 1)) ||
            (1ul << threads) > r->align)
            return bl_fail(r, "bad value for align (want a power of two 2..4096 with room for "
                              "%lu tag bits): %lu", threads, r->align);
        rc = bl_stress_lost_tag((unsigned)threads, atomic, r->align, (unsigned)r->ms, r->max, bl_stop_events(r),
                                &s);
    } else {
        rc = bl_stress_lost_update(r->w, (unsigned)threads, atomic, (unsigned)r->ms, r->max, bl_stop_events(r),
                                   &s);
    }
    if (rc)
        return bl_fail(r, "stress run failed (threads?)");
    bl_put_stress(o, &s, "ops", "lost");
    if (tag)
        bl_put(o, ",\"corrupt\":%llu", s.corrupt);
    bl_put(o, "},\"evidence\":{\"elapsed_us\":%llu,\"threads\":%u", s.elapsed_us, s.threads);
    return 0;
}

/* A bit count, or null when this build cannot observe that allocator. */
static void bl_put_alloc_bits(struct bl_out *o, int bits)
{
    if (bits == BL_ALLOC_NOT_OBSERVABLE)
        bl_put(o, "null");
    else
        bl_put(o, "%d", bits);
}

static int bl_probe_alloc(struct bl_req *r, struct bl_out *o)
{
    struct bl_alloc_result a;
    unsigned long count = r->has_count ? r->count : 1000;
    unsigned long page = r->has_page ? r->page : 4096;
    if (!r->has_size || !r->has_align || !r->has_slab_minalign || !r->has_kmalloc_minalign)
        return bl_fail(r, "alloc needs size, align, slab_minalign and kmalloc_minalign");
    if (bl_alloc_probe(r->size, r->align, (unsigned)count, r->slab_minalign, r->kmalloc_minalign,
                       page, &a))
        return bl_fail(r, "bad alloc arguments or out of memory: size=%lu align=%lu count=%lu "
                          "slab_minalign=%lu kmalloc_minalign=%lu page=%lu",
                       r->size, r->align, count, r->slab_minalign, r->kmalloc_minalign, page);
    bl_put(o, "\"values\":{\"malloc\":");
    bl_put_alloc_bits(o, a.malloc_bits);
    bl_put(o, ",\"aligned_alloc\":");
    bl_put_alloc_bits(o, a.aligned_alloc_bits);
    bl_put(o, ",\"slab\":%d,\"kmalloc\":%d,"
              "\"slab_align\":%lu,\"slab_object_size\":%lu,\"kmalloc_size\":%lu,"
              "\"kmalloc_align\":%lu}",
           a.slab_bits, a.kmalloc_bits, a.slab_align, a.slab_object_size, a.kmalloc_size,
           a.kmalloc_align);
    bl_put(o, ",\"evidence\":{\"count\":%lu,\"page\":%lu", count, page);
    if (a.malloc_bits == BL_ALLOC_NOT_OBSERVABLE)
        bl_put(o, ",\"malloc\":\"not observable: no C library in this build\"");
    return 0;
}

static int bl_probe_info(struct bl_req *r, struct bl_out *o)
{
    union {
        unsigned int i;
        unsigned char c[sizeof(unsigned int)];
    } u = {1};
    (void)r;
    bl_put(o, "\"values\":{\"sizeof_long\":%u,\"sizeof_pointer\":%u,\"sizeof_long_long\":%u,"
              "\"little_endian\":%s,\"default_word_bits\":%d,\"guard_words\":%d,"
              "\"max_words\":%d,\"lockfree\":{\"8\":%s,\"16\":%s,\"32\":%s,\"64\":%s}}",
           (unsigned)sizeof(long), (unsigned)sizeof(void *), (unsigned)sizeof(long long),
           u.c[0] ? "true" : "false", bl_default_word_bits(), BL_GUARD_WORDS, BL_MAX_WORDS,
           bl_atomic_is_lockfree(8) ? "true" : "false", bl_atomic_is_lockfree(16) ? "true" : "false",
           bl_atomic_is_lockfree(32) ? "true" : "false", bl_atomic_is_lockfree(64) ? "true" : "false");
    bl_put(o, ",\"evidence\":{\"compiler\":\"%s\"", __VERSION__);
    return 0;
}

/* ---- entry point --------------------------------------------------------- */

static void bl_put_json_string(struct bl_out *o, const char *s)
{
    /* Requests are restricted to [a-z0-9_=,: \t\r\n]; only whitespace needs care. */
    bl_put(o, "\"");
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t')
            bl_put(o, " ");
        else if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
            bl_put(o, "%c", *s);
        else
            bl_put(o, "?");
    }
    bl_put(o, "\"");
}

int bl_probe_run(const char *line, char *out, size_t outlen)
{
    struct bl_req *r;
    struct bl_out o = {out, outlen, 0, 0}, body;
    int rc = -1;

    if (!out || outlen < 256)
        return -1;
    r = calloc(1, sizeof *r);
    body.buf = malloc(outlen);
    body.cap = outlen;
    body.len = 0;
    body.overflow = 0;
    if (!r || !body.buf) {
        free(r);
        free(body.buf);
        snprintf(out, outlen, "{\"probe\":\"?\",\"ok\":false,\"error\":\"out of memory\"}");
        return 1;
    }
    body.buf[0] = 0;
    if (strlen(line) > BL_MAX_LINE)
        bl_fail(r, "request longer than %d characters", BL_MAX_LINE);
    else if (bl_parse_request(line, r) == 0) {
        if (!strcmp(r->probe, "image") || !strcmp(r->probe, "ops"))
            rc = BL_DISPATCH(bl_probe_ops, r, &body);
        else if (!strcmp(r->probe, "oob_read"))
            rc = BL_DISPATCH(bl_probe_oob_read, r, &body);
        else if (!strcmp(r->probe, "arr64"))
            rc = BL_DISPATCH(bl_probe_arr, r, &body);
        else if (!strcmp(r->probe, "find"))
            rc = BL_DISPATCH(bl_probe_find, r, &body);
        else if (!strcmp(r->probe, "tear"))
            rc = bl_probe_tear(r, &body);
        else if (!strcmp(r->probe, "lost_update"))
            rc = bl_probe_lost(r, &body, 0);
        else if (!strcmp(r->probe, "lost_tag"))
            rc = bl_probe_lost(r, &body, 1);
        else if (!strcmp(r->probe, "alloc"))
            rc = bl_probe_alloc(r, &body);
        else if (!strcmp(r->probe, "info"))
            rc = bl_probe_info(r, &body);
        else
            rc = bl_fail(r, "unknown probe: %s", r->probe);
    }
    if (rc == 0 && body.overflow)
        rc = bl_fail(r, "response longer than %lu bytes", (unsigned long)outlen);
    bl_put(&o, "{\"probe\":\"%s\",\"ok\":%s,", r->probe[0] ? r->probe : "?", rc == 0 ? "true" : "false");
    if (r->has_id)
        bl_put(&o, "\"id\":%lu,", r->id);
    bl_put(&o, "\"request\":");
    bl_put_json_string(&o, line);
    if (rc == 0) {
        bl_put(&o, ",\"word_bits\":%d,%s,\"sizeof_long\":%u,\"lockfree\":%s,\"runtime\":\"%s\"}}",
               r->w, body.buf, (unsigned)sizeof(long), bl_atomic_is_lockfree(r->w) ? "true" : "false",
               BL_RUNTIME);
    } else {
        bl_put(&o, ",\"error\":");
        bl_put_json_string(&o, r->err);
        bl_put(&o, "}");
        rc = 1;
    }
    if (o.overflow) {
        if (r->has_id)
            snprintf(out, outlen, "{\"probe\":\"%s\",\"ok\":false,\"id\":%lu,\"error\":\"response too long\"}",
                     r->probe[0] ? r->probe : "?", r->id);
        else
            snprintf(out, outlen, "{\"probe\":\"%s\",\"ok\":false,\"error\":\"response too long\"}",
                     r->probe[0] ? r->probe : "?");
        rc = -1;
    }
    free(body.buf);
    free(r);
    return rc;
}
