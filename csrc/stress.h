/*
 * stress.h - concurrent writers and readers (workers.h) that make tearing, lost updates and
 * lost tags observable.  Every run is bounded both in time (ms) and in count
 * (max iterations per thread); results are plain counts.
 */
#ifndef BL_STRESS_H
#define BL_STRESS_H

struct bl_stress_result {
    unsigned long long ops;        /* reads (tear) or RMW iterations (lost_*), all threads */
    unsigned long long events;     /* torn reads, lost updates, lost tags */
    unsigned long long writes;     /* writer passes (tear) */
    unsigned long long corrupt;    /* lost_tag: pointer bits found changed (never expected) */
    long long first_us;            /* microseconds from start to the first event, -1 if none */
    unsigned long long elapsed_us;
    unsigned threads;
};

/* Tearing.  mode 0 ("words"): one writer stores all-zeros then all-ones,
 * word by word (relaxed word stores); readers read word by word; a read that
 * mixes zero and all-ones words is torn.  mode 1 ("whole"): one word of
 * word_bits (nwords ignored) stored with one volatile access (WRITE_ONCE) and
 * loaded with one (READ_ONCE): it tears only where the CPU splits the access
 * (a 64-bit word on a 32-bit CPU).  Returns 0, or -1 for bad arguments / thread failure. */
int bl_stress_tear(int word_bits, unsigned nwords, int mode, unsigned readers, unsigned ms,
                   unsigned long long max_reads, unsigned long long stop_events,
                   struct bl_stress_result *out);

/* Lost updates: `threads` threads each set and clear their own bit (bit t)
 * of one shared word, atomically (set_bit) or not (load + store), checking
 * after each step that their bit reads back as written. */
int bl_stress_lost_update(int word_bits, unsigned threads, int atomic, unsigned ms,
                          unsigned long long max_iters, unsigned long long stop_events,
                          struct bl_stress_result *out);

/* Lost tags: the same on a tagged pointer word whose pointee is aligned to
 * align_bytes; thread t owns tag bit t (1 << threads must be <= align_bytes). */
int bl_stress_lost_tag(unsigned threads, int atomic, unsigned long align_bytes, unsigned ms,
                       unsigned long long max_iters, unsigned long long stop_events,
                       struct bl_stress_result *out);

#endif /* BL_STRESS_H */
