/* GNU attributes in every position kernel/UAPI headers use them. */
struct at_packed { char c; int i; long long ll; } __attribute__((packed));
struct __attribute__((__packed__)) at_packed_front { char c; short s; };
struct at_aligned { char c; } __attribute__((aligned(16)));
struct __attribute__((__aligned__(8))) at_aligned_front { short s; };
struct at_packed_aligned { char c; int i; } __attribute__((packed, aligned(4)));
struct at_member_aligned { char c; int i __attribute__((aligned(16))); char d; };
struct at_member_aligned_before { char c; __attribute__((aligned(8))) short s; char d; };
struct at_member_packed { char c; int i __attribute__((packed)); char d; };
struct at_member_packed_aligned { char c; int i __attribute__((packed, aligned(2))); char d; };
struct at_in_packed_aligned { char c; int i __attribute__((aligned(8))); } __attribute__((packed));
struct at_alignas { char c; _Alignas(8) int i; _Alignas(long long) char d; };
typedef int at_aint __attribute__((aligned(8)));
typedef int at_lowint __attribute__((aligned(2)));
struct at_typedef_align { char c; at_aint x; char d; };
struct at_typedef_low { char c; at_lowint x; };
struct at_typedef_in_packed { char c; at_aint x; } __attribute__((packed));
typedef struct { long long v; } __attribute__((aligned(8))) at_u64a;
struct at_u64a_user { char c; at_u64a v; };
struct at_nested_packed { char c; struct at_packed p; char d; };
struct at_inner_packed_struct { char c; struct { char a; int b; } __attribute__((packed)) in; };
struct at_bare_aligned { char c; } __attribute__((aligned));
struct at_ptr_aligned { char c; int *p __attribute__((aligned(16))); };
struct at_arr_aligned { char c; int z[3] __attribute__((__aligned__(sizeof(long)))); };
struct at_two_decls { char c; int a, b __attribute__((aligned(8))); };
struct at_extension { __extension__ union { int q; long r; }; __signed__ char s; };
struct at_int128 { char c; unsigned long x[2]; };
typedef unsigned int at_u32;
typedef at_u32 at_u32b;
typedef at_u32b at_arr_t[4];
struct at_chain { at_arr_t a; at_u32b b; };
typedef struct at_packed at_packed_t;
struct at_fwd;
struct at_ptr_to_incomplete { struct at_fwd *p; struct at_self *self; };
struct at_list { struct at_list *next, *prev; };
typedef __typeof__(sizeof(int)) at_size_t;
typedef __typeof__(int) at_int_t;
struct at_static_assert_member { int a; _Static_assert(sizeof(int) == 4, "int is 4"); int b; };
static inline int at_inline(int x) { __asm__ __volatile__("" ::: "memory"); return x + 1; }
extern int at_prototype(struct at_packed *p, int n);
/* The record's user-alignment flag (it decides whether GCC caps _Alignof at __BIGGEST_ALIGNMENT__):
 * a zero-width bit-field's aligned() below its type's alignment does not set it; a packed member
 * of an aligned typedef does (layout_decl takes the type's flag before it packs). */
typedef unsigned int attrs_u4 __attribute__((aligned(4)));
union attrs_zero_aligned1 { char __attribute__((vector_size(32))) v; __attribute__((aligned(1))) unsigned long long : 0; };
struct attrs_zero_aligned1s { char __attribute__((vector_size(32))) v; __attribute__((aligned(1))) unsigned long long : 0; };
struct attrs_packed_aligned_typedef { __attribute__((packed)) attrs_u4 a; char __attribute__((vector_size(16))) v; };
