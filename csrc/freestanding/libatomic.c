/*
 * libatomic.c - the libatomic routines GCC calls for an atomic read-modify-
 * write it cannot do inline: 32-bit SPARC V8 has no compare-and-swap (only
 * swap and ldstub; qemu-sparc 7.2's LEON3 has no CASA for user code either),
 * so tagging.c's __atomic_fetch_or/and on a pointer become calls.  They run
 * under the shared fallback lock (workers.h), as the sparc32 kernel's own
 * atomics run under hashed spinlocks (arch/sparc/lib/atomic32.c).  Only the
 * routines some build needs are here: any other one fails at link time.
 */
#include "../workers.h"

unsigned int __atomic_fetch_or_4(volatile void *p, unsigned int v, int order);
unsigned int __atomic_fetch_and_4(volatile void *p, unsigned int v, int order);

unsigned int __atomic_fetch_or_4(volatile void *p, unsigned int v, int order)
{
    volatile unsigned int *w = p;
    unsigned int old;
    (void)order; /* the lock orders everything */
    bl_fallback_lock();
    old = *w;
    *w = old | v;
    bl_fallback_unlock();
    return old;
}

unsigned int __atomic_fetch_and_4(volatile void *p, unsigned int v, int order)
{
    volatile unsigned int *w = p;
    unsigned int old;
    (void)order;
    bl_fallback_lock();
    old = *w;
    *w = old & v;
    bl_fallback_unlock();
    return old;
}
