/* _Atomic members, records and arrays, where GCC's layout has two quirks (measured with GCC 12 on
 * every arch; found by tests/test_layout_random.py):
 *  - i386: x86_field_alignment caps at 4 a member whose type has an integer, DFmode or DCmode mode,
 *    records included.  An 8-aligned record gets one when its 8 bytes are an _Atomic long long or
 *    an _Atomic 8-byte struct; _Alignof of such a record is 4, a member of it is 4-aligned.
 *  - every arch: an array of an _Atomic type is aligned like an array of the unqualified type
 *    (`_Atomic struct { char c[8]; } a[1]` is 1-aligned). */
typedef _Atomic struct { char c[8]; } ar_as8;
typedef _Atomic struct { char c[4]; } ar_as4;
typedef _Atomic long long ar_all;
typedef _Atomic _Complex float ar_acf;
struct ar_only_as8 { ar_as8 f; };
struct ar_char_as8 { char x; ar_as8 f; };
struct ar_only_all { ar_all f; };
struct ar_char_all { char x; ar_all f; };
union ar_u_as8 { ar_as8 f; };
union ar_u_as8_cll { ar_as8 f; _Complex long long x; };
union ar_u_as8_ll { ar_as8 f; long long x; };
union ar_u_as8_int { ar_as8 f; int x; };
union ar_u_as8_double { ar_as8 f; double d; };
struct ar_as8_cll { ar_as8 f; _Complex long long x; };
struct ar_as8_ll { ar_as8 f; long long x; };
struct ar_in_middle { char c; ar_as8 f; int x; };
union ar_u_all_int { ar_all f; int x; };
struct ar_wrap_only { char c; struct ar_only_as8 a; };
struct ar_wrap_union { char c; union ar_u_as8_ll u; };
struct ar_wrap_char_as8 { char c; struct ar_char_as8 a; };
struct ar_anon { union { ar_as8 f4; short __attribute__((vector_size(4))) f5; }; unsigned short g; };
struct ar_double { _Atomic double d; };
struct ar_wrap_double { char c; struct ar_double d; };
struct ar_cdouble { _Atomic _Complex double z; };
struct ar_wrap_cdouble { char c; struct ar_cdouble z; };
struct ar_floats { _Atomic float f; _Atomic float g; };
struct ar_nested { struct ar_only_as8 inner; };
struct ar_wrap_nested { char c; struct ar_nested t; };
struct ar_user { ar_as8 f; } __attribute__((aligned(8)));
struct ar_wrap_user { char c; struct ar_user g; };
struct ar_two { ar_all a; ar_all b; };
struct ar_wrap_two { char c; struct ar_two h; };
struct ar_zero_tail { ar_as8 f; int z[0]; };
struct ar_wrap_zero_tail { char c; struct ar_zero_tail z; };
struct ar_bits { ar_all f; int x : 3; };
struct ar_wrap_bits { char c; struct ar_bits b; };
struct ar_wrap_atomic_record { char c; _Atomic struct ar_only_as8 a; };
struct ar_array1 { ar_as8 a[1]; };
struct ar_wrap_array1 { char c; struct ar_array1 v; };
struct ar_array2 { ar_as4 a[2]; };
struct ar_short_array { _Atomic short a[1]; };
struct ar_acf_array { ar_acf a[2]; };
struct ar_wrap_acf_array { char c; ar_acf a[2]; };
struct ar_acf_alone { ar_acf a; };
struct ar_array_2d { ar_as8 a[1][2]; };
union ar_u_array { ar_as8 a[1]; };
struct ar_all_array { char c; ar_all a[2]; };
typedef ar_as8 ar_as8_aligned __attribute__((aligned(8)));
struct ar_aligned_typedef_array { char c; ar_as8_aligned a[1]; };
/* an element named by a typedef whose type is qualified: the array is laid out from the
 * unqualified type without any typedef's aligned (a qualifier written at the declaration keeps it) */
typedef struct { char c[8]; } ar_s8;
typedef ar_s8 ar_s8_a8 __attribute__((aligned(8)));
typedef const ar_s8_a8 ar_const_a8;
typedef const ar_s8 ar_const_s8_a8 __attribute__((aligned(8)));
typedef _Atomic ar_s8_a8 ar_atomic_a8;
typedef ar_const_a8 ar_const_a8_again;
typedef volatile ar_s8 ar_volatile_a4 __attribute__((aligned(4)));
typedef ar_const_a8 ar_const_a8_array[1];
typedef ar_s8_a8 ar_a8_array[1];
typedef long long ar_ll8 __attribute__((aligned(8)));
struct ar_q1 { char c; ar_s8_a8 a[1]; };
struct ar_q2 { char c; const ar_s8_a8 a[1]; };
struct ar_q3 { char c; ar_const_a8 a[1]; };
struct ar_q4 { char c; ar_const_s8_a8 a[1]; };
struct ar_q5 { char c; volatile ar_s8_a8 a[1]; };
struct ar_q6 { char c; ar_atomic_a8 a[1]; };
struct ar_q7 { char c; _Atomic ar_s8_a8 a[1]; };
struct ar_q8 { char c; ar_const_a8 x; ar_const_a8 a[2][1]; };
struct ar_q9 { char c; ar_const_a8_again a[1]; };
struct ar_q10 { char c; ar_volatile_a4 a[1]; ar_volatile_a4 x; };
struct ar_q11 { char c; ar_const_a8_array a; };
struct ar_q12 { char c; const ar_a8_array a; };
struct ar_q13 { char c; _Atomic long long a[1]; };
struct ar_q14 { char c; const ar_ll8 a[1]; };
struct ar_q15 { char c; _Atomic ar_ll8 a[1]; };
struct ar_q16 { char c; _Atomic struct { char c[8]; } a[1]; };
