"""bitlayout.bitmap: the pure bit-position / bounds / tear model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitlayout import bitmap
from bitlayout.bitmap import BitmapGeometry, bit_position
from bitlayout.errors import UsageError
from bitlayout.profiles import profile_by_name

# unsigned long vm_flags_t[8 / sizeof(unsigned long)] in each layout class.
LE32 = BitmapGeometry(4, 2, True, 4)
BE32 = BitmapGeometry(4, 2, False, 4)
LE64 = BitmapGeometry(8, 1, True, 8)
BE64 = BitmapGeometry(8, 1, False, 8)


def pos(geom, nr):
    p = bit_position(geom, nr)
    return {"word": p.word, "bit_in_word": p.bit_in_word, "byte": p.byte_offset,
            "bit_in_byte": p.bit_in_byte, "in_bounds": p.in_bounds}


@pytest.mark.parametrize("geom, byte", [(LE32, 4), (LE64, 4), (BE32, 7), (BE64, 3)],
                         ids=["LE32", "LE64", "BE32", "BE64"])
def test_bit_36_of_a_64_bit_flags_bitmap(geom, byte):
    p = pos(geom, 36)
    assert p["byte"] == byte
    assert p["bit_in_byte"] == 4
    assert p["in_bounds"]
    assert bitmap.memory_image(geom, [36]) == bytes(0x10 if i == byte else 0 for i in range(8))


@pytest.mark.parametrize("name, byte", [("i386", 4), ("x86_64", 4), ("mips", 7), ("s390x", 3)])
def test_bit_36_from_real_profiles(name, byte):
    prof = profile_by_name(name)
    geom = BitmapGeometry.for_bits(prof, 64)
    assert geom.size_bytes == 8
    assert bit_position(geom, 36).byte_offset == byte


def test_set_bit_41_on_one_long():
    # mk_vma_flags(VMA_UFFD_MINOR_BIT) on 32-bit: one word past the end, bit 9.
    one32_le = BitmapGeometry(4, 1, True, 4)
    one32_be = BitmapGeometry(4, 1, False, 4)
    assert bitmap.out_of_bounds(one32_le, [0, 31, 41, 43]) == [41, 43]
    hit = bitmap.oob_effect(one32_le, 41)
    assert (hit.side, hit.index, hit.bit_in_word, hit.byte_in_word, hit.bit_in_byte) == ("after", 0, 9, 1, 1)
    hit = bitmap.oob_effect(one32_be, 41)
    assert (hit.side, hit.index, hit.bit_in_word, hit.byte_in_word, hit.bit_in_byte) == ("after", 0, 9, 2, 1)
    assert bitmap.oob_effect(BitmapGeometry(4, 1, True, 4), 70).index == 1
    # 64-bit: in bounds.
    assert bitmap.oob_effect(LE64, 41) is None
    assert bitmap.out_of_bounds(LE64, [41, 43]) == []
    assert pos(LE64, 41)["byte"] == 5


def test_memory_image_refuses_out_of_bounds():
    with pytest.raises(UsageError, match="bit 41"):
        bitmap.memory_image(BitmapGeometry(4, 1, True, 4), [41])


@pytest.mark.parametrize("bad", [dict(word_bytes=3), dict(nwords=0), dict(nwords=True), dict(atomic_bytes=3)])
def test_geometry_validation(bad):
    args = dict(word_bytes=4, nwords=1, little_endian=True, atomic_bytes=4) | bad
    with pytest.raises(UsageError, match=repr(list(bad.values())[0])):
        BitmapGeometry(**args)


def test_bad_bit_number():
    with pytest.raises(UsageError, match="-1"):
        bit_position(LE32, -1)


def test_read_tears():
    assert bitmap.read_tears(LE32, [0, 36])  # VMA_READ_BIT | VMA_SEALED_BIT on 32-bit: two words
    assert not bitmap.read_tears(LE32, [0, 5])
    assert not bitmap.read_tears(LE64, [0, 42])
    assert not bitmap.read_tears(BE64, [0, 63])
    # A 64-bit word on a CPU whose plain accesses are 4 bytes: split inside the word.
    assert bitmap.read_tears(BitmapGeometry(8, 1, True, 4), [0, 40])
    assert not bitmap.read_tears(BitmapGeometry(8, 1, True, 4), [0, 31])


def test_full_read_tears():
    assert bitmap.full_read_tears(BitmapGeometry(8, 1, True, 4))  # u64 READ_ONCE on i386
    assert bitmap.full_read_tears(LE32)
    assert not bitmap.full_read_tears(LE64)
    x32 = profile_by_name("x32")  # ILP32 on a 64-bit CPU: 8-byte loads are single-copy atomic
    assert not bitmap.full_read_tears(BitmapGeometry.from_profile(x32, word_bytes=8))


def test_predict_tear():
    assert bitmap.predict_tear(LE32, "words").possible
    assert not bitmap.predict_tear(LE64, "words").possible
    assert bitmap.predict_tear(BitmapGeometry(1, 8, True, 8), "words").possible
    assert bitmap.predict_tear(BitmapGeometry(8, 1, True, 4), "whole").possible
    assert not bitmap.predict_tear(BitmapGeometry(4, 1, True, 4), "whole").possible
    with pytest.raises(UsageError, match="'sideways'"):
        bitmap.predict_tear(LE32, "sideways")


def test_predict_lost_update():
    assert bitmap.predict_lost_update(atomic=False, threads=2).possible
    assert not bitmap.predict_lost_update(atomic=True, threads=8).possible
    assert not bitmap.predict_lost_update(atomic=False, threads=1).possible


def test_naive_u64_view_differs_exactly_on_be32():
    for nr in (0, 5, 31, 32, 36, 63):
        assert bitmap.naive_differs(BE32, [nr]), nr
        assert not bitmap.naive_differs(LE32, [nr]), nr
        assert not bitmap.naive_differs(LE64, [nr]), nr
        assert not bitmap.naive_differs(BE64, [nr]), nr
    # BE32: word 0 is the high half of the naive u64.
    assert bitmap.naive_u64_view(BE32, [0]) == [1 << 32]
    assert bitmap.to_arr64([0], 64) == [1]


def test_arr64_clears_the_tail_the_naive_view_keeps():
    # nbits = 40: bit 50 is in the words but past nbits.
    assert bitmap.to_arr64([1, 50], 40) == [2]
    assert bitmap.naive_u64_view(LE32, [1, 50], 40) == [2 | 1 << 50]
    assert bitmap.naive_differs(LE32, [1, 50], 40)


@given(st.sets(st.integers(0, 255)), st.integers(0, 256))
def test_arr64_round_trip(bits, nbits):
    arr = bitmap.to_arr64(bits, nbits)
    assert len(arr) == -(-nbits // 64)
    assert bitmap.from_arr64(arr, nbits) == sorted(b for b in bits if b < nbits)
    assert bitmap.from_arr(bitmap.to_arr32(bits, nbits), nbits, 32) == sorted(b for b in bits if b < nbits)


@given(st.sampled_from([1, 2, 4, 8]), st.integers(1, 6), st.booleans(), st.data())
def test_image_matches_positions(word_bytes, nwords, le, data):
    geom = BitmapGeometry(word_bytes, nwords, le, 8)
    bits = data.draw(st.sets(st.integers(0, geom.total_bits - 1), max_size=20))
    image = bitmap.memory_image(geom, bits)
    seen = {i * 8 + b for i, byte in enumerate(image) for b in range(8) if (byte >> b) & 1}
    assert seen == {bit_position(geom, nr).byte_offset * 8 + bit_position(geom, nr).bit_in_byte for nr in bits}


def test_simulate_ops_guards_and_returns():
    geom = BitmapGeometry(4, 1, True, 4)
    got = bitmap.simulate_ops(geom, [("nset", 41), ("test", 41), ("test_and_clear", 33), ("weight", 32)], 8)
    assert got == {"bytes": "00000000",
                   "guards": [{"side": "after", "index": 0, "bits": [1, 9]}],
                   "returns": [None, 1, 0, 0], "returns_guard_ones": [None, 1, 1, 0]}


def test_bulk_ops_follow_lib_bitmap():
    geom = BitmapGeometry(1, 2, True, 8)
    ops = [("fill", 12), ("bset", 3), ("bset", 15), ("and", 12), ("weight", 16)]
    got = bitmap.simulate_ops(geom, ops, 8)
    # fill sets whole words (tail too); and masks the last partial word.
    assert got["bytes"] == "0800"
    assert got["returns"] == [None, None, None, 1, 1]
