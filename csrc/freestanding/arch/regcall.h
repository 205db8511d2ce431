/*
 * bl_syscall6 for the families whose kernel takes the system call number in
 * one register and the six arguments in six others, and returns the result
 * (or -errno) in the first argument's register: arm, aarch64, riscv,
 * loongarch, hexagon.  Each family header names its trap instruction, the
 * registers, and what the trap clobbers besides them (at least "memory").
 */
#define BL_SYSCALL6_IN_REGISTERS(trap, nr, r1, r2, r3, r4, r5, r6, ...)                                    \
    static inline long bl_syscall6(long n, long a, long b, long c, long d, long e, long f)                 \
    {                                                                                                      \
        register long bl_n __asm__(nr) = n;                                                                \
        register long bl_a __asm__(r1) = a;                                                                \
        register long bl_b __asm__(r2) = b;                                                                \
        register long bl_c __asm__(r3) = c;                                                                \
        register long bl_d __asm__(r4) = d;                                                                \
        register long bl_e __asm__(r5) = e;                                                                \
        register long bl_f __asm__(r6) = f;                                                                \
        __asm__ __volatile__(trap                                                                          \
                             : "+r"(bl_a)                                                                  \
                             : "r"(bl_n), "r"(bl_b), "r"(bl_c), "r"(bl_d), "r"(bl_e), "r"(bl_f)            \
                             : __VA_ARGS__);                                                               \
        return bl_a;                                                                                       \
    }
