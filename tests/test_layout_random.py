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
# A seed whose records include, on every arch with two compilers, an aligned bit-field the two lay
# out differently (test_random_types_match_second_compiler_route asks for one).
SEED = int(os.environ.get("BITLAYOUT_LAYOUT_SEED") or 2)


@pytest.fixture(scope="module")
def random_header(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("random-types") / f"random_{N_TYPES}_{SEED}.h"
    path.write_text(generate_header(N_TYPES, SEED))
    return str(path)


def test_generator_is_deterministic_and_varied(random_header):
    a, b = generate_header(30, 7), generate_header(30, 7)
    assert a == b
    text = open(random_header).read()
    for needle in (" : 0;", "packed", "aligned(", "union", "enum", "_Alignas", "[", "_Bool", "struct {", "[0];",
                   "[];", "_t __attribute__((aligned("):
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
    """Every arch with zig's clang and Debian's GCC: each compiler agrees with the model's
    prediction for it on the random types, so every type the two compilers lay out differently
    is a divergence the model predicted (bitlayout reports it as one, not as a model error)."""
    models, observed = {}, {}
    for comp in toolchains.find_compilers(profile(arch)):
        models[comp.kind] = model_contract(arch, (random_header,), kind=comp.kind)
        observed[comp.kind] = compiler_contract(arch, (random_header,), tuple(models[comp.kind]["types"]),
                                                kind=comp.kind)
        assert diff_contracts(models[comp.kind], observed[comp.kind]) == [], comp.identity
    seen = {n for n, t in observed["gcc"]["types"].items() if t != observed["zig"]["types"][n]}
    predicted = {n for n, t in models["gcc"]["types"].items() if t != models["zig"]["types"][n]}
    assert seen == predicted
    bitfield_cases = {n for n in seen if n in _aligned_bitfield_types(random_header)}
    assert bitfield_cases, "the generator drew no aligned bit-field GCC and clang lay out differently"


def _aligned_bitfield_types(path: str) -> set[str]:
    """The records of the random header with an aligned(N) bit-field (the generator's
    aligned_bitfield members), by contract name."""
    import re

    out = set()
    for m in re.finditer(r"(struct|union)\s+(?:__attribute__\(\(\w+(?:\(\d+\))?\)\)\s+)?(r\d+) \{(.*?)\n?\};",
                         open(path).read(), flags=re.S):
        if re.search(r"__attribute__\(\(aligned\(\d+\)\)\) [\w ]+ (?:\w+ )?: \d+;", m.group(3)):
            out.add(f"{m.group(1)} {m.group(2)}")
    return out
