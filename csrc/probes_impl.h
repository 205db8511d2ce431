/*
 * probes_impl.h - the bitmap probes for one word width; included by probes.c
 * once per width with BL_W and BL_T defined.  No include guard on purpose.
 *
 * Memory: one allocated region of BL_GUARD_WORDS guard words, the bitmap
 * (n words), then BL_GUARD_WORDS guard words.  Writes run twice, with guards
 * of all-zeros and of all-ones, so that a stray set, clear or flip changes
 * the canary in at least one pass; reads run against both canaries, so a
 * read whose value depends on the canary is a read of a guard word.
 */
#define BL_PASTE_(a, b) a##_w##b
#define BL_PASTE(a, b) BL_PASTE_(a, b)
#define BLF(name) BL_PASTE(name, BL_W)
#define BL_ONES ((BL_T) ~(BL_T)0)

static BL_T *BLF(bl_region)(void)
{
    BL_T *region = aligned_alloc(64, ((BL_REGION_WORDS * sizeof(BL_T) + 63) / 64) * 64);
    return region;
}

/* A zeroed guarded region with the request's `bits` set (non-atomically) in the
 * bitmap part; NULL when out of memory.  The bitmap starts at region + BL_GUARD_WORDS. */
static BL_T *BLF(bl_region_with_bits)(const struct bl_req *r)
{
    unsigned i;
    BL_T *region = BLF(bl_region)();
    if (!region)
        return NULL;
    memset(region, 0, BL_REGION_WORDS * sizeof(BL_T));
    for (i = 0; i < r->bits.len; i++)
        BLF(bl_nonatomic_set_bit)(r->bits.v[i], region + BL_GUARD_WORDS);
    return region;
}

static void BLF(bl_fill_guards)(BL_T *region, unsigned long n, BL_T canary)
{
    unsigned i;
    for (i = 0; i < BL_GUARD_WORDS; i++) {
        region[i] = canary;
        region[BL_GUARD_WORDS + n + i] = canary;
    }
}

/* Accumulate which guard bits differ from the canary. */
static void BLF(bl_diff_guards)(const BL_T *region, unsigned long n, BL_T canary,
                                unsigned long long *before, unsigned long long *after)
{
    unsigned i;
    for (i = 0; i < BL_GUARD_WORDS; i++) {
        before[i] |= (unsigned long long)(BL_T)(region[BL_GUARD_WORDS - 1 - i] ^ canary);
        after[i] |= (unsigned long long)(BL_T)(region[BL_GUARD_WORDS + n + i] ^ canary);
    }
}

static int BLF(bl_run_op)(int op, unsigned long arg, BL_T *a, BL_T *b)
{
    unsigned int nb = (unsigned int)arg;
    switch (op) {
    case OP_SET: BLF(bl_set_bit)(arg, a); return 0;
    case OP_CLEAR: BLF(bl_clear_bit)(arg, a); return 0;
    case OP_CHANGE: BLF(bl_change_bit)(arg, a); return 0;
    case OP_TAS: return BLF(bl_test_and_set_bit)(arg, a);
    case OP_TAC: return BLF(bl_test_and_clear_bit)(arg, a);
    case OP_TACH: return BLF(bl_test_and_change_bit)(arg, a);
    case OP_NSET: BLF(bl_nonatomic_set_bit)(arg, a); return 0;
    case OP_NCLEAR: BLF(bl_nonatomic_clear_bit)(arg, a); return 0;
    case OP_NCHANGE: BLF(bl_nonatomic_change_bit)(arg, a); return 0;
    case OP_NTAS: return BLF(bl_nonatomic_test_and_set_bit)(arg, a);
    case OP_NTAC: return BLF(bl_nonatomic_test_and_clear_bit)(arg, a);
    case OP_NTACH: return BLF(bl_nonatomic_test_and_change_bit)(arg, a);
    case OP_TEST: return BLF(bl_test_bit)(arg, a);
    case OP_ZERO: BLF(bl_bitmap_zero)(a, nb); return 0;
    case OP_FILL: BLF(bl_bitmap_fill)(a, nb); return 0;
    case OP_COPY: BLF(bl_bitmap_copy)(a, b, nb); return 0;
    case OP_AND: return BLF(bl_bitmap_and)(a, a, b, nb);
    case OP_OR: BLF(bl_bitmap_or)(a, a, b, nb); return 0;
    case OP_ANDNOT: return BLF(bl_bitmap_andnot)(a, a, b, nb);
    case OP_INTERSECTS: return BLF(bl_bitmap_intersects)(a, b, nb);
    case OP_SUBSET: return BLF(bl_bitmap_subset)(a, b, nb);
    case OP_WEIGHT: return (int)BLF(bl_bitmap_weight)(a, nb);
    case OP_BSET: BLF(bl_nonatomic_set_bit)(arg, b); return 0;
    default: BLF(bl_nonatomic_clear_bit)(arg, b); return 0;
    }
}

