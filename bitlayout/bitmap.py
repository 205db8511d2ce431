"""The bitmap model: where flag bits live, what overflows, what can tear.

Pure Python, no I/O, no cffi.  A bitmap type is described by its memory
shape, :class:`BitmapGeometry` (word size, word count, byte order, largest
single-copy-atomic access); everything else is a function of that shape.

Kernel semantics modelled (and mirrored by csrc/bitops_word.h and csrc/bitops_impl.h):

- ``BIT_WORD(nr) = nr / BITS_PER_LONG``, ``BIT_MASK(nr) = 1UL << (nr % BITS_PER_LONG)``
  (include/linux/bits.h): bit nr lives in word nr / W, bit nr % W of that word,
  whatever the byte order; the byte order only decides which *byte* of the
  word holds it.  So bit 36 of ``unsigned long[2]`` is byte 4 on LE32 and
  LE64, byte 7 on BE32 (word 1, its last byte) and byte 3 on BE64.
- ``set_bit(nr, addr)`` does not check nr against the bitmap's size: a bit
  past the end lands in the memory after it (``__set_bit(41, &one_long)`` on
  32-bit writes bit 9 of the next word: the VMA_UFFD_MINOR_BIT bug).
- ``bitmap_to_arr64()`` (lib/bitmap.c) exists because on 32-bit big-endian the
  two words of a u64 sit in the other order: a naive ``*(u64 *)bitmap`` view
  moves every bit; it also clears the tail past nbits, which the naive view
  does not (the later 32-bit little-endian fix).
- A read of bits spanning two single-copy-atomic units is two accesses and
  can tear under a concurrent writer; a non-atomic read-modify-write
  (``__set_bit``) racing with another on the same word can lose an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .errors import UsageError

WORD_BYTES = (1, 2, 4, 8)


@dataclass(frozen=True)
class BitmapGeometry:
    """The memory shape of a bitmap type: ``nwords`` words of ``word_bytes``.

    ``atomic_bytes`` is the largest naturally aligned plain access the CPU
    performs as one (the profile's ``atomicity.single_copy_atomic_bytes``).
    """

    word_bytes: int
    nwords: int
    little_endian: bool
    atomic_bytes: int

    def __post_init__(self) -> None:
        if self.word_bytes not in WORD_BYTES:
            raise UsageError(f"bitmap word size {self.word_bytes!r} bytes is not one of 1, 2, 4, 8")
        if isinstance(self.nwords, bool) or not isinstance(self.nwords, int) or self.nwords < 1:
            raise UsageError(f"bitmap word count {self.nwords!r} must be a positive integer")
        if self.atomic_bytes not in (1, 2, 4, 8, 16):
            raise UsageError(f"single-copy-atomic size {self.atomic_bytes!r} bytes is not a power of two <= 16")

    @property
    def word_bits(self) -> int:
        return self.word_bytes * 8

    @property
    def total_bits(self) -> int:
        return self.word_bits * self.nwords

    @property
    def size_bytes(self) -> int:
        return self.word_bytes * self.nwords

    @property
    def access_bytes(self) -> int:
        """Size of one indivisible access when the bitmap is read word by word."""
        return min(self.word_bytes, self.atomic_bytes)

    @classmethod
    def from_profile(cls, profile: Any, word_bytes: int | None = None, nwords: int = 1) -> "BitmapGeometry":
        """The geometry of ``unsigned long[nwords]`` (or words of ``word_bytes``) on a profile."""
        return cls(
            word_bytes=profile.word_bytes if word_bytes is None else word_bytes,
            nwords=nwords,
            little_endian=profile.little_endian,
            atomic_bytes=profile.atomicity.single_copy_atomic_bytes,
        )

    @classmethod
    def for_bits(cls, profile: Any, nbits: int, word_bytes: int | None = None) -> "BitmapGeometry":
        """DECLARE_BITMAP(name, nbits): BITS_TO_LONGS(nbits) words."""
        wb = profile.word_bytes if word_bytes is None else word_bytes
        return cls.from_profile(profile, wb, max(1, -(-nbits // (wb * 8))))


@dataclass(frozen=True)
class BitPosition:
    nr: int
    word: int  # BIT_WORD(nr); may be >= nwords (out of bounds)
    bit_in_word: int
    byte_offset: int  # from the start of the bitmap, in address order
    bit_in_byte: int
    in_bounds: bool


def _check_nr(nr: Any) -> int:
    if isinstance(nr, bool) or not isinstance(nr, int) or nr < 0:
        raise UsageError(f"bit number {nr!r} must be a non-negative integer")
    return nr


def bit_position(geom: BitmapGeometry, nr: int) -> BitPosition:
    nr = _check_nr(nr)
    word, bit = divmod(nr, geom.word_bits)
    byte_in_word = bit // 8 if geom.little_endian else geom.word_bytes - 1 - bit // 8
    return BitPosition(nr, word, bit, word * geom.word_bytes + byte_in_word, bit % 8, word < geom.nwords)


def out_of_bounds(geom: BitmapGeometry, bits: Iterable[int]) -> list[int]:
    """The bit numbers that do not fit the bitmap (sorted, unique)."""
    return sorted({_check_nr(nr) for nr in bits if _check_nr(nr) >= geom.total_bits})


@dataclass(frozen=True)
class GuardHit:
    """Where an out-of-bounds bit lands: in the ``index``-th word after the
    bitmap (0 = the next word), at this bit of that word / byte of it."""

    nr: int
    side: str  # "after" (bit numbers are unsigned: nothing lands before)
    index: int
    bit_in_word: int
    byte_in_word: int
    bit_in_byte: int


def oob_effect(geom: BitmapGeometry, nr: int) -> GuardHit | None:
    """The effect of ``__set_bit(nr)`` / ``test_bit(nr)`` past the end; None if in bounds."""
    pos = bit_position(geom, nr)
    if pos.in_bounds:
        return None
    return GuardHit(nr, "after", pos.word - geom.nwords, pos.bit_in_word,
                    pos.byte_offset % geom.word_bytes, pos.bit_in_byte)


def words_to_bytes(geom: BitmapGeometry, words: Sequence[int]) -> bytes:
    order = "little" if geom.little_endian else "big"
    return b"".join(w.to_bytes(geom.word_bytes, order) for w in words)


def memory_image(geom: BitmapGeometry, bits: Iterable[int]) -> bytes:
    """The bitmap's bytes in address order with these bits set.  Out-of-bounds
    bits are an error here: ask :func:`oob_effect` where they land."""
    bits = list(bits)
    bad = out_of_bounds(geom, bits)
    if bad:
        raise UsageError(f"bit {bad[0]} is out of bounds for a {geom.total_bits}-bit bitmap")
    words = [0] * geom.nwords
    for nr in bits:
        words[nr // geom.word_bits] |= 1 << (nr % geom.word_bits)
    return words_to_bytes(geom, words)


# ---------------------------------------------------------------------------
# Tearing and lost updates


@dataclass(frozen=True)
class Hazard:
    """Whether a concurrency hazard can happen, and why."""

    possible: bool
    reason: str


def _units(geom: BitmapGeometry, bits: Iterable[int]) -> set[int]:
    return {bit_position(geom, nr).byte_offset // geom.access_bytes for nr in bits}


def read_tears(geom: BitmapGeometry, bits: Iterable[int]) -> bool:
    """Testing these bits together reads more than one indivisible unit
    (words are read one by one, each split further if wider than atomic_bytes)."""
    return len(_units(geom, bits)) > 1


def full_read_tears(geom: BitmapGeometry) -> bool:
    """READ_ONCE of the whole bitmap as one value is wider than one
    single-copy-atomic access (a u64 on a 32-bit CPU without LPAE-style loads)."""
    return geom.size_bytes > geom.atomic_bytes


def predict_tear(geom: BitmapGeometry, mode: str = "words") -> Hazard:
    """Can a reader see a value never written while a writer flips the whole
    bitmap between all-zeros and all-ones?  mode "words": word-by-word reads
    and writes (the tear probe); "whole": one READ_ONCE/WRITE_ONCE of it all."""
    if mode == "words":
        units = geom.size_bytes // geom.access_bytes
        if units > 1:
            why = (f"{geom.nwords} words are {geom.nwords} separate loads" if geom.nwords > 1 else
                   f"a {geom.word_bytes}-byte word is loaded as {units} {geom.atomic_bytes}-byte accesses")
            return Hazard(True, why)
        return Hazard(False, f"one {geom.word_bytes}-byte word within the {geom.atomic_bytes}-byte "
                             "single-copy-atomic size is read in one access")
    if mode == "whole":
        if full_read_tears(geom):
            return Hazard(True, f"a {geom.size_bytes}-byte value is wider than the {geom.atomic_bytes}-byte "
                                "single-copy-atomic access")
        return Hazard(False, f"a {geom.size_bytes}-byte value fits one {geom.atomic_bytes}-byte "
                             "single-copy-atomic access")
    raise UsageError(f"tear mode {mode!r} is not 'words' or 'whole'")


def predict_lost_update(atomic: bool, threads: int) -> Hazard:
    """N threads setting/clearing their own bits of one shared word."""
    if threads < 2:
        return Hazard(False, "a single thread races with no one")
    if atomic:
        return Hazard(False, "set_bit/clear_bit are one atomic read-modify-write of the word "
                             "(include/asm-generic/bitops/atomic.h)")
    return Hazard(True, "__set_bit is a plain load, modify, store: a store from another thread's "
                        "stale load undoes this one (include/asm-generic/bitops/generic-non-atomic.h)")


# ---------------------------------------------------------------------------
# arr64 / arr32


def to_arr(bits: Iterable[int], nbits: int, elem_bits: int) -> list[int]:
    """bitmap_to_arr64/32 (lib/bitmap.c): element i holds bits [i*N, i*N+N)
    below nbits (the tail is cleared), whatever the word size or byte order."""
    out = [0] * (-(-nbits // elem_bits))
    for nr in set(bits):
        if nr < nbits:
            out[nr // elem_bits] |= 1 << (nr % elem_bits)
    return out


def to_arr64(bits: Iterable[int], nbits: int) -> list[int]:
    return to_arr(bits, nbits, 64)


def to_arr32(bits: Iterable[int], nbits: int) -> list[int]:
    return to_arr(bits, nbits, 32)


def from_arr(values: Sequence[int], nbits: int, elem_bits: int) -> list[int]:
    """bitmap_from_arr64/32: the bit numbers set (bits past nbits are dropped)."""
    return sorted(i * elem_bits + b for i, v in enumerate(values) for b in range(elem_bits)
                  if (v >> b) & 1 and i * elem_bits + b < nbits)


def from_arr64(values: Sequence[int], nbits: int) -> list[int]:
    return from_arr(values, nbits, 64)


def naive_view(geom: BitmapGeometry, bits: Iterable[int], count: int, elem_bits: int = 64) -> list[int]:
    """``((u64 *)bitmap)[0..count)``: the same bytes read as elem_bits-wide
    integers in the arch's byte order.  All set bits count (no tail clearing);
    memory past the bitmap reads as zero."""
    words = [0] * max(geom.nwords, -(-count * elem_bits // geom.word_bits))
    for nr in set(bits):
        words[nr // geom.word_bits] |= 1 << (nr % geom.word_bits)
    raw = words_to_bytes(BitmapGeometry(geom.word_bytes, len(words), geom.little_endian, geom.atomic_bytes), words)
    eb = elem_bits // 8
    order = "little" if geom.little_endian else "big"
    return [int.from_bytes(raw[i * eb:(i + 1) * eb], order) for i in range(count)]


def naive_u64_view(geom: BitmapGeometry, bits: Iterable[int], nbits: int | None = None) -> list[int]:
    nbits = geom.total_bits if nbits is None else nbits
    return naive_view(geom, bits, -(-nbits // 64), 64)


def naive_differs(geom: BitmapGeometry, bits: Iterable[int], nbits: int | None = None) -> bool:
    """Does the naive u64 cast disagree with bitmap_to_arr64?"""
    nbits = geom.total_bits if nbits is None else nbits
    bits = list(bits)
    return naive_u64_view(geom, bits, nbits) != to_arr64(bits, nbits)


# ---------------------------------------------------------------------------
# Bitop sequences on a guarded bitmap (the "ops" probe, predicted)


class GuardedBitmap:
    """Words [guards before][bitmap A][guards after] and a second operand B,
    with the kernel's bitops on them.  For predicting what the shim observes."""

    def __init__(self, geom: BitmapGeometry, guard_words: int, canary: int = 0):
        self.geom, self.g = geom, guard_words
        self.mask = (1 << geom.word_bits) - 1
        self.words = [canary & self.mask] * guard_words + [0] * geom.nwords + [canary & self.mask] * guard_words
        self.b = [0] * geom.nwords

    def _locate(self, nr: int) -> tuple[int, int]:
        word, bit = divmod(nr, self.geom.word_bits)
        if word >= self.geom.nwords + self.g:
            raise UsageError(f"bit {nr} is past the guard words")
        return self.g + word, 1 << bit

    def last_mask(self, nbits: int) -> int:
        r = nbits % self.geom.word_bits
        return self.mask if r == 0 else (1 << r) - 1

    def apply(self, op: str, arg: int) -> int | None:
        W, g, A, B = self.geom.word_bits, self.g, self.words, self.b
        name = op[1:] if op in ("nset", "nclear", "nchange", "ntest_and_set", "ntest_and_clear",
                                "ntest_and_change") else op
        if name in ("set", "clear", "change", "test_and_set", "test_and_clear", "test_and_change", "test"):
            i, m = self._locate(arg)
            old = A[i] & m
            if name.endswith("set") and name != "test":
                A[i] |= m
            elif name.endswith("clear"):
                A[i] &= ~m & self.mask
            elif name.endswith("change"):
                A[i] ^= m
            return None if name in ("set", "clear", "change") else int(bool(old))
        if op in ("bset", "bclear"):
            word, bit = divmod(arg, W)
            if op == "bset":
                B[word] |= 1 << bit
            else:
                B[word] &= ~(1 << bit) & self.mask
            return None
        nb = arg
        if nb > self.geom.total_bits:
            raise UsageError(f"{op} of {nb} bits is larger than the bitmap")
        full, rem = divmod(nb, W)
        used = full + (1 if rem else 0)
        last = self.last_mask(nb)
        if op == "zero":
            for k in range(used):
                A[g + k] = 0
            return None
        if op == "fill":
            for k in range(used):
                A[g + k] = self.mask
            return None
        if op == "copy":
            for k in range(used):
                A[g + k] = B[k]
            return None
        if op == "or":
            for k in range(used):
                A[g + k] |= B[k]
            return None
        if op in ("and", "andnot"):
            result = 0
            for k in range(used):
                other = B[k] if op == "and" else ~B[k] & self.mask
                v = A[g + k] & other
                if k == full:  # the partial last word is masked
                    v &= last
                A[g + k] = v
                result |= v
            return int(result != 0)
        if op == "intersects":
            return int(any((A[g + k] & B[k]) & (last if k == full else self.mask) for k in range(used)))
        if op == "subset":
            return int(not any((A[g + k] & ~B[k]) & (last if k == full else self.mask) for k in range(used)))
        if op == "weight":
            return sum(bin(A[g + k] & (last if k == full else self.mask)).count("1") for k in range(used))
        raise UsageError(f"unknown bitop {op!r}")

    def bitmap_words(self) -> list[int]:
        return self.words[self.g:self.g + self.geom.nwords]

    def guard_diffs(self, canary: int) -> tuple[list[int], list[int]]:
        """(before, after) XOR against the canary, index 0 next to the bitmap."""
        c = canary & self.mask
        before = [self.words[self.g - 1 - i] ^ c for i in range(self.g)]
        after = [self.words[self.g + self.geom.nwords + i] ^ c for i in range(self.g)]
        return before, after


def _guard_list(before: Sequence[int], after: Sequence[int], word_bits: int) -> list[dict[str, Any]]:
    out = []
    for side, diffs in (("before", before), ("after", after)):
        for i, d in enumerate(diffs):
            if d:
                out.append({"side": side, "index": i, "bits": [b for b in range(word_bits) if (d >> b) & 1]})
    return out


def simulate_ops(geom: BitmapGeometry, ops: Sequence[Sequence[Any]], guard_words: int) -> dict[str, Any]:
    """Predict the "ops" probe: run the ops with zero guards and again with
    all-ones guards; bitmap bytes (hex), guard bits changed in either pass,
    and the return values of both passes."""
    passes = []
    before_u = [0] * guard_words
    after_u = [0] * guard_words
    for canary in (0, -1):
        gb = GuardedBitmap(geom, guard_words, canary)
        rets = [gb.apply(name, arg) for name, arg in ops]
        b, a = gb.guard_diffs(canary)
        before_u = [x | y for x, y in zip(before_u, b)]
        after_u = [x | y for x, y in zip(after_u, a)]
        passes.append((gb, rets))
    return {
        "bytes": words_to_bytes(geom, passes[0][0].bitmap_words()).hex(),
        "guards": _guard_list(before_u, after_u, geom.word_bits),
        "returns": passes[0][1],
        "returns_guard_ones": passes[1][1],
    }


def predict_values(geom: BitmapGeometry, probe: str, params: Mapping[str, Any], guard_words: int) -> dict[str, Any]:
    """What the shim's bitmap probes (image, ops, oob_read, arr64, find) must
    report for this geometry: the same plain data as Observation.values."""
    bits = list(params.get("bits", ()))
    if probe == "image":
        values = simulate_ops(geom, [("nset", nr) for nr in bits], guard_words)
        return {"bytes": values["bytes"], "guards": values["guards"]}
    if probe == "ops":
        return simulate_ops(geom, [tuple(op) for op in params.get("ops", ())], guard_words)
    if probe == "oob_read":
        inside = set(bits)
        reads = list(params.get("reads", ()))
        return {
            "reads": [1 if not bit_position(geom, nr).in_bounds else int(nr in inside) for nr in reads],
            "guard_reads": [nr for nr in reads if not bit_position(geom, nr).in_bounds],
        }
    if probe == "arr64":
        nbits = params["nbits"]
        filled = words_to_bytes(geom, _words_of(geom, range(nbits))).hex()
        return {
            "to_arr64": [f"{v:016x}" for v in to_arr64(bits, nbits)],
            "naive_u64": [f"{v:016x}" for v in naive_view(geom, bits, -(-nbits // 64), 64)],
            "to_arr32": [f"{v:08x}" for v in to_arr32(bits, nbits)],
            "naive_u32": [f"{v:08x}" for v in naive_view(geom, bits, -(-nbits // 32), 32)],
            "from_arr64_bytes": filled, "from_arr64_guards": [],
            "from_arr32_bytes": filled, "from_arr32_guards": [],
        }
    if probe == "find":
        nbits = params["nbits"]
        inside = {nr for nr in bits if nr < nbits}

        def nxt(start: int, want: bool) -> int:
            for nr in range(start, nbits):
                if (nr in inside) == want:
                    return nr
            return nbits

        starts = list(params.get("starts", ()))
        return {"first": nxt(0, True), "first_zero": nxt(0, False),
                "next": [nxt(s, True) for s in starts], "next_zero": [nxt(s, False) for s in starts]}
    raise UsageError(f"no bitmap prediction for probe {probe!r}")


def _words_of(geom: BitmapGeometry, bits: Iterable[int]) -> list[int]:
    words = [0] * geom.nwords
    for nr in bits:
        words[nr // geom.word_bits] |= 1 << (nr % geom.word_bits)
    return words
