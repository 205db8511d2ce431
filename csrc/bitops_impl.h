/*
 * bitops_impl.h - one word-width variant of the bitmap-wide bitops (find_*_bit,
 * bitmap_*, bitmap_{to,from}_arr*); included by bitops.c once per width with
 * BL_W (8, 16, 32, 64) and BL_T (the word type) defined.  The single-word ones
 * are inline in bitops_word.h.  No include guard on purpose.
 */
#define BL_PASTE_(a, b) a##_w##b
#define BL_PASTE(a, b) BL_PASTE_(a, b)
#define BLF(name) BL_PASTE(name, BL_W)

/* All-ones word, and the kernel's masks (include/linux/bitmap.h
 * BITMAP_FIRST_WORD_MASK / BITMAP_LAST_WORD_MASK).
 * The casts keep 8- and 16-bit words from promoting to a signed int. */
#define BL_ONES ((BL_T) ~(BL_T)0)
#define BL_FIRST_WORD_MASK(start) ((BL_T)(BL_ONES << ((start) % BL_W)))
#define BL_LAST_WORD_MASK(nbits) ((BL_T)(BL_ONES >> ((0u - (unsigned)(nbits)) & (BL_W - 1))))

/* lib/find_bit.c FIND_NEXT_BIT: scan words from `start`, mask the first
 * word, and return `size` when nothing is found (never more than size). */
static unsigned long BLF(bl_find)(const BL_T *addr, unsigned long size, unsigned long start,
                                  BL_T invert)
{
    unsigned long idx, r;
    BL_T tmp;
    if (start >= size)
        return size;
    idx = start / BL_W;
    tmp = (BL_T)((addr[idx] ^ invert) & BL_FIRST_WORD_MASK(start));
    while (!tmp) {
        idx++;
        if (idx * BL_W >= size)
            return size;
        tmp = (BL_T)(addr[idx] ^ invert);
    }
    r = idx * BL_W + (unsigned long)__builtin_ctzll((unsigned long long)tmp);
    return r < size ? r : size;
}
unsigned long BLF(bl_find_first_bit)(const BL_T *addr, unsigned long size)
{
    return BLF(bl_find)(addr, size, 0, 0);
}
unsigned long BLF(bl_find_first_zero_bit)(const BL_T *addr, unsigned long size)
{
    return BLF(bl_find)(addr, size, 0, BL_ONES);
}
unsigned long BLF(bl_find_next_bit)(const BL_T *addr, unsigned long size, unsigned long offset)
{
    return BLF(bl_find)(addr, size, offset, 0);
}
unsigned long BLF(bl_find_next_zero_bit)(const BL_T *addr, unsigned long size,
                                         unsigned long offset)
{
    return BLF(bl_find)(addr, size, offset, BL_ONES);
}

/* include/linux/bitmap.h: zero, fill and copy work on whole words (fill sets
 * the tail bits past nbits too); and/andnot/intersects/subset/weight mask the
 * last word with BITMAP_LAST_WORD_MASK (lib/bitmap.c __bitmap_and & co). */
void BLF(bl_bitmap_zero)(BL_T *dst, unsigned int nbits)
{
    memset(dst, 0, BL_BITS_TO_WORDS(nbits, BL_W) * sizeof(BL_T));
}
void BLF(bl_bitmap_fill)(BL_T *dst, unsigned int nbits)
{
    memset(dst, 0xff, BL_BITS_TO_WORDS(nbits, BL_W) * sizeof(BL_T));
}
void BLF(bl_bitmap_copy)(BL_T *dst, const BL_T *src, unsigned int nbits)
{
    memcpy(dst, src, BL_BITS_TO_WORDS(nbits, BL_W) * sizeof(BL_T));
}
int BLF(bl_bitmap_and)(BL_T *dst, const BL_T *a, const BL_T *b, unsigned int nbits)
{
    unsigned int k, lim = nbits / BL_W;
    BL_T result = 0;
    for (k = 0; k < lim; k++)
        result |= (dst[k] = (BL_T)(a[k] & b[k]));
    if (nbits % BL_W)
        result |= (dst[k] = (BL_T)(a[k] & b[k] & BL_LAST_WORD_MASK(nbits)));
    return result != 0;
}
void BLF(bl_bitmap_or)(BL_T *dst, const BL_T *a, const BL_T *b, unsigned int nbits)
{
    unsigned int k, nr = BL_BITS_TO_WORDS(nbits, BL_W);
    for (k = 0; k < nr; k++)
        dst[k] = (BL_T)(a[k] | b[k]);
}
int BLF(bl_bitmap_andnot)(BL_T *dst, const BL_T *a, const BL_T *b, unsigned int nbits)
{
    unsigned int k, lim = nbits / BL_W;
    BL_T result = 0;
    for (k = 0; k < lim; k++)
        result |= (dst[k] = (BL_T)(a[k] & (BL_T)~b[k]));
    if (nbits % BL_W)
        result |= (dst[k] = (BL_T)(a[k] & (BL_T)~b[k] & BL_LAST_WORD_MASK(nbits)));
    return result != 0;
}
int BLF(bl_bitmap_intersects)(const BL_T *a, const BL_T *b, unsigned int nbits)
{
    unsigned int k, lim = nbits / BL_W;
    for (k = 0; k < lim; k++)
        if (a[k] & b[k])
            return 1;
    if (nbits % BL_W)
        if ((a[k] & b[k]) & BL_LAST_WORD_MASK(nbits))
            return 1;
    return 0;
}
int BLF(bl_bitmap_subset)(const BL_T *a, const BL_T *b, unsigned int nbits)
{
    unsigned int k, lim = nbits / BL_W;
    for (k = 0; k < lim; k++)
        if (a[k] & (BL_T)~b[k])
            return 0;
    if (nbits % BL_W)
        if ((a[k] & (BL_T)~b[k]) & BL_LAST_WORD_MASK(nbits))
            return 0;
    return 1;
}
unsigned int BLF(bl_bitmap_weight)(const BL_T *src, unsigned int nbits)
{
    unsigned int k, lim = nbits / BL_W, w = 0;
    for (k = 0; k < lim; k++)
        w += (unsigned int)__builtin_popcountll((unsigned long long)src[k]);
    if (nbits % BL_W)
        w += (unsigned int)__builtin_popcountll(
            (unsigned long long)(BL_T)(src[k] & BL_LAST_WORD_MASK(nbits)));
    return w;
}