/* image: __set_bit(nr) for each nr in bits on a zeroed bitmap.
 * ops: the op sequence; bitmap B (n words, zeroed) is the second operand of
 * copy/and/or/andnot/intersects/subset and is changed only by bset/bclear. */
static int BLF(bl_probe_ops)(struct bl_req *r, struct bl_out *o)
{
    const unsigned long W = BL_W;
    int image = !strcmp(r->probe, "image"), rets[2][BL_MAX_LIST];
    unsigned long long before[BL_GUARD_WORDS] = {0}, after[BL_GUARD_WORDS] = {0};
    unsigned i, pass;
    BL_T *region, *b, *a;
    unsigned char bytes[BL_MAX_WORDS * 8];

    if (!r->has_n || r->n < 1 || r->n > BL_MAX_WORDS)
        return bl_fail(r, "bad value for n (want 1..%d): %lu", BL_MAX_WORDS, r->n);
    if (image) {
        if (r->has_ops)
            return bl_fail(r, "image takes bits, not ops");
        for (i = 0; i < r->bits.len; i++) {
            r->ops[i].op = OP_NSET;
            r->ops[i].arg = r->bits.v[i];
        }
        r->nops = r->bits.len;
    } else if (r->bits.set) {
        return bl_fail(r, "ops takes ops, not bits");
    }
    for (i = 0; i < r->nops; i++) {
        int op = r->ops[i].op;
        unsigned long arg = r->ops[i].arg;
        if (OP_IS_BULK(op) ? arg > r->n * W
                           : arg >= (OP_IS_B(op) ? r->n : r->n + BL_GUARD_WORDS) * W)
            return bl_fail(r, "%s:%lu reaches past the %s (%lu words of %lu bits, %d guard words)",
                           bl_op_names[op], arg, OP_IS_BULK(op) || OP_IS_B(op) ? "bitmap" : "guards",
                           r->n, W, BL_GUARD_WORDS);
    }
    region = BLF(bl_region)();
    b = BLF(bl_region)();
    if (!region || !b) {
        free(region);
        free(b);
        return bl_fail(r, "out of memory");
    }
    a = region + BL_GUARD_WORDS;
    for (pass = 0; pass < 2; pass++) {
        BL_T canary = pass ? BL_ONES : 0;
        memset(a, 0, r->n * sizeof(BL_T));
        memset(b, 0, r->n * sizeof(BL_T));
        BLF(bl_fill_guards)(region, r->n, canary);
        for (i = 0; i < r->nops; i++)
            rets[pass][i] = BLF(bl_run_op)(r->ops[i].op, r->ops[i].arg, a, b);
        BLF(bl_diff_guards)(region, r->n, canary, before, after);
        if (pass == 0)
            memcpy(bytes, a, r->n * sizeof(BL_T));
    }
    bl_put(o, "\"values\":{\"bytes\":");
    bl_put_hex_bytes(o, bytes, r->n * sizeof(BL_T));
    bl_put(o, ",\"guards\":");
    bl_put_guards(o, before, after, BL_W);
    if (!image) {
        for (pass = 0; pass < 2; pass++) {
            bl_put(o, pass ? ",\"returns_guard_ones\":[" : ",\"returns\":[");
            for (i = 0; i < r->nops; i++) {
                if (OP_IS_VOID(r->ops[i].op))
                    bl_put(o, "%snull", i ? "," : "");
                else
                    bl_put(o, "%s%d", i ? "," : "", rets[pass][i]);
            }
            bl_put(o, "]");
        }
    }
    bl_put(o, "},\"evidence\":{\"guard_words\":%d", BL_GUARD_WORDS);
    free(region);
    free(b);
    return 0;
}

