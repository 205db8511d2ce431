/*
 * driver.c - main() for running the shim on a foreign arch.
 *
 * Build every .c file in csrc/ together (no Python headers), e.g. from csrc/:
 *     python -m ziglang cc -target mips-linux-musleabi -static -O2 *.c -lpthread -o d
 *     m68k-linux-gnu-gcc -static -O2 *.c -lpthread -o d
 * or without any libc (csrc/freestanding: sh4, sparc): the same files except
 * workers_pthread.c, plus every .c file in freestanding/, with
 *     -static -ffreestanding -nostdlib -DBL_FREESTANDING -Ifreestanding/include -I. ... -lgcc
 * (bitlayout/backends/runtimes.py builds it; sh4 at -O0: docs/known-issues.md).
 * Run: feed request lines on stdin; one JSON response line per request on
 * stdout, in order; exit 0 at EOF.  Blank lines and lines starting with '#'
 * are skipped (no response).  One binary serves every word width: all four
 * variants are compiled in, and w= picks one.
 *
 * PROBE PROTOCOL (mirrored by bitlayout/probes.py; keep the two in step)
 *
 * Request: one line, `<probe> key=value ...`, characters [a-z0-9_=,: ] only.
 * Numbers are decimal; lists are comma-separated; ops are name:number.
 *   w=8|16|32|64   word width of the bitmap (absent or 0: unsigned long)
 *   n=N            bitmap length in words, 1..64
 *   id=N           the caller's request id (optional; bitlayout always sends it, first):
 *                  echoed as "id" so that every response is matched to its request
 *
 *   info                                  sizes, endianness, lock-free widths
 *   image    w n bits=36,41               zeroed bitmap, __set_bit(nr) each;
 *                                         nr may reach into the guards
 *   ops      w n ops=set:3,test:3,...     op sequence (names below)
 *   oob_read w n bits=.. reads=..         test_bit(nr) for nr in reads
 *   arr64    w n nbits=N bits=..          bitmap_to/from_arr64/arr32 + naive views
 *   find     w n nbits=N bits=.. starts=..  find_first/next(_zero)_bit
 *   tear     w n mode=words|whole readers=R ms=T max=M [events=E]
 *                                         (whole: one w-bit volatile access, n unused)
 *   lost_update w threads=K mode=atomic|nonatomic ms=T max=M [events=E]
 *   lost_tag threads=K align=A mode=atomic|nonatomic ms=T max=M [events=E]
 *                                         (events=E: stop once a thread saw E torn
 *                                         reads / lost updates; 0 or absent: run to T or M)
 *   alloc    size=S align=A slab_minalign=X kmalloc_minalign=Y [count=C page=P]
 *
 * ops names: set clear change test_and_set test_and_clear test_and_change
 * (atomic), nset nclear nchange ntest_and_set ntest_and_clear
 * ntest_and_change (the kernel's __set_bit & co), test (test_bit) with a bit
 * number that may reach into the guard words; zero fill copy and or andnot
 * intersects subset weight with nbits (<= n * w) on A (and B, the second
 * operand: copy is A = B, and is A = A & B, subset is "A subset of B");
 * bset bclear set/clear a bit of B.
 *
 * Guards: BL_GUARD_WORDS (8) words before and after every bitmap.  Bit
 * numbers past the guards are refused.
 *
 * Response: one JSON object per line, always with "probe", "ok", "request"
 * (the request line echoed), and "id" when the request had one.  ok=false: "error" is a one-line message.
 * ok=true: "word_bits" (the width used), "values" (what was observed:
 * compare these), "evidence" (how: timings, thread counts, sizeof(long),
 * lock-free-ness; never compared).
 *   image: values.bytes = bitmap bytes in address order (hex),
 *          values.guards = [{"side": "before"|"after", "index": i, "bits": [b..]}]
 *          (index 0 = the guard word next to the bitmap; bits = bit numbers
 *          in that word that changed; writes run against zero and all-ones
 *          guards and the changes are merged)
 *   ops:   bytes, guards, returns (per op: int, or null for void ops, with zero
 *          guards), returns_guard_ones (the same with all-ones guards)
 *   oob_read: reads (values with all-ones guards), guard_reads (the bit
 *          numbers whose value came from a guard word)
 *   arr64: to_arr64, naive_u64 (16-digit hex strings), to_arr32, naive_u32
 *          (8-digit), from_arr64_bytes, from_arr64_guards, from_arr32_bytes,
 *          from_arr32_guards (from all-ones arrays)
 *   find:  first, first_zero, next [..], next_zero [..]
 *   tear:  reads, torn, first_us (-1: none), writes
 *   lost_update: ops, lost, first_us;  lost_tag: ops, lost, corrupt, first_us
 *   alloc: malloc, aligned_alloc, slab, kmalloc (min trailing zero bits over
 *          all objects), slab_align, slab_object_size, kmalloc_size, kmalloc_align;
 *          malloc and aligned_alloc are null in the build without libc (evidence
 *          "malloc" says why): there is no C library allocator to observe
 * Every ok response's evidence also says "runtime": "libc" or "freestanding".
 */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static char line[BL_MAX_LINE + 2];
    static char out[BL_MAX_OUT];
    size_t len;

    while (fgets(line, sizeof line, stdin)) {
        len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            int c;
            /* Too long: drain the rest of the line and report it. */
            while ((c = getchar()) != EOF && c != '\n')
                ;
            printf("{\"probe\":\"?\",\"ok\":false,\"request\":\"\",\"error\":\"request longer "
                   "than %d characters\"}\n", BL_MAX_LINE);
            fflush(stdout);
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        bl_probe_run(line, out, sizeof out);
        fputs(out, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    return 0;
}
