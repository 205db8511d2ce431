/*
 * RISC-V Linux system calls, RV32 and RV64.  Numbers: the generic table
 * (arch/generic.h; arch/riscv/kernel/Makefile.syscalls adds no time32 ABI:
 * riscv32 has only the 64-bit time calls and waitid).  Calling convention
 * (arch/riscv/kernel/traps.c, do_trap_ecall_u): ecall, number in a7,
 * arguments in a0-a5, result (or -errno) in a0.  A system call discards the
 * vector state (arch/riscv/include/asm/vector.h, riscv_v_vstate_discard), so
 * a build with the V extension lists the vector registers as clobbered.
 */
#include "generic.h"
#include "regcall.h"

#ifdef __riscv_vector
#define BL_RISCV_CLOBBERS "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", \
    "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", \
    "v25", "v26", "v27", "v28", "v29", "v30", "v31", "vl", "vtype"
#else
#define BL_RISCV_CLOBBERS "memory"
#endif

BL_SYSCALL6_IN_REGISTERS("ecall", "a7", "a0", "a1", "a2", "a3", "a4", "a5", BL_RISCV_CLOBBERS)

/* The kernel enters _start with sp at argc and gp unset: gp is loaded from the linker's
 * __global_pointer$ without relaxation (a relaxed load would be gp-relative to itself);
 * the psABI wants sp 16-aligned at calls. */
#define BL_START_ASM                     \
    ".text\n"                            \
    ".global _start\n"                   \
    ".type _start, %function\n"          \
    "_start:\n"                          \
    ".weak __global_pointer$\n"          \
    ".hidden __global_pointer$\n"        \
    ".option push\n"                     \
    ".option norelax\n"                  \
    "    lla gp, __global_pointer$\n"    \
    ".option pop\n"                      \
    "    li s0, 0\n"                     \
    "    li ra, 0\n"                     \
    "    mv a0, sp\n"                    \
    "    andi sp, sp, -16\n"             \
    "    call bl_rt_start\n"             \
    "1:  j 1b\n"
