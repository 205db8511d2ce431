/* Bitfields: storage units, straddling, zero-width and unnamed fields, signedness, wide types. */
struct bf_basic { unsigned a:1, b:2, c:3; int d:5; };
struct bf_straddle_int { char c; int x:30; };           /* cannot share c's unit: new int unit */
struct bf_straddle_short { char c; short x:9; };
struct bf_share { char c; int x:24; };                   /* fits in c's int unit */
struct bf_char { char a:3; char b:6; char c:7; };
struct bf_zero { char a; int :0; char b; };              /* zero width: next field to int boundary */
struct bf_zero_ll { char a; long long :0; char b; };
struct bf_zero_char { char a:3; char :0; char b:3; };
struct bf_unnamed { char a; int :5; char b; };           /* unnamed: no alignment contribution */
struct bf_unnamed_only { int :5; char b; };
struct bf_ll { char c; long long x:40; long long y:30; };
struct bf_ll2 { int a; long long b:33; };
struct bf_long { long a:7; unsigned long b:20; char c; };
struct bf_short { short a:3; short b:15; short c:2; };
struct bf_bool { _Bool a:1; _Bool b:1; char c; };
struct bf_signed { signed char a:4; unsigned char b:4; signed int c:16; };
struct bf_after_array { char arr[3]; int x:9; int y:17; };
struct bf_mixed { int a:3; long long b; int c:3; };
union bf_union { int a:3; char b:7; long long c:40; };
union bf_union_small { char a:3; short b:9; };
struct bf_full { unsigned int a:32; unsigned int b:32; };
struct bf_full_ll { unsigned long long a:64; char c; };
struct bf_packed { char c; int x:12; int y:9; } __attribute__((packed));
struct bf_packed_ll { char c; long long x:40; char d; } __attribute__((packed));
struct bf_packed_member { char c; int x:12 __attribute__((packed)); char d; };
struct bf_aligned_member { char c; int x:5 __attribute__((aligned(8))); char d; };
struct bf_enum_field { enum { BF_A, BF_B = 7 } e:3; unsigned f:5; };
typedef unsigned int u32_t;
struct bf_typedef { u32_t a:5; u32_t b:27; u32_t c:1; };
struct bf_in_nested { char c; struct { int a:4; int b:4; } inner; int tail:4; };
struct bf_anon { char c; struct { unsigned x:3; unsigned y:5; }; unsigned z:2; };
struct bf_many { unsigned long long a:13, b:13, c:13, d:13, e:13; };
struct bf_aligned1 { long long a:22 __attribute__((aligned(1))); long long b:22 __attribute__((aligned(1))); unsigned short c:4; };  /* found by BITLAYOUT_LONG_RUN=1000: aligned(1) still byte-aligns a bit-field */