/* oob_read: set `bits` (inside the bitmap), then test_bit each of `reads`
 * (up to the end of the guards) with all-ones guards and again with zero
 * guards.  reads = the all-ones pass; guard_reads = reads that differed. */
static int BLF(bl_probe_oob_read)(struct bl_req *r, struct bl_out *o)
{
    const unsigned long W = BL_W;
    int vals[2][BL_MAX_LIST];
    unsigned i, pass, first = 1;
    BL_T *region, *a;
    if (bl_check_bitmap(r, 0))
        return -1;
    for (i = 0; i < r->reads.len; i++)
        if (r->reads.v[i] >= (r->n + BL_GUARD_WORDS) * W)
            return bl_fail(r, "read of bit %lu reaches past the guards (%lu words of %lu bits, "
                              "%d guard words)", r->reads.v[i], r->n, W, BL_GUARD_WORDS);
    region = BLF(bl_region)();
    if (!region)
        return bl_fail(r, "out of memory");
    a = region + BL_GUARD_WORDS;
    for (pass = 0; pass < 2; pass++) {
        memset(a, 0, r->n * sizeof(BL_T));
        BLF(bl_fill_guards)(region, r->n, pass ? 0 : BL_ONES);
        for (i = 0; i < r->bits.len; i++)
            BLF(bl_nonatomic_set_bit)(r->bits.v[i], a);
        for (i = 0; i < r->reads.len; i++)
            vals[pass][i] = BLF(bl_test_bit)(r->reads.v[i], a);
    }
    bl_put(o, "\"values\":{\"reads\":[");
    for (i = 0; i < r->reads.len; i++)
        bl_put(o, "%s%d", i ? "," : "", vals[0][i]);
    bl_put(o, "],\"guard_reads\":[");
    for (i = 0; i < r->reads.len; i++)
        if (vals[0][i] != vals[1][i]) {
            bl_put(o, "%s%lu", first ? "" : ",", r->reads.v[i]);
            first = 0;
        }
    bl_put(o, "]},\"evidence\":{\"guard_words\":%d", BL_GUARD_WORDS);
    free(region);
    return 0;
}

/* arr64: bitmap_to_arr64/32 of the bitmap with `bits` set (tail bits past
 * nbits may be set too), next to the naive u64/u32 views of the same memory
 * (ceil(nbits / 64) or ceil(nbits / 32) elements; past the bitmap they read
 * zero guard words), and bitmap_from_arr64/32 of all-ones arrays into zeroed
 * guarded bitmaps (bytes written and guards hit). */
