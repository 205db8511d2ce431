/*
 * LoongArch64 Linux system calls.  Numbers: the generic table (arch/generic.h;
 * arch/loongarch/kernel/Makefile.syscalls adds no ABI).  Calling convention
 * (arch/loongarch/kernel/entry.S and syscall.c): syscall 0, number in a7,
 * arguments in a0-a5, result (or -errno) in a0; the kernel may change the
 * temporaries t0-t8, so they are clobbered (musl's loongarch64 syscall_arch.h
 * lists the same).
 */
#include "generic.h"
#include "regcall.h"

BL_SYSCALL6_IN_REGISTERS("syscall 0", "$a7", "$a0", "$a1", "$a2", "$a3", "$a4", "$a5",
                         "$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8", "memory")

/* The kernel enters _start with $sp at argc; the psABI wants it 16-aligned at calls
 * (bstrins.d clears bits 3..0). */
#define BL_START_ASM                        \
    ".text\n"                               \
    ".global _start\n"                      \
    ".type _start, @function\n"             \
    "_start:\n"                             \
    "    move $fp, $zero\n"                 \
    "    move $ra, $zero\n"                 \
    "    move $a0, $sp\n"                   \
    "    bstrins.d $sp, $zero, 3, 0\n"      \
    "    bl bl_rt_start\n"                  \
    "1:  b 1b\n"
