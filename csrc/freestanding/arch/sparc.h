/*
 * 32-bit SPARC Linux system calls.  Numbers: arch/sparc/kernel/syscalls/syscall.tbl
 * of the kernel (the "32"/"common" rows).  Calling convention
 * (arch/sparc/kernel/entry.S): ta 0x10, number in %g1, arguments in %o0-%o5,
 * result in %o0; the carry flag set means %o0 holds a positive errno.
 */
#define BL_NR_read 3
#define BL_NR_write 4
#define BL_NR_exit_group 188
#define BL_NR_mmap 56 /* mmap2: the offset is in pages, always 0 here */
#define BL_NR_munmap 73
#define BL_NR_fork 2
#define BL_NR_wait4 7
#define BL_NR_clock_gettime 257
#define BL_NR_sched_yield 245
#define BL_MAP_ANONYMOUS 0x20 /* arch/sparc/include/uapi/asm/mman.h */

#define BL_SPARC_TRAP "ta 0x10\n\tbcc 1f\n\tnop\n\tsub %%g0, %%o0, %%o0\n1:"

static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long g1 __asm__("g1") = n;
    register long o0 __asm__("o0") = a;
    register long o1 __asm__("o1") = b;
    register long o2 __asm__("o2") = c;
    register long o3 __asm__("o3") = d;
    register long o4 __asm__("o4") = e;
    register long o5 __asm__("o5") = f;
    __asm__ __volatile__(BL_SPARC_TRAP
                         : "+r"(o0), "+r"(o1)
                         : "r"(g1), "r"(o2), "r"(o3), "r"(o4), "r"(o5)
                         : "cc", "memory");
    return o0;
}

/* fork returns in both processes with %o0 = a pid; arch/sparc/kernel/process_32.c
 * copy_thread() sets %o1 = 1 in the child and 0 in the parent. */
#define BL_ARCH_FORK 1
static inline long bl_arch_fork(void)
{
    register long g1 __asm__("g1") = BL_NR_fork;
    register long o0 __asm__("o0") = 0;
    register long o1 __asm__("o1") = 0;
    __asm__ __volatile__(BL_SPARC_TRAP : "+r"(o0), "+r"(o1) : "r"(g1) : "cc", "memory");
    return o1 ? 0 : o0;
}

/* The kernel enters _start with %sp at a 64-byte register window save area,
 * argc above it; callees get a fresh 96-byte frame. */
#define BL_START_ASM                  \
    ".text\n"                         \
    ".global _start\n"                \
    ".type _start, #function\n"       \
    "_start:\n"                       \
    "    mov %g0, %fp\n"              \
    "    add %sp, 64, %o0\n"          \
    "    sub %sp, 96, %sp\n"          \
    "    call bl_rt_start\n"          \
    "    nop\n"                       \
    "2:  ba 2b\n"                     \
    "    nop\n"