static int BLF(bl_probe_arr)(struct bl_req *r, struct bl_out *o)
{
    uint64_t a64[BL_MAX_WORDS + 1];
    uint32_t a32[2 * BL_MAX_WORDS + 1];
    unsigned long long before[BL_GUARD_WORDS], after[BL_GUARD_WORDS];
    unsigned i, n64, n32, which;
    BL_T *region, *a;
    if (bl_check_bitmap(r, 1))
        return -1;
    n64 = (unsigned)((r->nbits + 63) / 64);
    n32 = (unsigned)((r->nbits + 31) / 32);
    region = BLF(bl_region_with_bits)(r);
    if (!region)
        return bl_fail(r, "out of memory");
    a = region + BL_GUARD_WORDS;

    BLF(bl_bitmap_to_arr64)(a64, a, (unsigned)r->nbits);
    bl_put(o, "\"values\":{\"to_arr64\":[");
    for (i = 0; i < n64; i++)
        bl_put(o, "%s\"%016llx\"", i ? "," : "", (unsigned long long)a64[i]);
    BLF(bl_naive_u64_view)(a64, a, n64);
    bl_put(o, "],\"naive_u64\":[");
    for (i = 0; i < n64; i++)
        bl_put(o, "%s\"%016llx\"", i ? "," : "", (unsigned long long)a64[i]);
    BLF(bl_bitmap_to_arr32)(a32, a, (unsigned)r->nbits);
    bl_put(o, "],\"to_arr32\":[");
    for (i = 0; i < n32; i++)
        bl_put(o, "%s\"%08lx\"", i ? "," : "", (unsigned long)a32[i]);
    BLF(bl_naive_u32_view)(a32, a, n32);
    bl_put(o, "],\"naive_u32\":[");
    for (i = 0; i < n32; i++)
        bl_put(o, "%s\"%08lx\"", i ? "," : "", (unsigned long)a32[i]);
    bl_put(o, "]");

    for (which = 0; which < 2; which++) {
        memset(before, 0, sizeof before);
        memset(after, 0, sizeof after);
        memset(region, 0, BL_REGION_WORDS * sizeof(BL_T));
        if (which == 0) {
            for (i = 0; i < n64; i++)
                a64[i] = ~(uint64_t)0;
            BLF(bl_bitmap_from_arr64)(a, a64, (unsigned)r->nbits);
        } else {
            for (i = 0; i < n32; i++)
                a32[i] = ~(uint32_t)0;
            BLF(bl_bitmap_from_arr32)(a, a32, (unsigned)r->nbits);
        }
        BLF(bl_diff_guards)(region, r->n, 0, before, after);
        bl_put(o, which ? ",\"from_arr32_bytes\":" : ",\"from_arr64_bytes\":");
        bl_put_hex_bytes(o, a, r->n * sizeof(BL_T));
        bl_put(o, which ? ",\"from_arr32_guards\":" : ",\"from_arr64_guards\":");
        bl_put_guards(o, before, after, BL_W);
    }
    bl_put(o, "},\"evidence\":{\"guard_words\":%d", BL_GUARD_WORDS);
    free(region);
    return 0;
}

/* find: find_first_bit, find_first_zero_bit, and find_next_bit /
 * find_next_zero_bit from each of `starts`, over nbits of the bitmap. */
static int BLF(bl_probe_find)(struct bl_req *r, struct bl_out *o)
{
    unsigned long res[BL_MAX_LIST];
    unsigned i;
    BL_T *region, *a;
    if (bl_check_bitmap(r, 1))
        return -1;
    region = BLF(bl_region_with_bits)(r);
    if (!region)
        return bl_fail(r, "out of memory");
    a = region + BL_GUARD_WORDS;
    bl_put(o, "\"values\":{\"first\":%lu,\"first_zero\":%lu,\"next\":",
           BLF(bl_find_first_bit)(a, r->nbits), BLF(bl_find_first_zero_bit)(a, r->nbits));
    for (i = 0; i < r->starts.len; i++)
        res[i] = BLF(bl_find_next_bit)(a, r->nbits, r->starts.v[i]);
    bl_put_list_ul(o, res, r->starts.len);
    bl_put(o, ",\"next_zero\":");
    for (i = 0; i < r->starts.len; i++)
        res[i] = BLF(bl_find_next_zero_bit)(a, r->nbits, r->starts.v[i]);
    bl_put_list_ul(o, res, r->starts.len);
    bl_put(o, "},\"evidence\":{\"guard_words\":%d", BL_GUARD_WORDS);
    free(region);
    return 0;
}

#undef BL_ONES
#undef BLF
#undef BL_PASTE
#undef BL_PASTE_
