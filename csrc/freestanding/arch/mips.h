/*
 * MIPS o32 Linux system calls.  Numbers: arch/mips/kernel/syscalls/syscall_o32.tbl
 * of the kernel, plus 4000 (__NR_Linux).  Calling convention
 * (arch/mips/kernel/scall32-o32.S): syscall, number in $2 (v0), arguments
 * in $4-$7 and the 5th/6th at 16($sp)/20($sp); result in $2, and $7 (a3)
 * non-zero means $2 holds a positive errno.  The clobber list is the
 * kernel's: every caller-saved register (musl's arch/mips/syscall_arch.h
 * lists the same).
 */
#define BL_NR_read 4003
#define BL_NR_write 4004
#define BL_NR_exit_group 4246
#define BL_NR_mmap 4210 /* mmap2: the offset is in pages, always 0 here */
#define BL_NR_munmap 4091
#define BL_NR_fork 4002
#define BL_NR_wait4 4114
#define BL_NR_clock_gettime 4263
#define BL_NR_sched_yield 4162
#define BL_MAP_ANONYMOUS 0x800 /* arch/mips/include/uapi/asm/mman.h */

static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r2 __asm__("$2") = n;
    register long r4 __asm__("$4") = a;
    register long r5 __asm__("$5") = b;
    register long r6 __asm__("$6") = c;
    register long r7 __asm__("$7") = d;
    register long r8 __asm__("$8") = e;
    register long r9 __asm__("$9") = f;
    __asm__ __volatile__(".set push\n\t.set noreorder\n\t"
                         "subu $sp, $sp, 32\n\tsw $8, 16($sp)\n\tsw $9, 20($sp)\n\t"
                         "syscall\n\t"
                         "addu $sp, $sp, 32\n\t.set pop"
                         : "+r"(r2), "+r"(r7), "+r"(r8), "+r"(r9)
                         : "r"(r4), "r"(r5), "r"(r6)
                         : "$1", "$3", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25",
                           "hi", "lo", "memory");
    return r7 && r2 > 0 ? -r2 : r2;
}

/* The kernel enters with $sp at argc and no $gp: set $gp from the linker's
 * _gp, leave the o32 16-byte argument area, call through $25 ($t9) as PIC
 * callees expect.  GNU ld's MIPS scripts enter at __start, lld at _start. */
#define BL_START_ASM                           \
    ".text\n"                                  \
    ".set push\n"                              \
    ".set noreorder\n"                         \
    ".global __start\n"                        \
    ".global _start\n"                         \
    ".type _start, @function\n"                \
    "__start:\n"                               \
    "_start:\n"                                \
    "    move $fp, $0\n"                       \
    "    lui $gp, %hi(_gp)\n"                  \
    "    addiu $gp, $gp, %lo(_gp)\n"           \
    "    move $4, $sp\n"                       \
    "    addiu $2, $0, -8\n"                   \
    "    and $sp, $sp, $2\n"                   \
    "    addiu $sp, $sp, -16\n"                \
    "    lui $25, %hi(bl_rt_start)\n"          \
    "    addiu $25, $25, %lo(bl_rt_start)\n"   \
    "    jalr $25\n"                           \
    "    nop\n"                                \
    "1:  b 1b\n"                               \
    "    nop\n"                                \
    ".set pop\n"
