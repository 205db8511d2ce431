/*
 * 32-bit Arm (EABI) Linux system calls.  Numbers: arch/arm/tools/syscall.tbl
 * of the kernel (the "common"/"eabi" rows).  Calling convention
 * (arch/arm/kernel/entry-common.S): svc 0, number in r7, arguments in r0-r5,
 * result (or -errno) in r0.
 */
#define BL_NR_read 3
#define BL_NR_write 4
#define BL_NR_exit_group 248
#define BL_NR_mmap 192 /* mmap2: the offset is in pages, always 0 here */
#define BL_NR_munmap 91
#define BL_NR_fork 2
#define BL_NR_wait4 114
#define BL_NR_clock_gettime 263
#define BL_NR_sched_yield 158
#define BL_MAP_ANONYMOUS 0x20 /* include/uapi/asm-generic/mman-common.h */

#include "regcall.h"

BL_SYSCALL6_IN_REGISTERS("svc 0", "r7", "r0", "r1", "r2", "r3", "r4", "r5", "memory")

/* The kernel enters _start with sp at argc; AAPCS wants sp 8-aligned at calls. */
#define BL_START_ASM                  \
    ".text\n"                         \
    ".arm\n"                          \
    ".global _start\n"                \
    ".type _start, %function\n"       \
    "_start:\n"                       \
    "    mov fp, #0\n"                \
    "    mov lr, #0\n"                \
    "    mov r0, sp\n"                \
    "    bic sp, sp, #7\n"            \
    "    bl bl_rt_start\n"            \
    "1:  b 1b\n"
