/*
 * workers_pthread.c - workers.h with POSIX threads (every libc build).
 * The driver built without libc uses freestanding/workers_fork.c instead.
 */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(pthread_t) <= sizeof(((struct bl_worker *)0)->opaque),
               "pthread_t must fit in struct bl_worker");

int bl_worker_start(struct bl_worker *w, void *(*fn)(void *), void *arg)
{
    pthread_t tid;
    if (pthread_create(&tid, NULL, fn, arg))
        return -1;
    memcpy(w->opaque, &tid, sizeof tid);
    return 0;
}

int bl_worker_join(struct bl_worker *w)
{
    pthread_t tid;
    memcpy(&tid, w->opaque, sizeof tid);
    return pthread_join(tid, NULL) ? -1 : 0;
}

/* Threads share the whole address space: ordinary aligned heap memory. */
void *bl_shared_alloc(size_t size)
{
    size_t rounded = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p)
        memset(p, 0, rounded ? rounded : 64);
    return p;
}

void bl_shared_free(void *p, size_t size)
{
    (void)size;
    free(p);
}

static pthread_mutex_t bl_fallback_mutex = PTHREAD_MUTEX_INITIALIZER;

void bl_fallback_lock(void) { pthread_mutex_lock(&bl_fallback_mutex); }
void bl_fallback_unlock(void) { pthread_mutex_unlock(&bl_fallback_mutex); }
