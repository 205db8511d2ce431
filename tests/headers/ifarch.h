/* #if branches that must go the arch's way (built-in preprocessor vs the compiler's -E). */
#include "ifarch_inc.h"
#define CAT(a, b) a##b
#define STR(x) #x
#define WORDS(n) ((n) / IF_BITS_PER_LONG)
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
struct if_order { char big; };
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
struct if_order { short little; };
#else
#error "unknown byte order"
#endif
#if defined(__LP64__) && !defined(__ILP32__)
typedef long if_word_t;
#else
typedef long long if_word_t;
#endif
#ifdef __CHAR_UNSIGNED__
struct if_char { unsigned char uc[2]; };
#else
struct if_char { signed char sc[3]; };
#endif
struct CAT(if_, pasted) { unsigned long bits[WORDS(128)]; if_word_t w; };
#if IF_BITS_PER_LONG == 64 && (1 ? 2 : 3) == 2 && !0
enum if_bpl { IF_BPL = 64 };
#else
enum if_bpl { IF_BPL = 32 };
#endif
#undef CAT
#ifndef CAT
struct if_undef_ok { int ok; };
#endif
