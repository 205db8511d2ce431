/* Records and arrays whose GCC machine mode changes their layout (bitlayout/layout/gccmode.py);
 * measured with GCC 12 on every arch.
 *  - STRICT_ALIGNMENT targets (alpha, arm, mips, parisc, riscv64, sh4, sparc64): an array or
 *    record with a non-BLK mode aligned at least as much as the type loses TYPE_USER_ALIGN, so a
 *    record holding it next to a 32-byte vector has _Alignof capped at __BIGGEST_ALIGNMENT__
 *    (mips: 8), where m68k, arc, x86 keep 32.  Under-aligned ones (packed, or an aligned(1)
 *    array of two bytes) stay BLKmode and keep the flag.
 *  - i386: a record holding a flexible array member is BLKmode, so x86_field_alignment does not
 *    cap it (an 8-aligned one stays 8-aligned as a member); a GNU zero-length array does not
 *    count, so that record is capped at 4. */
typedef float mm_v32 __attribute__((vector_size(32)));
typedef float mm_v8 __attribute__((vector_size(8)));
typedef int mm_iv8 __attribute__((vector_size(8)));
typedef signed char mm_c1 __attribute__((aligned(1)));
typedef short mm_s2 __attribute__((aligned(2)));
typedef int mm_i4 __attribute__((aligned(4)));

/* arrays of aligned typedefs: one byte (QImode, loses the flag), two (under-aligned: BLK) */
struct mm_arr1 { mm_v32 v; mm_c1 a[1]; };
struct mm_arr2 { mm_v32 v; mm_c1 a[2]; };
struct mm_arr4 { mm_v32 v; mm_s2 a[2]; };
struct mm_arr8 { mm_i4 a[2]; } __attribute__((aligned(8)));
struct mm_in_arr8 { mm_v32 v; struct mm_arr8 u; };

/* aligned records with an integer mode of their size, or of their only member */
struct mm_s2 { char a[2]; } __attribute__((aligned(2)));
struct mm_s3 { char a[3]; } __attribute__((aligned(4)));
struct mm_s4 { int a; } __attribute__((aligned(4)));
struct mm_s8 { int a, b; } __attribute__((aligned(8)));
struct mm_s16 { long long a, b; } __attribute__((aligned(16)));
struct mm_in_s2 { mm_v32 v; struct mm_s2 s[1]; };
struct mm_in_s2x2 { mm_v32 v; struct mm_s2 s[2]; };
struct mm_in_s3 { mm_v32 v; struct mm_s3 s; };
struct mm_in_s4 { mm_v32 v; struct mm_s4 s; };
struct mm_in_s8 { mm_v32 v; struct mm_s8 s; };
struct mm_in_s16 { mm_v32 v; struct mm_s16 s; };
struct mm_nest { struct mm_in_s8 x; };
struct mm_member_i4 { mm_i4 a; };
struct mm_in_member_i4 { mm_v32 v; struct mm_member_i4 h; };

/* float, double, complex, vector, _Atomic and long double modes */
struct mm_d { double x; } __attribute__((aligned(8)));
struct mm_f { float a; } __attribute__((aligned(4)));
struct mm_f2 { float a, b; } __attribute__((aligned(8)));
struct mm_cf8 { _Complex float z; } __attribute__((aligned(8)));
struct mm_cf4 { _Complex float z; } __attribute__((aligned(4)));
struct mm_at { _Atomic int a; } __attribute__((aligned(4)));
struct mm_fv8 { mm_v8 v; } __attribute__((aligned(8)));
struct mm_ld { long double x; } __attribute__((aligned(16)));
struct mm_in_d { mm_v32 v; struct mm_d s; };
struct mm_in_f { mm_v32 v; struct mm_f s; };
struct mm_in_f2 { mm_v32 v; struct mm_f2 s; };
struct mm_in_cf8 { mm_v32 v; struct mm_cf8 c; };
struct mm_in_cf4 { mm_v32 v; struct mm_cf4 c; };
struct mm_in_at { mm_v32 v; struct mm_at c; };
struct mm_in_fv8 { mm_v32 v; struct mm_fv8 u; };
struct mm_in_ld { mm_v32 v; struct mm_ld u; };

/* unions: only an integer mode from a member; else the integer mode of their size */
union mm_u_ic8 { int a; char c[8]; } __attribute__((aligned(8)));
union mm_u_ll { long long a; } __attribute__((aligned(8)));
union mm_u_c8 { char c[8]; } __attribute__((aligned(8)));
union mm_u_i2 { int a; int b[2]; } __attribute__((aligned(8)));
union mm_u_ii { int a; int b; } __attribute__((aligned(4)));
union mm_u_is { int a; short b; } __attribute__((aligned(4)));
union mm_u_f { float a; } __attribute__((aligned(4)));
union mm_u_fi { float f; int i; } __attribute__((aligned(4)));
union mm_u_d { double d; } __attribute__((aligned(8)));
struct mm_in_u_ic8 { mm_v32 v; union mm_u_ic8 u; };
struct mm_in_u_ll { mm_v32 v; union mm_u_ll u; };
struct mm_in_u_c8 { mm_v32 v; union mm_u_c8 u; };
struct mm_in_u_i2 { mm_v32 v; union mm_u_i2 u; };
struct mm_in_u_ii { mm_v32 v; union mm_u_ii u; };
struct mm_in_u_is { mm_v32 v; union mm_u_is u; };
struct mm_in_u_f { mm_v32 v; union mm_u_f u; };
struct mm_in_u_fi { mm_v32 v; union mm_u_fi u; };
struct mm_in_u_d { mm_v32 v; union mm_u_d u; };

/* bit-fields, packed records and one-element arrays of them */
struct mm_bw { int x:32; } __attribute__((aligned(4)));
struct mm_bw2 { unsigned x:20; unsigned y:12; } __attribute__((aligned(4)));
struct mm_pk { int a; mm_c1 b[1]; } __attribute__((packed));
struct mm_pk2 { short a; mm_c1 b[2]; } __attribute__((packed, aligned(4)));
struct mm_pk2_arr { struct mm_pk2 q[1]; };
struct mm_in_bw { mm_v32 v; struct mm_bw b; };
struct mm_in_bw2 { mm_v32 v; struct mm_bw2 b; };
struct mm_in_pk { mm_v32 v; struct mm_pk p; };
struct mm_in_pk2 { mm_v32 v; struct mm_pk2 p; };
struct mm_in_pk2_arr { mm_v32 v; struct mm_pk2_arr n; };

/* i386: flexible and zero-length arrays, one-element arrays, vectors, bit-fields */
struct mm_fam { _Atomic long long x; char fam[]; };
struct mm_in_fam { char c; struct mm_fam y; };
struct mm_fam_f { _Atomic double x; float fam[]; };
struct mm_in_fam_f { char c; struct mm_fam_f y; };
struct mm_zla { _Atomic long long x; char z[0]; };
struct mm_in_zla { char c; struct mm_zla y; };
struct mm_a1 { _Atomic long long d[1]; };
struct mm_in_a1 { char c; struct mm_a1 y; };
struct mm_bf { long long x:40; long long y:24; };
struct mm_in_bf { char c; struct mm_bf y; };
struct mm_fv { mm_v8 v; };
struct mm_in_fv { char c; struct mm_fv y; };
struct mm_iv { mm_iv8 v; };
struct mm_in_iv { char c; struct mm_iv y; };
