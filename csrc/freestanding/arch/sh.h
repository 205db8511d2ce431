/*
 * SuperH (sh4) Linux system calls.  Numbers: arch/sh/kernel/syscalls/syscall.tbl
 * of the kernel.  Calling convention (arch/sh/kernel/entry-common.S): trapa
 * #0x1N, number in r3, arguments in r4-r7, r0, r1, result (or -errno) in r0.
 * Five no-ops follow the trap as glibc's sh sysdep.h does (an SH-3/SH-4
 * erratum on pending exceptions after trapa).
 */
#define BL_NR_read 3
#define BL_NR_write 4
#define BL_NR_exit_group 252
#define BL_NR_mmap 192 /* mmap2: the offset is in pages, always 0 here */
#define BL_NR_munmap 91
#define BL_NR_fork 2
#define BL_NR_wait4 114
#define BL_NR_clock_gettime 265
#define BL_NR_sched_yield 158
#define BL_MAP_ANONYMOUS 0x20 /* include/uapi/asm-generic/mman-common.h */

static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r3 __asm__("r3") = n;
    register long r4 __asm__("r4") = a;
    register long r5 __asm__("r5") = b;
    register long r6 __asm__("r6") = c;
    register long r7 __asm__("r7") = d;
    register long r0 __asm__("r0") = e;
    register long r1 __asm__("r1") = f;
    __asm__ __volatile__("trapa #0x16\n\tor r0,r0\n\tor r0,r0\n\tor r0,r0\n\tor r0,r0\n\tor r0,r0"
                         : "+r"(r0)
                         : "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7), "r"(r1)
                         : "memory", "t");
    return r0;
}

/* The kernel enters _start with r15 (sp) at argc. */
#define BL_START_ASM                  \
    ".text\n"                         \
    ".global _start\n"                \
    ".type _start, @function\n"       \
    "_start:\n"                       \
    "    mov r15, r4\n"               \
    "    mov.l 1f, r1\n"              \
    "    jsr @r1\n"                   \
    "    nop\n"                       \
    "2:  bra 2b\n"                    \
    "    nop\n"                       \
    "    .align 2\n"                  \
    "1:  .long bl_rt_start\n"
