/*
 * stress.c - see stress.h.  Workers (threads, or processes in the driver
 * built without libc: workers.h) start together on a spin flag, check the
 * clock every 256 iterations, and keep their own counters, merged after join.
 */
#define _POSIX_C_SOURCE 200809L
#include "stress.h"

#include "bitops.h"
#include "tagging.h"
#include "workers.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BL_MAX_THREADS 16
#define BL_WRITER_MIN_PASSES 1024u
#define BL_MIN_ITERATIONS 1024u

static unsigned long long bl_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

struct bl_shared {
    int go;                 /* set once all threads exist */
    int stop;               /* readers done: writer stops */
    int writing;            /* tear: the writer has completed one pass */
    unsigned write_passes;  /* tear: passes the writer has done, published every 64 (capped) */
    unsigned long long start_us, deadline_us, max;
    unsigned long long stop_events; /* end the run once a thread saw this many events (0: never) */
    int enough;                     /* set by that thread: a plain int, no 64-bit atomics (libatomic) */
    int word_bits, mode, atomic;
    unsigned nwords;
    void *mem;              /* the bitmap / word / pointer word under test */
    uintptr_t ptr, mask;    /* lost_tag: untagged pointer and tag mask */
};

struct bl_thread {
    struct bl_worker worker;
    struct bl_shared *sh;
    unsigned index;
    unsigned long long ops, events, corrupt;
    long long first_us;
};

static void bl_wait_go(struct bl_shared *sh)
{
    while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
        ;
}

/* A worker's loop ends at the deadline or once the run saw enough events, checked every 256
 * iterations, and never before BL_MIN_ITERATIONS: a thread scheduled after the deadline (a loaded
 * machine, two emulated arches at once) still does that much work while the others run, instead
 * of a run with 0 reads (checks.concurrency.MIN_STRESS_OPS asks 1000). */
static int bl_time_up(struct bl_shared *sh, unsigned long long i)
{
    return (i & 255) == 0 && i >= BL_MIN_ITERATIONS &&
           (bl_now_us() >= sh->deadline_us || __atomic_load_n(&sh->enough, __ATOMIC_RELAXED));
}

/* The tear writer's pass count, for the readers (a plain unsigned: no 64-bit atomics). */
static void bl_writer_progress(struct bl_shared *sh, unsigned long long passes)
{
    if ((passes & 63) == 0)
        __atomic_store_n(&sh->write_passes, passes > BL_WRITER_MIN_PASSES ? BL_WRITER_MIN_PASSES : (unsigned)passes,
                         __ATOMIC_RELAXED);
}

/* A tear reader's deadline: the writer, scheduled late on a loaded machine (two emulated arches
 * at once), may not have done its minimum passes when the deadline passes; the readers go on
 * until it has, for at most BL_GRACE_US past the deadline (then the run reports what it did, and
 * checks.concurrency.MIN_STRESS_OPS judges it).  Seen on the host with ms=1 under load: 1024
 * reads against 0 writes. */
#define BL_GRACE_US 2000000ull
static int bl_reader_time_up(struct bl_shared *sh, unsigned long long i)
{
    return bl_time_up(sh, i) &&
           (__atomic_load_n(&sh->write_passes, __ATOMIC_RELAXED) >= BL_WRITER_MIN_PASSES ||
            bl_now_us() >= sh->deadline_us + BL_GRACE_US);
}

/* A tear reader at its read cap keeps reading (to the deadline at most) while the writer, started
 * late on a loaded machine, has not yet written enough for the run to be evidence: a run of 400000
 * reads against 1 write observed nothing (checks.concurrency.MIN_STRESS_OPS asks 1000 of each). */
static int bl_reads_done(struct bl_shared *sh, unsigned long long n)
{
    return n >= sh->max && __atomic_load_n(&sh->write_passes, __ATOMIC_RELAXED) >= BL_WRITER_MIN_PASSES;
}

