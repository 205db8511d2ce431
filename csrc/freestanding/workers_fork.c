/*
 * workers_fork.c - workers.h for the driver built without libc: each worker
 * is a forked process; what they share is anonymous MAP_SHARED memory
 * (bl_shared_alloc), which fork keeps shared, and the fallback lock is a
 * spinlock in such a mapping.  Atomics on shared memory are atomic across
 * processes (the same instructions as between threads), so the stress
 * probes measure the same thing as with threads.
 */
#include "../workers.h"
#include "sys.h"

_Static_assert(sizeof(long) <= sizeof(((struct bl_worker *)0)->opaque), "a pid fits");

/* The fallback lock word: mapped by the parent before the first fork (every
 * fork goes through bl_worker_start), so parent and workers share it. */
static int *bl_lock_word;
static int bl_private_lock_word;

static int *bl_lock(void)
{
    if (!bl_lock_word)
        bl_lock_word = bl_shared_alloc(sizeof *bl_lock_word);
    /* No mapping: no worker can have started either, so a private word is enough. */
    return bl_lock_word ? bl_lock_word : &bl_private_lock_word;
}

int bl_worker_start(struct bl_worker *w, void *(*fn)(void *), void *arg)
{
    long pid;
    if (bl_lock() == &bl_private_lock_word)
        return -1;
    pid = bl_sys_fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The child leaves without flushing stdout: the parent's buffer is not its own. */
        fn(arg);
        bl_sys_exit_group(0);
    }
    w->opaque[0] = (unsigned long long)pid;
    return 0;
}

int bl_worker_join(struct bl_worker *w)
{
    int status = 0;
    long ret;
    do
        ret = bl_sys_wait4((long)w->opaque[0], &status);
    while (ret == -BL_EINTR);
    /* Exited (low 7 bits 0) with status 0 (bits 8..15): include/uapi/linux/wait.h layout. */
    return ret < 0 || (status & 0x7f) != 0 || ((status >> 8) & 0xff) != 0 ? -1 : 0;
}

void *bl_shared_alloc(size_t size)
{
    /* Page-aligned and zero-filled by the kernel. */
    return bl_sys_mmap_anon(size ? size : 1, 1);
}

void bl_shared_free(void *p, size_t size)
{
    if (p)
        bl_sys_munmap(p, size ? size : 1);
}

void bl_fallback_lock(void)
{
    int *word = bl_lock();
    unsigned spins = 0;
    while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(word, __ATOMIC_RELAXED))
            if (++spins % 1024 == 0)
                bl_sys_sched_yield(); /* the holder may be a process waiting for a CPU */
}

void bl_fallback_unlock(void) { __atomic_store_n(bl_lock(), 0, __ATOMIC_RELEASE); }
