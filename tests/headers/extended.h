/* GNU C types beyond the integer scalars: _Atomic, _Complex, vectors, mode(), the optional float
 * types each compiler has (guarded by the macros it predefines with them), _Alignas on a struct
 * declaration, typeof, and the constructs kernel and libc headers use in declarations. */
struct ext_atomic { char c; _Atomic long long x; _Atomic struct { char b[3]; } odd; _Atomic short s; };
struct ext_complex { char c; _Complex float f; _Complex double d; _Complex long double ld; _Complex int i; };
typedef int ext_v4si __attribute__((vector_size(16)));
typedef short ext_v2hi __attribute__((__vector_size__(4)));
struct ext_vectors { char c; ext_v4si v; ext_v2hi h; double __attribute__((vector_size(32))) wide; };
typedef int ext_qi __attribute__((__mode__(__QI__)));
typedef unsigned int ext_di __attribute__((mode(DI)));
typedef int ext_word __attribute__((mode(word)));
typedef int ext_ptr __attribute__((mode(pointer)));
struct ext_modes { ext_qi a; ext_di b; ext_word w; ext_ptr p; int m __attribute__((mode(HI))); };
#ifdef __SIZEOF_INT128__
struct ext_int128 { char c; __int128 i; unsigned __int128 u; };
#endif
#ifdef __FLT16_MAX__
struct ext_f16 { char c; _Float16 h; };
#endif
#ifdef __FLT128_MAX__
struct ext_f128 { char c; _Float128 q; };
#endif
_Alignas(32) struct ext_alignas_decl { int a; } ext_alignas_object;
struct ext_typeof { __typeof__(((struct ext_atomic *)0)->s) s; typeof(sizeof(int)) z;
                    char buf[sizeof(struct ext_complex) / sizeof(int)]; };
static inline int ext_body(int x) { return ({ int y = x; _Generic(y, int: 1, default: 2); }); }
enum ext_generic { EG = _Generic(1L, long: 7, default: 3), EC = __builtin_choose_expr(1, 5, 6) };
struct ext_generic_dim { char a[EG]; char b[__builtin_types_compatible_p(int, signed int) + 1]; };

/* An array takes TYPE_USER_ALIGN from its element (the kernel's rb_node on m68k: aligned(4) above
 * the 2-byte int alignment; its container is 4-aligned through the array too) */
struct ext_rb_node { unsigned long c; struct ext_rb_node *r, *l; } __attribute__((aligned(sizeof(long))));
struct ext_latch { struct ext_rb_node node[2]; };
struct ext_rb_arr { short a; struct ext_latch arr[3]; };
