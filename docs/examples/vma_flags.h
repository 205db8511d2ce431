/*
 * bitlayout's embedded default: the kernel VMA-flags case.
 *
 * Modelled on include/linux/mm.h (enum of VMA_*_BIT numbers declared with
 * DECLARE_VMA_BIT / DECLARE_VMA_BIT_ALIAS), include/linux/mm_types.h
 * (vma_flags_t, struct vm_area_struct) and include/linux/rmap.h
 * (struct anon_vma).  Three candidate representations of the flags are
 * declared so that `bitlayout matrix` can compare them on every arch:
 *
 *   vma_flags_t     the kernel's choice: DECLARE_BITMAP(__vma_flags,
 *                   NUM_VMA_FLAG_BITS) with NUM_VMA_FLAG_BITS = BITS_PER_LONG,
 *                   i.e. ONE long: 32 bits on 32-bit arches while the enum
 *                   below numbers flags up to 43;
 *   vm_flags_t      the linux-mm seed thread's variant: an array of
 *                   8 / sizeof(unsigned long) longs (always 64 bits, two
 *                   words on 32-bit arches);
 *   vm_flags_u64_t  a plain u64 (one 64-bit value, two loads on most
 *                   32-bit CPUs).
 *
 * Only arch macros predefined by the compiler are used (__x86_64__,
 * __ILP32__, __aarch64__, __powerpc__, __powerpc64__, __hppa__, __sparc__,
 * __arch64__), so the same file preprocesses for every profile.
 */
#ifndef BITLAYOUT_EXAMPLE_VMA_FLAGS_H
#define BITLAYOUT_EXAMPLE_VMA_FLAGS_H

/*
 * include/asm-generic/bitsperlong.h: BITS_PER_LONG follows CONFIG_64BIT,
 * i.e. the width of long.  Spelled with sizeof (not __SIZEOF_LONG__) so that
 * it needs no compiler-specific predefined macro; it is only used in C
 * constant expressions, never in #if.
 */
#define BITS_PER_LONG (8 * sizeof(unsigned long))
#define BITS_PER_BYTE 8
/* include/linux/bitops.h, include/linux/types.h */
#define BITS_TO_LONGS(nr) (((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]

typedef unsigned long long u64;
typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic_long_t;

/*
 * include/linux/mm.h: enum { DECLARE_VMA_BIT(READ, 0), ... }.  The enum is
 * NOT gated on CONFIG_64BIT: bits 32..43 exist on 32-bit builds too.  Only
 * the VM_* masks built from some of them are (see the VM_* block below).
 */
enum vma_flag_bits {
	VMA_READ_BIT = 0,
	VMA_WRITE_BIT = 1,
	VMA_EXEC_BIT = 2,
	VMA_SHARED_BIT = 3,
	VMA_MAYREAD_BIT = 4,
	VMA_MAYWRITE_BIT = 5,
	VMA_MAYEXEC_BIT = 6,
	VMA_MAYSHARE_BIT = 7,
	VMA_GROWSDOWN_BIT = 8,
	VMA_UFFD_MISSING_BIT = 9,
	VMA_PFNMAP_BIT = 10,
	VMA_MAYBE_GUARD_BIT = 11,
	VMA_UFFD_WP_BIT = 12,
	VMA_LOCKED_BIT = 13,
	VMA_IO_BIT = 14,
	VMA_SEQ_READ_BIT = 15,
	VMA_RAND_READ_BIT = 16,
	VMA_DONTCOPY_BIT = 17,
	VMA_DONTEXPAND_BIT = 18,
	VMA_LOCKONFAULT_BIT = 19,
	VMA_ACCOUNT_BIT = 20,
	VMA_NORESERVE_BIT = 21,
	VMA_HUGETLB_BIT = 22,
	VMA_SYNC_BIT = 23,
	VMA_ARCH_1_BIT = 24,
	VMA_WIPEONFORK_BIT = 25,
	VMA_DONTDUMP_BIT = 26,
	VMA_SOFTDIRTY_BIT = 27,
	VMA_MIXEDMAP_BIT = 28,
	VMA_HUGEPAGE_BIT = 29,
	VMA_NOHUGEPAGE_BIT = 30,
	VMA_MERGEABLE_BIT = 31,
	/* These bits are reused, arch-specific uses below. */
	VMA_HIGH_ARCH_0_BIT = 32,
	VMA_HIGH_ARCH_1_BIT = 33,
	VMA_HIGH_ARCH_2_BIT = 34,
	VMA_HIGH_ARCH_3_BIT = 35,
	VMA_HIGH_ARCH_4_BIT = 36,
	VMA_HIGH_ARCH_5_BIT = 37,
	VMA_HIGH_ARCH_6_BIT = 38,
	VMA_ALLOW_ANY_UNCACHED_BIT = 39,
#if defined(__powerpc__) && !defined(__powerpc64__)
	/* CONFIG_PPC32: DECLARE_VMA_BIT_ALIAS(DROPPABLE, ARCH_1) */
	VMA_DROPPABLE_BIT = VMA_ARCH_1_BIT,
#else
	VMA_DROPPABLE_BIT = 40,
#endif
	VMA_UFFD_MINOR_BIT = 41,
	VMA_SEALED_BIT = 42,
	VMA_UFFD_RWP_BIT = 43,
	/* Flags that reuse flags above (DECLARE_VMA_BIT_ALIAS), per arch. */
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__powerpc64__) || defined(__aarch64__)
	/* CONFIG_ARCH_HAS_PKEYS: x86_64, powerpc64, arm64 */
	VMA_PKEY_BIT0_BIT = VMA_HIGH_ARCH_0_BIT,
	VMA_PKEY_BIT1_BIT = VMA_HIGH_ARCH_1_BIT,
	VMA_PKEY_BIT2_BIT = VMA_HIGH_ARCH_2_BIT,
	VMA_PKEY_BIT3_BIT = VMA_HIGH_ARCH_3_BIT,
	VMA_PKEY_BIT4_BIT = VMA_HIGH_ARCH_4_BIT,
