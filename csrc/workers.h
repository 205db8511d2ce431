/*
 * workers.h - what the stress probes need to run code concurrently: workers
 * started on a function, memory they all see, and the lock the bitops use for
 * widths without lock-free atomics.
 *
 * Two implementations, one per runtime:
 *   workers_pthread.c             threads (every libc build: host cffi, exec)
 *   freestanding/workers_fork.c   processes that share anonymous MAP_SHARED
 *                                 mappings (the driver built without libc)
 * So the shim shares nothing through ordinary globals or the stack: whatever
 * a worker reads or writes lives in bl_shared_alloc memory.
 */
#ifndef BL_WORKERS_H
#define BL_WORKERS_H

#include <stddef.h>

/* One running worker; opaque (a pthread_t or a process id). */
struct bl_worker {
    unsigned long long opaque[2];
};

/* Start fn(arg) concurrently with the caller.  Returns 0, or -1 if it could not start. */
int bl_worker_start(struct bl_worker *w, void *(*fn)(void *), void *arg);

/* Wait for the worker to finish.  Returns 0, or -1 if it failed (a worker
 * process that died of a signal or exited non-zero). */
int bl_worker_join(struct bl_worker *w);

/* size bytes, zeroed, 64-byte aligned, visible to and writable by the caller
 * and every worker started after it was allocated; NULL when out of memory. */
void *bl_shared_alloc(size_t size);
void bl_shared_free(void *p, size_t size);

/* One lock for every atomic read-modify-write that is not lock-free (a 64-bit
 * word on most 32-bit CPUs), held across workers (lib/atomic64.c does the
 * same with hashed spinlocks). */
void bl_fallback_lock(void);
void bl_fallback_unlock(void);

#endif /* BL_WORKERS_H */
