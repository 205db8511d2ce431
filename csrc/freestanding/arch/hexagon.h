/*
 * Hexagon Linux system calls.  Numbers: the generic table (arch/generic.h),
 * with the time32 rows (arch/hexagon/kernel/Makefile.syscalls adds the
 * time32 ABI: wait4 and clock_gettime exist).  Calling convention
 * (arch/hexagon/kernel/traps.c, do_trap0): trap0(#1), number in r6,
 * arguments in r0-r5, result (or -errno) in r0.
 */
#define BL_GENERIC_TIME32 1
#include "generic.h"
#include "regcall.h"

BL_SYSCALL6_IN_REGISTERS("trap0(#1)", "r6", "r0", "r1", "r2", "r3", "r4", "r5", "memory")

/* The kernel enters _start with r29 (sp) at argc; zero r30 (fp) and r31 (lr) end
 * backtraces; the stack is kept 16-aligned as musl's hexagon crt_arch.h does. */
#define BL_START_ASM                   \
    ".text\n"                          \
    ".global _start\n"                 \
    ".type _start, @function\n"        \
    "_start:\n"                        \
    "    r30 = #0\n"                   \
    "    r31 = #0\n"                   \
    "    r0 = r29\n"                   \
    "    r29 = and(r29, #-16)\n"       \
    "    call bl_rt_start\n"           \
    "1:  jump 1b\n"