/* lib/bitmap.c bitmap_to_arr64 / bitmap_from_arr64 (32-bit kernels; on
 * 64-bit they are bitmap_copy_clear_tail) and bitmap_to_arr32 /
 * bitmap_from_arr32 (64-bit kernels).  Element i of the array holds bitmap
 * bits [N*i, N*i+N) whatever the word order in memory; only the words below
 * BITS_TO_LONGS(nbits) are read or written, and the tail bits past nbits are
 * cleared in the last element (the later fix the 32-bit LE case needed). */
#define BL_DEFINE_ARR(N)                                                                   \
    void BLF(bl_bitmap_to_arr##N)(uint##N##_t *buf, const BL_T *bitmap, unsigned int nbits) \
    {                                                                                      \
        unsigned int nelem = (nbits + N - 1) / N, nw = BL_BITS_TO_WORDS(nbits, BL_W), k;    \
        for (k = 0; k < nelem; k++)                                                        \
            buf[k] = 0;                                                                    \
        if (BL_W <= N) {                                                                   \
            for (k = 0; k < nw; k++)                                                       \
                buf[(k * BL_W) / N] |= (uint##N##_t)((uint##N##_t)bitmap[k]                \
                                                    << ((k * BL_W) % N));                  \
        } else {                                                                           \
            for (k = 0; k < nelem; k++)                                                    \
                buf[k] = (uint##N##_t)((unsigned long long)bitmap[(k * N) / BL_W]          \
                                       >> ((k * N) % BL_W));                               \
        }                                                                                  \
        if (nbits % N)                                                                     \
            buf[nelem - 1] &= (uint##N##_t)(~(uint##N##_t)0 >> (N - nbits % N));          \
    }                                                                                      \
    void BLF(bl_bitmap_from_arr##N)(BL_T *bitmap, const uint##N##_t *buf, unsigned int nbits) \
    {                                                                                      \
        unsigned int nelem = (nbits + N - 1) / N, nw = BL_BITS_TO_WORDS(nbits, BL_W), k, e; \
        unsigned int per = BL_W > N ? BL_W / N : 1;                                        \
        for (k = 0; k < nw; k++) {                                                         \
            if (BL_W <= N) {                                                               \
                bitmap[k] = (BL_T)(buf[(k * BL_W) / N] >> ((k * BL_W) % N));               \
            } else {                                                                       \
                unsigned long long v = 0;                                                  \
                for (e = 0; e < per && k * per + e < nelem; e++)                         \
                    v |= (unsigned long long)buf[k * per + e] << (e * N);                  \
                bitmap[k] = (BL_T)v;                                                       \
            }                                                                              \
        }                                                                                  \
        if (nbits % BL_W)                                                                  \
            bitmap[nw - 1] &= BL_LAST_WORD_MASK(nbits);                                    \
    }                                                                                      \
    /* The naive `*(uN *)bitmap` view these functions replace; memcpy keeps it             \
     * free of aliasing UB while reading exactly the same bytes. */                        \
    void BLF(bl_naive_u##N##_view)(uint##N##_t *buf, const BL_T *bitmap, size_t nu)        \
    {                                                                                      \
        memcpy(buf, bitmap, nu * sizeof(uint##N##_t));                                     \
    }

BL_DEFINE_ARR(64)
BL_DEFINE_ARR(32)

#undef BL_DEFINE_ARR
#undef BL_ONES
#undef BL_FIRST_WORD_MASK
#undef BL_LAST_WORD_MASK
#undef BLF
#undef BL_PASTE
#undef BL_PASTE_
