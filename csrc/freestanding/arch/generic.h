/*
 * The system call numbers of the arches on the kernel's generic table
 * (aarch64, riscv, loongarch, hexagon): include/uapi/asm-generic/unistd.h,
 * since 6.11 generated from scripts/syscall.tbl of the kernel, whose ABI
 * column says which rows an arch has (arch/<arch>/kernel/Makefile.syscalls).
 * The table has no fork (sys.h clones with SIGCHLD instead) and one number,
 * 222, for mmap on 64-bit and mmap2 (offset in pages, always 0 here) on 32-bit.
 */
#define BL_NR_read 63
#define BL_NR_write 64
#define BL_NR_exit_group 94
#define BL_NR_sched_yield 124
#define BL_NR_munmap 215
#define BL_NR_clone 220
#define BL_NR_mmap 222
/* wait4 and the 32-bit-time clock_gettime are "64" and "time32" rows: 64-bit arches have
 * them, and a 32-bit arch whose Makefile.syscalls adds the time32 ABI (hexagon; the family
 * header defines BL_GENERIC_TIME32).  riscv32's adds none: waitid and clock_gettime64. */
#if __SIZEOF_LONG__ == 8 || defined(BL_GENERIC_TIME32)
#define BL_NR_wait4 260
#define BL_NR_clock_gettime 113
#else
#define BL_NR_waitid 95
#define BL_NR_clock_gettime64 403
#endif
#define BL_SIGCHLD 17 /* include/uapi/asm-generic/signal.h */
#define BL_MAP_ANONYMOUS 0x20 /* include/uapi/asm-generic/mman-common.h */
