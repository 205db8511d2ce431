/*
 * sys.h - the Linux system calls the freestanding runtime makes, over one
 * arch header per family (arch/<family>.h: numbers, the trap, _start).
 * Each wrapper returns what the kernel returned: >= 0, or -errno.
 */
#ifndef BL_FS_SYS_H
#define BL_FS_SYS_H

#if defined(__sh__)
#include "arch/sh.h"
#elif defined(__sparc__) && !defined(__arch64__)
#include "arch/sparc.h"
#elif defined(__arm__)
#include "arch/arm.h"
#elif defined(__mips__) && defined(_ABIO32)
#include "arch/mips.h"
#elif defined(__i386__) || defined(__x86_64__)
#include "arch/x86.h"
#elif defined(__aarch64__)
#include "arch/aarch64.h"
#elif defined(__riscv)
#include "arch/riscv.h"
#elif defined(__loongarch64)
#include "arch/loongarch.h"
#elif defined(__hexagon__)
#include "arch/hexagon.h"
#else
#error "no system call glue for this architecture in csrc/freestanding/arch/"
#endif

/* include/uapi/asm-generic/mman-common.h (the same on every arch above). */
#define BL_PROT_READ 1
#define BL_PROT_WRITE 2
#define BL_MAP_SHARED 1
#define BL_MAP_PRIVATE 2
#define BL_EINTR 4

/* A failed mmap returns -errno, i.e. one of the top 4095 addresses. */
#define BL_SYS_FAILED(ret) ((unsigned long)(ret) > -4096ul)

static inline long bl_sys_read(int fd, void *buf, unsigned long n)
{
    return bl_syscall6(BL_NR_read, fd, (long)buf, (long)n, 0, 0, 0);
}

static inline long bl_sys_write(int fd, const void *buf, unsigned long n)
{
    return bl_syscall6(BL_NR_write, fd, (long)buf, (long)n, 0, 0, 0);
}

static inline __attribute__((noreturn)) void bl_sys_exit_group(int status)
{
    for (;;)
        bl_syscall6(BL_NR_exit_group, status, 0, 0, 0, 0, 0);
}

/* Anonymous memory, private or shared with the processes forked afterwards. */
static inline void *bl_sys_mmap_anon(unsigned long len, int shared)
{
    long ret = bl_syscall6(BL_NR_mmap, 0, (long)len, BL_PROT_READ | BL_PROT_WRITE,
                           (shared ? BL_MAP_SHARED : BL_MAP_PRIVATE) | BL_MAP_ANONYMOUS, -1, 0);
    return BL_SYS_FAILED(ret) ? (void *)0 : (void *)ret;
}

static inline long bl_sys_munmap(void *p, unsigned long len)
{
    return bl_syscall6(BL_NR_munmap, (long)p, (long)len, 0, 0, 0, 0);
}

/* 0 in the child, the child's pid in the parent, or -errno. */
static inline long bl_sys_fork(void)
{
#if defined(BL_ARCH_FORK)
    return bl_arch_fork();
#elif defined(BL_NR_fork)
    return bl_syscall6(BL_NR_fork, 0, 0, 0, 0, 0, 0);
#else
    /* The generic table has no fork: clone with only the exit signal SIGCHLD, no new stack and
     * no thread pointers, is fork (kernel/fork.c of the kernel: fork is kernel_clone with only
     * .exit_signal = SIGCHLD). */
    return bl_syscall6(BL_NR_clone, BL_SIGCHLD, 0, 0, 0, 0, 0);
#endif
}

/* Wait for the child pid to end; *status in wait4's layout (include/uapi/linux/wait.h:
 * exit code in bits 8..15, or the terminating signal in bits 0..6). */
static inline long bl_sys_wait4(long pid, int *status)
{
#ifdef BL_NR_wait4
    return bl_syscall6(BL_NR_wait4, pid, (long)status, 0, 0, 0, 0);
#else
    /* No wait4 (riscv32): waitid(P_PID, pid, &info, WEXITED, NULL) fills a siginfo
     * (include/uapi/asm-generic/siginfo.h: signo, errno, code, then the union, aligned
     * as a long, whose SIGCHLD member starts pid, uid, status). */
    union {
        struct {
            int signo, errno_, code;
            union {
                struct {
                    int pid;
                    unsigned uid;
                    int status;
                } chld;
                long align;
            } fields;
        } info;
        int pad[128 / sizeof(int)]; /* SI_MAX_SIZE */
    } si;
    long ret;
    si.info.fields.chld.pid = 0;
    ret = bl_syscall6(BL_NR_waitid, 1 /* P_PID */, pid, (long)&si, 4 /* WEXITED */, 0, 0);
    if (ret < 0)
        return ret;
    /* si_code CLD_EXITED (1): status is the exit code; else the signal (include/uapi/asm-generic/siginfo.h) */
    *status = si.info.code == 1 ? (si.info.fields.chld.status & 0xff) << 8 : si.info.fields.chld.status & 0x7f;
    return si.info.fields.chld.pid;
#endif
}

/* ts: time.h's struct timespec, (long, long) as the kernel's 32-bit-time timespec. */
static inline long bl_sys_clock_gettime(int clock, void *ts)
{
#ifdef BL_NR_clock_gettime
    return bl_syscall6(BL_NR_clock_gettime, clock, (long)ts, 0, 0, 0, 0);
#else
    /* Only the 64-bit time call (riscv32): it fills a (s64, s64) __kernel_timespec
     * (include/uapi/linux/time_types.h); monotonic seconds fit a long. */
    long long kts[2];
    long ret = bl_syscall6(BL_NR_clock_gettime64, clock, (long)kts, 0, 0, 0, 0);
    if (ret == 0) {
        ((long *)ts)[0] = (long)kts[0];
        ((long *)ts)[1] = (long)kts[1];
    }
    return ret;
#endif
}

static inline void bl_sys_sched_yield(void)
{
    bl_syscall6(BL_NR_sched_yield, 0, 0, 0, 0, 0, 0);
}

#endif /* BL_FS_SYS_H */
