/*
 * bitops_word.h - the single-word bitops for one word width, as static inline
 * functions: READ_ONCE/WRITE_ONCE, test_bit, the atomic set/clear/change and
 * test_and_* bitops and their non-atomic __ forms.  Included by bitops.h once
 * per width with BL_W (8, 16, 32, 64), BL_T (the word type) and BL_LOCKFREE
 * (1 when __atomic on BL_T is always lock-free) defined.  No include guard on
 * purpose.
 *
 * Inline, as the kernel's are (the headers in include/asm-generic/bitops/):
 * the stress loops (stress.c) and the probes (probes_impl.h) run them without
 * a call per operation, so a tear or a lost update races at the speed of the
 * plain code it stands for (benchmarks/bench_shim.py measures that).  The
 * bitmap-wide operations stay out of line in bitops_impl.h.
 */
#define BL_PASTE_(a, b) a##_w##b
#define BL_PASTE(a, b) BL_PASTE_(a, b)
#define BLF(name) BL_PASTE(name, BL_W)

/* The kernel's BIT_MASK (include/linux/bitops.h) for a word of BL_W bits; the
 * casts keep 8- and 16-bit words from promoting to a signed int. */
#define BL_MASK(nr) ((BL_T)((BL_T)1 << ((nr) % BL_W)))

/* READ_ONCE / WRITE_ONCE of one word.  Where the compiler has lock-free
 * atomics of this width, a relaxed __atomic access (no C data race); else a
 * volatile access, which is what READ_ONCE is (include/asm-generic/rwonce.h)
 * and which a 32-bit CPU performs as two loads for a 64-bit word. */
static inline BL_T BLF(bl_load_relaxed)(const BL_T *p)
{
#if BL_LOCKFREE
    return __atomic_load_n(p, __ATOMIC_RELAXED);
#else
    return *(const volatile BL_T *)p;
#endif
}

static inline void BLF(bl_store_relaxed)(BL_T *p, BL_T v)
{
#if BL_LOCKFREE
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
#else
    *(volatile BL_T *)p = v;
#endif
}

/* One atomic read-modify-write on the word holding the bit; returns the old
 * word.  op: 0 or, 1 and-not, 2 xor.  The kernel's set_bit/clear_bit/
 * change_bit are unordered (arch_set_bit -> atomic_long_or), the
 * test_and_* ones fully ordered (include/asm-generic/bitops/atomic.h). */
static inline BL_T BLF(bl_rmw)(BL_T *p, int op, BL_T mask, int ordered)
{
#if BL_LOCKFREE
    int order = ordered ? __ATOMIC_SEQ_CST : __ATOMIC_RELAXED;
    switch (op) {
    case 0: return __atomic_fetch_or(p, mask, order);
    case 1: return __atomic_fetch_and(p, (BL_T)~mask, order);
    default: return __atomic_fetch_xor(p, mask, order);
    }
#else
    BL_T old;
    (void)ordered;
    bl_fallback_lock();
    old = *(volatile BL_T *)p;
    switch (op) {
    case 0: *(volatile BL_T *)p = (BL_T)(old | mask); break;
    case 1: *(volatile BL_T *)p = (BL_T)(old & (BL_T)~mask); break;
    default: *(volatile BL_T *)p = (BL_T)(old ^ mask); break;
    }
    bl_fallback_unlock();
    return old;
#endif
}

/* generic_test_bit (include/asm-generic/bitops/generic-non-atomic.h). */
static inline int BLF(bl_test_bit)(unsigned long nr, const BL_T *addr)
{
    return 1 & (int)(BLF(bl_load_relaxed)(addr + BL_BIT_WORD(nr, BL_W)) >> (nr % BL_W));
}

/* include/asm-generic/bitops/atomic.h */
static inline void BLF(bl_set_bit)(unsigned long nr, BL_T *addr)
{
    BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 0, BL_MASK(nr), 0);
}
static inline void BLF(bl_clear_bit)(unsigned long nr, BL_T *addr)
{
    BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 1, BL_MASK(nr), 0);
}
static inline void BLF(bl_change_bit)(unsigned long nr, BL_T *addr)
{
    BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 2, BL_MASK(nr), 0);
}
static inline int BLF(bl_test_and_set_bit)(unsigned long nr, BL_T *addr)
{
    return (BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 0, BL_MASK(nr), 1) & BL_MASK(nr)) != 0;
}
static inline int BLF(bl_test_and_clear_bit)(unsigned long nr, BL_T *addr)
{
    return (BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 1, BL_MASK(nr), 1) & BL_MASK(nr)) != 0;
}
static inline int BLF(bl_test_and_change_bit)(unsigned long nr, BL_T *addr)
{
    return (BLF(bl_rmw)(addr + BL_BIT_WORD(nr, BL_W), 2, BL_MASK(nr), 1) & BL_MASK(nr)) != 0;
}

/* include/asm-generic/bitops/generic-non-atomic.h: a plain read-modify-write
 * of the whole word (two threads doing this on one word can lose updates). */
static inline void BLF(bl_nonatomic_set_bit)(unsigned long nr, BL_T *addr)
{
    addr[BL_BIT_WORD(nr, BL_W)] |= BL_MASK(nr);
}
static inline void BLF(bl_nonatomic_clear_bit)(unsigned long nr, BL_T *addr)
{
    addr[BL_BIT_WORD(nr, BL_W)] &= (BL_T)~BL_MASK(nr);
}
static inline void BLF(bl_nonatomic_change_bit)(unsigned long nr, BL_T *addr)
{
    addr[BL_BIT_WORD(nr, BL_W)] ^= BL_MASK(nr);
}
static inline int BLF(bl_nonatomic_test_and_set_bit)(unsigned long nr, BL_T *addr)
{
    BL_T *p = addr + BL_BIT_WORD(nr, BL_W);
    BL_T old = *p;
    *p = (BL_T)(old | BL_MASK(nr));
    return (old & BL_MASK(nr)) != 0;
}
static inline int BLF(bl_nonatomic_test_and_clear_bit)(unsigned long nr, BL_T *addr)
{
    BL_T *p = addr + BL_BIT_WORD(nr, BL_W);
    BL_T old = *p;
    *p = (BL_T)(old & (BL_T)~BL_MASK(nr));
    return (old & BL_MASK(nr)) != 0;
}
static inline int BLF(bl_nonatomic_test_and_change_bit)(unsigned long nr, BL_T *addr)
{
    BL_T *p = addr + BL_BIT_WORD(nr, BL_W);
    BL_T old = *p;
    *p = (BL_T)(old ^ BL_MASK(nr));
    return (old & BL_MASK(nr)) != 0;
}

#undef BL_MASK
#undef BLF
#undef BL_PASTE
#undef BL_PASTE_
