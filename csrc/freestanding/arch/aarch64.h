/*
 * AArch64 Linux system calls, either endianness.  Numbers: the generic table
 * (arch/generic.h; arch/arm64/kernel/Makefile.syscalls adds no 32-bit ABI
 * the driver uses).  Calling convention (arch/arm64/kernel/syscall.c of the
 * kernel, do_el0_svc): svc #0, number in x8, arguments in x0-x5, result (or
 * -errno) in x0.
 */
#include "generic.h"
#include "regcall.h"

BL_SYSCALL6_IN_REGISTERS("svc #0", "x8", "x0", "x1", "x2", "x3", "x4", "x5", "memory", "cc")

/* The kernel enters _start with sp at argc (16-aligned, as AAPCS64 wants it at calls:
 * kept so); a zero frame pointer and link register end backtraces. */
#define BL_START_ASM                  \
    ".text\n"                         \
    ".global _start\n"                \
    ".type _start, %function\n"       \
    "_start:\n"                       \
    "    mov x29, #0\n"               \
    "    mov x30, #0\n"               \
    "    mov x0, sp\n"                \
    "    and sp, x0, #-16\n"          \
    "    bl bl_rt_start\n"            \
    "1:  b 1b\n"
