/* Enums (size from values) and constant expressions evaluated per arch. */
enum en_small { EN_A, EN_B, EN_C };
enum en_neg { EN_NEG = -1, EN_POS = 1 };
enum en_big { EN_BIG = 0x100000000ULL };
enum en_ubig { EN_U31 = 1U << 31 };
enum en_negbig { EN_NB = -0x80000001LL };
enum __attribute__((packed)) en_packed { EN_P1 = 1, EN_P2 = 200 };
enum en_packed_neg { EN_PN = -3, EN_PN2 = 100 } __attribute__((packed));
enum en_packed_short { EN_PS = 40000 } __attribute__((packed));
struct en_in_struct { char c; enum en_big e; char d; enum en_packed p; };
enum en_exprs {
	EX_SIZEOF_LONG = sizeof(long),
	EX_ALIGNOF_LL = _Alignof(long long),
	EX_GNU_ALIGNOF_LL = __alignof__(long long),
	EX_GNU_ALIGNOF_DOUBLE = __alignof__(double),
	EX_OFFSETOF = __builtin_offsetof(struct en_in_struct, p),
	EX_OLD_OFFSETOF = (unsigned long)&((struct en_in_struct *)0)->d,
	EX_SIZEOF_MEMBER = sizeof(((struct en_in_struct *)0)->e),
	EX_TERNARY = sizeof(void *) == 8 ? 64 : 32,
	EX_SHIFT = (1 << 4) | (3 & ~1),
	EX_CHAR = 'A',
	EX_NEG_DIV = -7 / 2,
	EX_UNSIGNED_CMP = (-1 < 0U),
	EX_BITS_PER_LONG = 8 * sizeof(unsigned long),
};
struct en_sized {
	char a[EX_SIZEOF_LONG];
	char b[EX_GNU_ALIGNOF_LL];
	char c[EX_UNSIGNED_CMP + 1];
	unsigned long bits[64 / EX_BITS_PER_LONG];
	char last[sizeof(struct en_in_struct) % 5 + 1];
};
_Static_assert(sizeof(struct en_sized) > 0, "sized");
typedef unsigned long en_vm_flags_t[8 / sizeof(unsigned long)];
typedef struct { en_vm_flags_t __vma_flags; } en_vma_flags_t;
