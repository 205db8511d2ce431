"""Differential tests: the layout model against what real compilers put in DWARF, every arch.

The hand-written headers in tests/headers/ cover every rule the engine implements (scalars,
padding, arrays, flexible arrays, nesting, anonymous members, typedef chains, bitfields of every
kind, packed/aligned in every position, _Alignas, enums sized by their values, constant
expressions with sizeof/_Alignof/__alignof__/offsetof).  They are compiled as ONE translation
unit per arch (one compile), and every type is compared field by field with the model.
"""

from __future__ import annotations

import pytest

from bitlayout import toolchains
from test_layout_support import (ARCH_NAMES, HAND_HEADERS, compiled, compiler_contract, counts, diff_contracts,
                            model_contract, profile, require_compiler)


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_hand_headers_match_compiler(arch):
    p = profile(arch)
    require_compiler(p)
    model = model_contract(arch, HAND_HEADERS)
    observed = compiler_contract(arch, HAND_HEADERS, tuple(model["types"]))
    ntypes, nmembers = counts(model)
    assert ntypes >= 95 and nmembers >= 200, (ntypes, nmembers)
    assert diff_contracts(model, observed) == []
    assert model == observed  # plain data, exactly


@pytest.mark.parametrize("arch", [a for a in ARCH_NAMES
                                  if len({c.kind for c in toolchains.find_compilers(profile(a))}) > 1])
def test_second_compiler_route_agrees(arch):
    """Where both zig (clang) and a Debian GCC target the arch, both agree with the model."""
    p = profile(arch)
    kinds = [c.kind for c in toolchains.find_compilers(p)]
    model = model_contract(arch, HAND_HEADERS)
    for kind in kinds:
        observed = compiler_contract(arch, HAND_HEADERS, tuple(model["types"]), kind=kind)
        assert diff_contracts(model, observed) == [], kind


def test_compiler_lists_the_same_types_as_the_model():
    """Without a names list, the backend enumerates types from DWARF: same set as cfront's."""
    p = profile("x86_64")
    require_compiler(p)
    headers = HAND_HEADERS[:2]
    model = model_contract("x86_64", headers)
    observed = compiled.compiled_layout(list(headers), p)
    assert set(observed["types"]) == set(model["types"])


@pytest.mark.parametrize("arch", ["mips", "armeb", "ppc", "s390x", "m68k", "sparc64"])
def test_big_endian_bitfield_offsets_agree(arch):
    """offset_bits of bitfields on big-endian arches (DWARF data_bit_offset counts from the MSB
    of the first byte there, as GCC numbers bits in memory order)."""
    p = profile(arch)
    assert not p.little_endian
    require_compiler(p)
    model = model_contract(arch, HAND_HEADERS)
    observed = compiler_contract(arch, HAND_HEADERS, tuple(model["types"]))
    for name in ("struct bf_basic", "struct bf_ll", "struct bf_straddle_int", "struct bf_many"):
        assert model["types"][name] == observed["types"][name]