#endif
#if defined(__x86_64__) && !defined(__ILP32__)
	VMA_SHADOW_STACK_BIT = VMA_HIGH_ARCH_5_BIT,	/* CONFIG_X86_USER_SHADOW_STACK */
#elif defined(__aarch64__)
	VMA_SHADOW_STACK_BIT = VMA_HIGH_ARCH_6_BIT,	/* CONFIG_ARM64_GCS */
#endif
#if defined(__powerpc64__)
	VMA_SAO_BIT = VMA_ARCH_1_BIT,			/* Strong Access Ordering */
#elif defined(__hppa__)
	VMA_GROWSUP_BIT = VMA_ARCH_1_BIT,
#elif defined(__sparc__) && defined(__arch64__)
	VMA_SPARC_ADI_BIT = VMA_ARCH_1_BIT,
	VMA_ARCH_CLEAR_BIT = VMA_ARCH_1_BIT,
#elif defined(__aarch64__)
	VMA_ARM64_BTI_BIT = VMA_ARCH_1_BIT,
	VMA_ARCH_CLEAR_BIT = VMA_ARCH_1_BIT,
	VMA_MTE_BIT = VMA_HIGH_ARCH_4_BIT,
	VMA_MTE_ALLOWED_BIT = VMA_HIGH_ARCH_5_BIT,
#endif
#if defined(__hppa__)
	/* CONFIG_STACK_GROWSUP */
	VMA_STACK_BIT = VMA_GROWSUP_BIT,
	VMA_STACK_EARLY_BIT = VMA_GROWSDOWN_BIT,
#else
	VMA_STACK_BIT = VMA_GROWSDOWN_BIT,
#endif
};

/* One past the highest flag number the enum uses. */
#define VMA_FLAGS_USED 44

/* include/linux/mm_types.h: the kernel's choice. */
#define NUM_VMA_FLAG_BITS BITS_PER_LONG
typedef struct {
	DECLARE_BITMAP(__vma_flags, NUM_VMA_FLAG_BITS);
} vma_flags_t;

/* The linux-mm seed thread's proposal: always 64 bits. */
#define VM_FLAGS_COUNT (8 / sizeof(unsigned long))
typedef unsigned long vm_flags_t[VM_FLAGS_COUNT];

/* A plain 64-bit value. */
typedef u64 vm_flags_u64_t;

/* include/linux/types.h */
struct list_head {
	struct list_head *next, *prev;
};

/*
 * include/linux/rbtree_types.h: the parent pointer and the colour share a
 * word, which is why rb_node is aligned to sizeof(long).
 */
struct rb_node {
	unsigned long __rb_parent_color;
	struct rb_node *rb_right;
	struct rb_node *rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
	struct rb_node *rb_node;
};

struct rb_root_cached {
	struct rb_root rb_root;
	struct rb_node *rb_leftmost;
};

/* include/linux/rwsem.h, without lockdep/debug members. */
struct rw_semaphore {
	atomic_long_t count;
	atomic_long_t owner;
	int wait_lock;
	struct list_head wait_list;
};

/* include/linux/rmap.h */
struct anon_vma {
	struct anon_vma *root;		/* Root of this anon_vma tree */
	struct rw_semaphore rwsem;	/* W: modification, R: walking the list */
	atomic_t refcount;
	unsigned long num_children;
	unsigned long num_active_vmas;
	struct anon_vma *parent;	/* Parent of this anon_vma */
	struct rb_root_cached rb_root;	/* Interval tree of private "related" vmas */
};

struct mm_struct;
struct file;

/* include/linux/mm_types.h, the members around the ones bitlayout checks. */
struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	unsigned long vm_page_prot;
	union {
		vm_flags_t vm_flags;
		vma_flags_t flags;
	};
	struct list_head anon_vma_chain;
	/* The pointer the seed thread wants to steal low bits of. */
	struct anon_vma *anon_vma;
	unsigned long vm_pgoff;
	struct file *vm_file;
	void *vm_private_data;
};

#endif /* BITLAYOUT_EXAMPLE_VMA_FLAGS_H */