static void bl_event(struct bl_thread *t)
{
    if (t->events++ == 0)
        t->first_us = (long long)(bl_now_us() - t->sh->start_us);
    if (t->sh->stop_events && t->events >= t->sh->stop_events)
        __atomic_store_n(&t->sh->enough, 1, __ATOMIC_RELAXED);
}

/* ---- tearing ------------------------------------------------------------ */

#define BL_TEAR_VARIANT(W)                                                                 \
    static void bl_tear_write_w##W(struct bl_shared *sh, struct bl_thread *t)             \
    {                                                                                      \
        bl_w##W##_t *buf = (bl_w##W##_t *)sh->mem, v = 0;                                  \
        unsigned i;                                                                        \
        while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {                            \
            v = (bl_w##W##_t)~v;                                                           \
            for (i = 0; i < sh->nwords; i++)                                               \
                bl_store_relaxed_w##W(buf + i, v);                                         \
            if (t->ops++ == 0)                                                             \
                __atomic_store_n(&sh->writing, 1, __ATOMIC_RELEASE);                       \
            bl_writer_progress(sh, t->ops);                                                \
        }                                                                                  \
    }                                                                                      \
    static void bl_tear_read_w##W(struct bl_shared *sh, struct bl_thread *t)              \
    {                                                                                      \
        const bl_w##W##_t *buf = (const bl_w##W##_t *)sh->mem;                             \
        unsigned long long n;                                                              \
        unsigned i;                                                                        \
        for (n = 0; !bl_reads_done(sh, n) && !bl_reader_time_up(sh, n); n++) {             \
            bl_w##W##_t first = bl_load_relaxed_w##W(buf), x;                              \
            int torn = first != 0 && first != (bl_w##W##_t)~(bl_w##W##_t)0;               \
            for (i = 1; i < sh->nwords; i++) {                                             \
                x = bl_load_relaxed_w##W(buf + i);                                         \
                torn |= x != first;                                                        \
            }                                                                              \
            t->ops++;                                                                      \
            if (torn)                                                                      \
                bl_event(t);                                                               \
        }                                                                                  \
    }

BL_TEAR_VARIANT(8)
BL_TEAR_VARIANT(16)
BL_TEAR_VARIANT(32)
BL_TEAR_VARIANT(64)

/* READ_ONCE/WRITE_ONCE of one w-bit value (include/asm-generic/rwonce.h): a
 * volatile access, which a CPU without a single-copy-atomic access of that
 * width (a u64 on most 32-bit CPUs) performs in pieces.  This is a deliberate
 * data race: it is the thing being measured. */
#define BL_WHOLE_VARIANT(W)                                                                \
    static void bl_tear_write_whole_w##W(struct bl_shared *sh, struct bl_thread *t)       \
    {                                                                                      \
        volatile bl_w##W##_t *p = (volatile bl_w##W##_t *)sh->mem;                         \
        bl_w##W##_t v = 0;                                                                 \
        while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {                            \
            v = (bl_w##W##_t)~v;                                                           \
            *p = v;                                                                        \
            if (t->ops++ == 0)                                                             \
                __atomic_store_n(&sh->writing, 1, __ATOMIC_RELEASE);                       \
            bl_writer_progress(sh, t->ops);                                                \
        }                                                                                  \
    }                                                                                      \
    static void bl_tear_read_whole_w##W(struct bl_shared *sh, struct bl_thread *t)        \
    {                                                                                      \
        volatile bl_w##W##_t *p = (volatile bl_w##W##_t *)sh->mem;                         \
        unsigned long long n;                                                              \
        for (n = 0; !bl_reads_done(sh, n) && !bl_reader_time_up(sh, n); n++) {             \
            bl_w##W##_t x = *p;                                                            \
            t->ops++;                                                                      \
            if (x != 0 && x != (bl_w##W##_t)~(bl_w##W##_t)0)                               \
                bl_event(t);                                                               \
        }                                                                                  \
    }

BL_WHOLE_VARIANT(8)
BL_WHOLE_VARIANT(16)
BL_WHOLE_VARIANT(32)
BL_WHOLE_VARIANT(64)

#define BL_BY_WIDTH(w, fn, sh, t)                                                          \
    ((w) == 8 ? fn##_w8(sh, t) : (w) == 16 ? fn##_w16(sh, t) : (w) == 32 ? fn##_w32(sh, t)   \
                                                                 : fn##_w64(sh, t))

static void *bl_tear_writer(void *arg)
{
    struct bl_thread *t = arg;
    struct bl_shared *sh = t->sh;
    bl_wait_go(sh);
    if (sh->mode == 1)
        BL_BY_WIDTH(sh->word_bits, bl_tear_write_whole, sh, t);
    else if (sh->word_bits == 8)
        bl_tear_write_w8(sh, t);
    else if (sh->word_bits == 16)
        bl_tear_write_w16(sh, t);
    else if (sh->word_bits == 32)
        bl_tear_write_w32(sh, t);
    else
        bl_tear_write_w64(sh, t);
    return NULL;
}

static void *bl_tear_reader(void *arg)
{
    struct bl_thread *t = arg;
    struct bl_shared *sh = t->sh;
    unsigned long long spins = 0;
    bl_wait_go(sh);
    /* Start reading once the writer runs (it may be scheduled late), but
     * never wait past the reader's deadline (bl_reader_time_up). */
    while (!__atomic_load_n(&sh->writing, __ATOMIC_ACQUIRE) && !bl_reader_time_up(sh, ++spins))
        ;
    if (sh->mode == 1)
        BL_BY_WIDTH(sh->word_bits, bl_tear_read_whole, sh, t);
    else if (sh->word_bits == 8)
        bl_tear_read_w8(sh, t);
    else if (sh->word_bits == 16)
        bl_tear_read_w16(sh, t);
    else if (sh->word_bits == 32)
        bl_tear_read_w32(sh, t);
    else
        bl_tear_read_w64(sh, t);
    return NULL;
}

/* ---- lost updates / lost tags ------------------------------------------- */

#define BL_LOST_VARIANT(W)                                                                 \
    static void bl_lost_w##W(struct bl_shared *sh, struct bl_thread *t)                   \
    {                                                                                      \
        bl_w##W##_t *w = (bl_w##W##_t *)sh->mem;                                           \
        bl_w##W##_t mask = (bl_w##W##_t)((bl_w##W##_t)1 << t->index);                      \
        unsigned long long n;                                                              \
        for (n = 0; n < sh->max && !bl_time_up(sh, n); n++) {                              \
            if (sh->atomic) {                                                              \
                bl_set_bit_w##W(t->index, w);                                              \
            } else {                                                                       \
                bl_w##W##_t v = bl_load_relaxed_w##W(w);                                   \
                bl_store_relaxed_w##W(w, (bl_w##W##_t)(v | mask));                         \
            }                                                                              \
            if (!(bl_load_relaxed_w##W(w) & mask))                                         \
                bl_event(t);                                                               \
            if (sh->atomic) {                                                              \
                bl_clear_bit_w##W(t->index, w);                                            \
            } else {                                                                       \
                bl_w##W##_t v = bl_load_relaxed_w##W(w);                                   \
                bl_store_relaxed_w##W(w, (bl_w##W##_t)(v & (bl_w##W##_t)~mask));           \
            }                                                                              \
            if (bl_load_relaxed_w##W(w) & mask)                                            \
                bl_event(t);                                                               \
            t->ops++;                                                                      \
        }                                                                                  \
    }

BL_LOST_VARIANT(8)
BL_LOST_VARIANT(16)
BL_LOST_VARIANT(32)
BL_LOST_VARIANT(64)

static void *bl_lost_update_thread(void *arg)
{
    struct bl_thread *t = arg;
    struct bl_shared *sh = t->sh;
    bl_wait_go(sh);
    if (sh->word_bits == 8)
        bl_lost_w8(sh, t);
    else if (sh->word_bits == 16)
        bl_lost_w16(sh, t);
    else if (sh->word_bits == 32)
        bl_lost_w32(sh, t);
    else
        bl_lost_w64(sh, t);
    return NULL;
}

static void *bl_lost_tag_thread(void *arg)
{
    struct bl_thread *t = arg;
    struct bl_shared *sh = t->sh;
    uintptr_t *word = (uintptr_t *)sh->mem, bit = (uintptr_t)1 << t->index, v;
    unsigned long long n;
    bl_wait_go(sh);
    for (n = 0; n < sh->max && !bl_time_up(sh, n); n++) {
        if (sh->atomic)
            bl_atomic_ptr_set_tag(word, bit);
        else
            bl_nonatomic_ptr_set_tag(word, bit);
        v = bl_ptr_load(word);
        if (!bl_ptr_test_tag(v, bit))
            bl_event(t);
        if (bl_untag_ptr(v, sh->mask) != sh->ptr)
            t->corrupt++;
        if (sh->atomic)
            bl_atomic_ptr_clear_tag(word, bit);
        else
            bl_nonatomic_ptr_clear_tag(word, bit);
        v = bl_ptr_load(word);
        if (bl_ptr_test_tag(v, bit))
            bl_event(t);
        if (bl_untag_ptr(v, sh->mask) != sh->ptr)
            t->corrupt++;
        t->ops++;
    }
    return NULL;
}

/* ---- running ------------------------------------------------------------ */

/* Everything the workers touch besides the memory under test, in one
 * bl_shared_alloc block: workers may be processes (workers.h), so nothing
 * they share can live on this stack. */
struct bl_stress_ctl {
    struct bl_shared sh;
    struct bl_thread th[BL_MAX_THREADS + 1];
    uintptr_t word;         /* lost_tag: the tagged pointer word */
};

/* Start nthreads workers; worker 0 runs first_fn (when given), the rest fn.
 * The writer (first_fn) is stopped once every other worker has finished. */
static int bl_run(struct bl_stress_ctl *ctl, unsigned nthreads, unsigned ms,
                  void *(*first_fn)(void *), void *(*fn)(void *), struct bl_stress_result *out)
{
    struct bl_shared *sh = &ctl->sh;
    struct bl_thread *th = ctl->th;
    unsigned i, started = 0;
    int rc = 0;
    memset(out, 0, sizeof *out);
    for (i = 0; i < nthreads; i++) {
        th[i].sh = sh;
        th[i].index = first_fn ? i - 1 : i;
        th[i].first_us = -1;
        if (bl_worker_start(&th[i].worker, (first_fn && i == 0) ? first_fn : fn, &th[i])) {
            rc = -1;
            break;
        }
        started++;
    }
    sh->start_us = bl_now_us();
    sh->deadline_us = sh->start_us + (unsigned long long)ms * 1000ull;
    __atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
    for (i = first_fn ? 1 : 0; i < started; i++)
        if (bl_worker_join(&th[i].worker))
            rc = -1;
    __atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
    if (first_fn && started > 0 && bl_worker_join(&th[0].worker))
        rc = -1;
    out->elapsed_us = bl_now_us() - sh->start_us;
    out->first_us = -1;
    out->threads = started;
    for (i = 0; i < started; i++) {
        if (first_fn && i == 0) {
            out->writes = th[i].ops;
            continue;
        }
        out->ops += th[i].ops;
        out->events += th[i].events;
        out->corrupt += th[i].corrupt;
        if (th[i].first_us >= 0 && (out->first_us < 0 || th[i].first_us < out->first_us))
            out->first_us = th[i].first_us;
    }
    return rc;
}

static int bl_word_bits_ok(int w) { return w == 8 || w == 16 || w == 32 || w == 64; }

/* The memory under test (allocated: no declared type, so any word type may
 * live there; 64-byte aligned, so a whole-value u64 is naturally aligned)
 * and the control block, both shared with the workers; -1 when out of memory. */
static int bl_stress_alloc(void **mem, struct bl_stress_ctl **ctl)
{
    *mem = bl_shared_alloc(BL_MAX_WORDS * 8);
    *ctl = bl_shared_alloc(sizeof **ctl);
    if (*mem && *ctl)
        return 0;
    if (*mem)
        bl_shared_free(*mem, BL_MAX_WORDS * 8);
    if (*ctl)
        bl_shared_free(*ctl, sizeof **ctl);
    return -1;
}

static void bl_stress_release(void *mem, struct bl_stress_ctl *ctl)
{
    bl_shared_free(mem, BL_MAX_WORDS * 8);
    bl_shared_free(ctl, sizeof *ctl);
}

int bl_stress_tear(int word_bits, unsigned nwords, int mode, unsigned readers, unsigned ms,
                   unsigned long long max_reads, unsigned long long stop_events,
                   struct bl_stress_result *out)
{
    void *mem;
    struct bl_stress_ctl *ctl;
    int rc;
    if (!bl_word_bits_ok(word_bits) || readers < 1 || readers > BL_MAX_THREADS - 1 ||
        nwords < 1 || nwords > BL_MAX_WORDS || (mode != 0 && mode != 1) || max_reads < 1)
        return -1;
    if (bl_stress_alloc(&mem, &ctl))
        return -1;
    ctl->sh.word_bits = word_bits;
    ctl->sh.nwords = nwords;
    ctl->sh.mode = mode;
    ctl->sh.max = max_reads;
    ctl->sh.stop_events = stop_events;
    ctl->sh.mem = mem;
    rc = bl_run(ctl, readers + 1, ms, bl_tear_writer, bl_tear_reader, out);
    bl_stress_release(mem, ctl);
    return rc;
}

int bl_stress_lost_update(int word_bits, unsigned threads, int atomic, unsigned ms,
                          unsigned long long max_iters, unsigned long long stop_events,
                          struct bl_stress_result *out)
{
    void *mem;
    struct bl_stress_ctl *ctl;
    int rc;
    if (!bl_word_bits_ok(word_bits) || threads < 1 || threads > BL_MAX_THREADS ||
        threads > (unsigned)word_bits || max_iters < 1)
        return -1;
    if (bl_stress_alloc(&mem, &ctl))
        return -1;
    ctl->sh.word_bits = word_bits;
    ctl->sh.atomic = atomic;
    ctl->sh.max = max_iters;
    ctl->sh.stop_events = stop_events;
    ctl->sh.mem = mem;
    rc = bl_run(ctl, threads, ms, NULL, bl_lost_update_thread, out);
    bl_stress_release(mem, ctl);
    return rc;
}

int bl_stress_lost_tag(unsigned threads, int atomic, unsigned long align_bytes, unsigned ms,
                       unsigned long long max_iters, unsigned long long stop_events,
                       struct bl_stress_result *out)
{
    void *obj, *mem;
    struct bl_stress_ctl *ctl;
    int rc;
    if (threads < 1 || threads > BL_MAX_THREADS || align_bytes < 2 || align_bytes > 4096 ||
        (align_bytes & (align_bytes - 1)) || (1ul << threads) > align_bytes || max_iters < 1)
        return -1;
    /* Only its address is used (tagged, never dereferenced): private memory will do. */
    obj = aligned_alloc(align_bytes, align_bytes);
    if (!obj)
        return -1;
    if (bl_stress_alloc(&mem, &ctl)) {
        free(obj);
        return -1;
    }
    ctl->word = (uintptr_t)obj;
    ctl->sh.ptr = ctl->word;
    ctl->sh.mask = bl_tag_mask(align_bytes);
    ctl->sh.atomic = atomic;
    ctl->sh.max = max_iters;
    ctl->sh.stop_events = stop_events;
    ctl->sh.mem = &ctl->word;
    rc = bl_run(ctl, threads, ms, NULL, bl_lost_tag_thread, out);
    bl_stress_release(mem, ctl);
    free(obj);
    return rc;
}
