/*
 * helpers.c - the compiler support routines 32-bit code calls for 64-bit
 * division and bit counting (libgcc's names: __udivdi3, __umoddi3, __ctzdi2,
 * __popcountdi2), so the driver links without the compiler's runtime
 * library where that library is unusable (Debian's 32-bit sparc libgcc,
 * lib32gcc-12-dev-sparc64-cross, is V8+ code, and linking any of it marks
 * the whole binary V8+, which qemu-sparc refuses) or costly to build (zig
 * builds compiler-rt per target on first use: bitlayout/backends/runtimes.py
 * links it only where these do not suffice).  An archive member is only
 * pulled in for a symbol nothing else defines, so with these here -lgcc adds
 * only what they do not cover (sh4's __udivsi3_i4i); a routine missing from
 * both fails at link time.  Plain shift-and-subtract and bit loops: no
 * division, no builtins, so none of them can call itself.
 */

unsigned long long __udivdi3(unsigned long long n, unsigned long long d);
unsigned long long __umoddi3(unsigned long long n, unsigned long long d);
int __ctzdi2(unsigned long long x);
int __popcountdi2(unsigned long long x);

/* Long division, one quotient bit per step; d != 0 (C: division by zero is UB). */
static unsigned long long bl_udivmod(unsigned long long n, unsigned long long d, unsigned long long *rem)
{
    unsigned long long q = 0, r = 0;
    int i;
    for (i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    *rem = r;
    return q;
}

unsigned long long __udivdi3(unsigned long long n, unsigned long long d)
{
    unsigned long long r;
    return bl_udivmod(n, d, &r);
}

unsigned long long __umoddi3(unsigned long long n, unsigned long long d)
{
    unsigned long long r;
    bl_udivmod(n, d, &r);
    return r;
}

/* x != 0, as for __builtin_ctzll. */
int __ctzdi2(unsigned long long x)
{
    int n = 0;
    while (!(x & 1) && n < 64) {
        x >>= 1;
        n++;
    }
    return n;
}

int __popcountdi2(unsigned long long x)
{
    int n = 0;
    while (x) {
        n += (int)(x & 1);
        x >>= 1;
    }
    return n;
}

#if defined(__hexagon__)
/* Hexagon's clang calls division helpers of its own names (LLVM's runtime library calls for
 * Hexagon: UDIV_I32 __hexagon_udivsi3, UDIV_I64 __hexagon_udivdi3) with the C calling
 * convention; the kernel defines them itself the same way (arch/hexagon/lib/ of the kernel).
 * Here they save the driver compiler-rt, whose build is most of a first Hexagon driver build
 * (bitlayout/backends/runtimes.py). */
unsigned int __hexagon_udivsi3(unsigned int n, unsigned int d);
unsigned long long __hexagon_udivdi3(unsigned long long n, unsigned long long d);

unsigned int __hexagon_udivsi3(unsigned int n, unsigned int d)
{
    unsigned long long r;
    return (unsigned int)bl_udivmod(n, d, &r);
}

unsigned long long __hexagon_udivdi3(unsigned long long n, unsigned long long d)
{
    unsigned long long r;
    return bl_udivmod(n, d, &r);
}
#endif
