/*
 * x86 Linux system calls, i386 and x86_64.  Numbers:
 * arch/x86/entry/syscalls/syscall_32.tbl and syscall_64.tbl of the kernel.
 */
#if defined(__x86_64__)
/* syscall: number in rax, arguments rdi rsi rdx r10 r8 r9, result (or
 * -errno) in rax; the instruction clobbers rcx and r11. */
#define BL_NR_read 0
#define BL_NR_write 1
#define BL_NR_exit_group 231
#define BL_NR_mmap 9
#define BL_NR_munmap 11
#define BL_NR_fork 57
#define BL_NR_wait4 61
#define BL_NR_clock_gettime 228
#define BL_NR_sched_yield 24

static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}

#define BL_START_ASM                  \
    ".text\n"                         \
    ".global _start\n"                \
    ".type _start, @function\n"       \
    "_start:\n"                       \
    "    xorl %ebp, %ebp\n"           \
    "    movq %rsp, %rdi\n"           \
    "    andq $-16, %rsp\n"           \
    "    call bl_rt_start\n"          \
    "    hlt\n"
#else
/* int $0x80: number in eax, arguments ebx ecx edx esi edi ebp, result (or
 * -errno) in eax.  ebp may be the frame pointer, so the 6th argument goes
 * through the stack into it (musl's arch/i386/syscall_arch.h does the same). */
#define BL_NR_read 3
#define BL_NR_write 4
#define BL_NR_exit_group 252
#define BL_NR_mmap 192 /* mmap2: the offset is in pages, always 0 here */
#define BL_NR_munmap 91
#define BL_NR_fork 2
#define BL_NR_wait4 114
#define BL_NR_clock_gettime 265
#define BL_NR_sched_yield 158

static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    __asm__ __volatile__("pushl %7\n\tpushl %%ebp\n\tmovl 4(%%esp), %%ebp\n\t"
                         "int $0x80\n\t"
                         "popl %%ebp\n\taddl $4, %%esp"
                         : "=a"(ret)
                         : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "g"(f)
                         : "memory");
    return ret;
}

#define BL_START_ASM                  \
    ".text\n"                         \
    ".global _start\n"                \
    ".type _start, @function\n"       \
    "_start:\n"                       \
    "    xorl %ebp, %ebp\n"           \
    "    movl %esp, %eax\n"           \
    "    andl $-16, %esp\n"           \
    "    subl $12, %esp\n"            \
    "    pushl %eax\n"                \
    "    call bl_rt_start\n"          \
    "    hlt\n"
#endif
#define BL_MAP_ANONYMOUS 0x20 /* include/uapi/asm-generic/mman-common.h */
