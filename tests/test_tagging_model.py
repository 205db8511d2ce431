"""bitlayout.tagging: how many low pointer bits are free, per allocator and arch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitlayout import tagging
from bitlayout.errors import UsageError
from bitlayout.profiles import profile_by_name


def free(arch, align, size, allocator):
    t = tagging.free_tag_bits(profile_by_name(arch), align, size, allocator)
    return t.guaranteed_align_bytes, t.free_bits


def test_calculate_alignment():
    # mm/slab_common.c: max(align, ARCH_SLAB_MINALIGN), then ALIGN(.., sizeof(void *)).
    assert tagging.calculate_alignment(4, 8, 4) == 8
    assert tagging.calculate_alignment(2, 2, 4) == 4
    assert tagging.calculate_alignment(16, 8, 8) == 16
    assert tagging.calculate_alignment(1, 1, 8) == 8


def test_slab_free_bits_across_arches():
    # struct anon_vma-like pointee: pointer-aligned.
    assert free("x86_64", 8, 120, "slab") == (8, 3)
    assert free("i386", 4, 60, "slab") == (8, 3)  # ARCH_SLAB_MINALIGN = __alignof__(u64) = 8
    # m68k: ints and pointers are 2-aligned, ARCH_SLAB_MINALIGN 2; sizeof(void *) rounds it to 4.
    assert free("m68k", 2, 60, "slab") == (4, 2)


def test_static_and_malloc():
    assert free("m68k", 2, 60, "static") == (2, 1)
    assert free("x86_64", 8, 120, "static") == (8, 3)
    assert free("x86_64", 8, 120, "malloc") == (16, 4)
    assert free("mips", 4, 60, "malloc") == (8, 3)


def test_kmalloc_size_classes():
    assert tagging.kmalloc_size_class(1, 8) == 8
    assert tagging.kmalloc_size_class(65, 8) == 96
    assert tagging.kmalloc_size_class(129, 8) == 192
    assert tagging.kmalloc_size_class(65, 64) == 128  # no kmalloc-96 when KMALLOC_MIN_SIZE > 32
    assert tagging.kmalloc_size_class(129, 64) == 192
    assert tagging.kmalloc_size_class(129, 128) == 256
    assert tagging.kmalloc_size_class(5000, 8) == 8192


def test_kmalloc_alignment():
    assert tagging.kmalloc_alignment(96, 8, 8, 8) == 32  # largest power-of-two divisor of 96
    assert tagging.kmalloc_alignment(100, 8, 8, 8) == 128
    assert tagging.kmalloc_alignment(5000, 8, 8, 8) == 4096  # counted up to PAGE_SIZE
    assert tagging.kmalloc_alignment(8, 128, 8, 4) == 128  # mips: ARCH_KMALLOC_MINALIGN 128
    assert free("mips", 4, 60, "kmalloc") == (128, 7)
    assert free("x86_64", 8, 24, "kmalloc") == (32, 5)


def test_reasoning_and_warning():
    t = tagging.free_tag_bits(profile_by_name("x86_64"), 64, 64, "malloc")
    assert t.free_bits == 4
    assert any("misaligned" in line for line in t.reasoning)
    assert t.mask == 0xF
    assert t.fits(4) and not t.fits(5)
    t = tagging.free_tag_bits(profile_by_name("x86_64"), 8, 120, "slab")
    assert "calculate_alignment" in t.reasoning[0]


def test_unknown_size_takes_the_smallest_kmalloc_class():
    assert free("x86_64", 8, 0, "kmalloc") == (8, 3)
    assert free("mips", 4, 0, "kmalloc") == (128, 7)
    assert free("x86_64", 8, 0, "slab") == (8, 3)


@pytest.mark.parametrize("args, bad", [((3, 8, "slab"), "3"), ((8, -1, "slab"), "-1"),
                                        ((8, 8, "vmalloc"), "'vmalloc'")])
def test_bad_input_names_the_value(args, bad):
    with pytest.raises(UsageError, match=bad):
        tagging.free_tag_bits(profile_by_name("x86_64"), *args)


def test_predict_alloc():
    assert tagging.predict_alloc(24, 8, 8, 8, 8) == {
        "slab_align": 8, "slab_object_size": 24, "kmalloc_size": 32, "kmalloc_align": 32}


def test_predict_lost_tag():
    assert tagging.predict_lost_tag(False, 2).possible
    assert not tagging.predict_lost_tag(True, 2).possible
    assert not tagging.predict_lost_tag(False, 1).possible


@given(st.integers(0, 2**48).map(lambda x: x << 4), st.integers(0, 15))
def test_tag_round_trip(ptr, tag):
    mask = tagging.tag_mask(16)
    word = tagging.tag_ptr(ptr, tag, mask)
    assert tagging.untag_ptr(word, mask) == ptr
    assert word & mask == tag
