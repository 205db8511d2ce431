/* Bit-field layouts in the style of the compilers' own test suites, where GCC and clang are
 * known to (or might) disagree: explicit alignment on bit-fields, #pragma pack, packed,
 * zero-width and unnamed bit-fields.  Cases after clang/test/Sema/bitfield-layout.c (g*),
 * clang/test/Sema/pragma-pack-and-bitfields (pp*) and gcc/testsuite/gcc.dg/bf-spl1.c (packed
 * bit-fields in a union).  tests/test_compiler_divergence.py lays them out with both compilers
 * on every arch that has both and checks each against the model's prediction for that compiler.
 *
 * Known divergences (GCC 12 vs clang 22): cd_issue_g, cd_issue_pack, cd_g7, cd_pp_big, cd_pp_four,
 * cd_packed_vector.
 */

/* the issue's two examples */
struct cd_issue_g { char :1; __attribute__((aligned(1))) int n:25; };
#pragma pack(2)
struct cd_issue_pack { char c; int __attribute__((aligned(8))) b:4; };
#pragma pack()

/* explicit alignment on bit-fields, bigger and smaller than the type's */
struct cd_g0 { char a; __attribute__((aligned(16))) int b:1; char c; };
struct cd_g1 { char a; __attribute__((aligned(2))) int b:1; char c; };
struct __attribute__((packed)) cd_g3 { char a; __attribute__((aligned(16))) int b:1; char c; };
struct __attribute__((packed)) cd_g4 { char a; __attribute__((aligned(2))) int b:1; char c; };
struct cd_g5 { char :1; __attribute__((aligned(1))) int n:24; };
struct __attribute__((packed)) cd_g6 { char :1; __attribute__((aligned(1))) int n:24; };
struct cd_g7 { char :1; __attribute__((aligned(1))) int n:25; char after; };
struct __attribute__((packed)) cd_g8 { char :1; __attribute__((aligned(1))) int n:25; };
struct cd_g9 { __attribute__((aligned(1))) char a:2, b:2, c:2, d:2, e:2; int i; };
struct cd_g11 { char a; __attribute__((aligned(1))) long long b:62; char c; };
struct __attribute__((packed)) cd_g12 { char a; __attribute__((aligned(1))) long long b:62; char c; };
struct cd_g13 { char a; __attribute__((aligned(2))) short s:9; __attribute__((aligned(2))) int n:20; };
struct cd_f { __attribute__((aligned(8))) int x:30, y:30, z:30; };

/* zero-width and unnamed bit-fields */
struct cd_a { char x; int :0; char y; };
struct __attribute__((packed)) cd_a2 { short x:9; char :0; int y:17; };
struct __attribute__((packed)) cd_a3 { short x:9; int :0; };
union cd_b { char x; int :0; char y; };
struct cd_c { char x; int :20; };
union cd_d { char x; int :20; };
struct __attribute__((packed)) cd_e { int x:4, y:30, z:30; };

/* #pragma pack with bit-fields */
#pragma pack(2)
struct cd_pp_s0 { char f1; unsigned f2:32; char f3; };
struct cd_pp_s1 { char f1; unsigned :0; char f3; };
struct cd_pp_s2 { char f1; unsigned :0; unsigned f3:8; char f4; };
struct cd_pp_s3 { char f1; unsigned f2:9; unsigned f3:30; };
struct cd_pp_big { char c; short s:3; __attribute__((aligned(4))) int n:5; };
struct cd_pp_small { char c; __attribute__((aligned(2))) int n:5; };
#pragma pack()
#pragma pack(4)
struct cd_pp_four { char c; __attribute__((aligned(2))) long long n:40; __attribute__((aligned(8))) int m:3; };
#pragma pack()

/* packed bit-fields in a union (gcc.dg/bf-spl1.c) */
union cd_flo {
    long long foo;
    double value;
    struct {
        unsigned long long fraction:52 __attribute__((packed));
        unsigned int exp:11 __attribute__((packed));
        unsigned int sign:1 __attribute__((packed));
    } bits;
};

/* aligned(N) on zero-width bit-fields: both compilers move the next field to N when N is larger */
struct cd_z1 { char a; __attribute__((aligned(1))) long long :0; char c; };
struct cd_z2 { char a; int :0 __attribute__((aligned(16))); char c; };
#pragma pack(2)
struct cd_z3 { char a; int :0 __attribute__((aligned(16))); char c; };
#pragma pack()
union cd_z4 { char a; int :0 __attribute__((aligned(16))); char c; };

/* a trailing packed on a vector field of chars: GCC judges it on the field's type before
 * vector_size applied (char: ignored, the vector stays 8-aligned); clang packs it (1-aligned) */
struct cd_packed_vector { char c; char __attribute__((vector_size(8))) v __attribute__((packed)); };
struct cd_packed_vector_lead { char c; __attribute__((packed)) char __attribute__((vector_size(8))) v; };
