"""Random C types (tests/ctypes_strategy.py, hypothesis) laid out by the model and by real
compilers on every arch.

For CI the N types (fixed seed) go into ONE header, compiled once per arch; every type is then
compared field by field.  N is 200 by default; ``BITLAYOUT_LONG_RUN=N`` asks for N (thousands)
and ``BITLAYOUT_LAYOUT_SEED`` picks another seed.
"""

from __future__ import annotations

import os

import pytest

from bitlayout import toolchains

from ctypes_strategy import generate_header
from test_layout_support import (ARCH_NAMES, compiler_contract, counts, diff_contracts, model_contract, profile,
                                 require_compiler)

N_TYPES = int(os.environ.get("BITLAYOUT_LONG_RUN") or 200)
SEED = int(os.environ.get("BITLAYOUT_LAYOUT_SEED") or 20261127)


@pytest.fixture(scope="module")
def random_header(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("random-types") / f"random_{N_TYPES}_{SEED}.h"
    path.write_text(generate_header(N_TYPES, SEED))
    return str(path)


def test_generator_is_deterministic_and_varied(random_header):
    a, b = generate_header(30, 7), generate_header(30, 7)
    assert a == b
    text = open(random_header).read()
    for needle in (" : 0;", "packed", "aligned(", "union", "enum", "_Alignas", "[", "_Bool", "struct {"):
        assert needle in text, needle


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_random_types_match_compiler(arch, random_header):
    require_compiler(profile(arch))
    model = model_contract(arch, (random_header,))
    ntypes, nmembers = counts(model)
    assert ntypes >= N_TYPES  # every record (typedefs come on top)
    observed = compiler_contract(arch, (random_header,), tuple(model["types"]))
    problems = diff_contracts(model, observed)
    assert problems == [], f"{len(problems)} differences on {arch}, first: {problems[:5]}"
    assert model == observed


@pytest.mark.parametrize("arch", [a for a in ARCH_NAMES
                                  if len({c.kind for c in toolchains.find_compilers(profile(a))}) > 1])
def test_random_types_match_second_compiler_route(arch, random_header):
    """i386, x32, x86_64 (zig and Debian GCC), sparc64 (GCC and zig): both compilers agree with
    the model on the random types."""
    for comp in toolchains.find_compilers(profile(arch)):
        model = model_contract(arch, (random_header,), kind=comp.kind)
        observed = compiler_contract(arch, (random_header,), tuple(model["types"]), kind=comp.kind)
        assert diff_contracts(model, observed) == [], comp.identity
