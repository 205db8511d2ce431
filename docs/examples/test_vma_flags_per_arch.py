"""Example: pytest tests that run once per architecture with the bitlayout plugin.

Run (the plugin is registered through the pytest11 entry point once bitlayout
is installed; ``-p bitlayout.pytest_plugin`` loads it from a checkout):

    pytest docs/examples/test_vma_flags_per_arch.py                       # every arch
    pytest docs/examples/test_vma_flags_per_arch.py --bitlayout-arch 32bit
    pytest docs/examples/test_vma_flags_per_arch.py -n 2                  # pytest-xdist

Each test that takes ``bitlayout_arch`` (the Profile) or ``bitlayout_layout``
(the spec's headers laid out for that arch; default spec: vma_flags.toml next
to this file) is collected once per arch, with ids like
``test_anon_vma_tag_bits[mips]``.  ``arch`` and ``layout`` are aliases.
Some of these tests fail on purpose on 32-bit arches: they are the findings.
"""

import pytest


def test_anon_vma_tag_bits(bitlayout_layout):
    # The seed thread's alternative to more flag words: two tag bits in vma->anon_vma.
    assert bitlayout_layout.tag_bits("struct vm_area_struct.anon_vma", "slab") >= 2


def test_vm_flags_is_always_64_bits(bitlayout_layout):
    assert bitlayout_layout.sizeof("vm_flags_t") == 8


def test_uffd_minor_fits_vma_flags(bitlayout_arch, bitlayout_layout):
    # Fails on every 32-bit arch: vma_flags_t is BITS_PER_LONG bits and
    # mk_vma_flags(VMA_UFFD_MINOR_BIT) would __set_bit(41) one word past it.
    nr = bitlayout_layout.value("VMA_UFFD_MINOR_BIT")
    pos = bitlayout_layout.bit_position("vma_flags_t", nr)
    assert pos.in_bounds, f"{bitlayout_arch.name}: bit {nr} lands in word {pos.word} of a 1-word bitmap"


@pytest.mark.bitlayout_arch("64bit")
def test_sealed_fits_on_64bit(bitlayout_layout):
    assert bitlayout_layout.fits(bitlayout_layout.value("VMA_SEALED_BIT"), "vma_flags_t")


@pytest.mark.bitlayout_arch("big-endian")
def test_bit_0_is_in_the_last_byte_of_a_word_on_big_endian(bitlayout_arch, bitlayout_layout):
    pos = bitlayout_layout.bit_position("vm_flags_t", 0)
    assert pos.byte_offset == bitlayout_arch.word_bytes - 1


@pytest.mark.bitlayout_arch("little-endian")  # the host backend runs these in process; others need exec
def test_set_bit_41_stays_inside_vma_flags(bitlayout_arch, bitlayout_layout, bitlayout_backend):
    # Observed, not predicted: __set_bit(41) on a real bitmap with guard words around it.
    from bitlayout.checks import probe

    g = bitlayout_layout.geometry("vma_flags_t")
    nr = bitlayout_layout.value("VMA_UFFD_MINOR_BIT")
    (obs,) = bitlayout_backend.observe([probe("image", w=g.word_bytes * 8, n=g.nwords, bits=[nr])])
    assert obs.values["guards"] == [], (f"{bitlayout_arch.name} ({bitlayout_backend.name}): __set_bit({nr}) "
                                        f"changed {obs.values['guards']} past the object")
