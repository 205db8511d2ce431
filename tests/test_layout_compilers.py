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
from test_layout_support import (ARCH_NAMES, HAND_HEADERS, HEADERS_DIR, compiled, compiler_contract, counts,
                                 diff_contracts, model_contract, profile, require_compiler)


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
    for kind in kinds:
        model = model_contract(arch, HAND_HEADERS, kind=kind)
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


INCOMPLETE_H = str(HEADERS_DIR / "incomplete.h")


@pytest.mark.parametrize("arch", ["x86_64", "m68k", "i386"])
def test_incomplete_typedefs_are_null_not_made_up(arch):
    p = profile(arch)
    model = model_contract(arch, (INCOMPLETE_H,))
    null = {"size": None, "align": None, "incomplete": True, "members": []}
    assert {n: t for n, t in model["types"].items() if t.get("incomplete")} == {
        n: null for n in ("inc_fwd_t", "inc_ufwd_t", "inc_void_t", "inc_fn_t", "inc_flex_t")}
    assert "struct inc_fwd" not in model["types"]  # a declared-only tag is not defined by the input
    require_compiler(p)
    assert compiler_contract(arch, (INCOMPLETE_H,), tuple(model["types"])) == model
    # the compiler route that lists the names itself (DWARF) finds the same set
    assert compiled.compiled_layout([INCOMPLETE_H], p) == model


EVAL_H = HEADERS_DIR / "evalexpr.h"
EVAL_EXPRS = (
    "offsetof(struct ev_out, a.ll)", "offsetof(ev_out_t, b[2].arr[3])", "offsetof(struct ev_out, b[1].d)",
    "__builtin_offsetof(struct ev_out, ld)", "offsetof(struct ev_out, ul)",
    "__alignof__(long long)", "_Alignof(long long)", "__alignof__(double)", "_Alignof(double)",
    "__alignof__(struct ev_in)", "_Alignof(struct ev_in)", "__alignof__(ev_out_t)", "__alignof__(long double)",
    "_Alignof(long double)", "__alignof__(int *)", "sizeof(struct ev_out)", "EV_BIG",
)


@pytest.mark.parametrize("arch", ["i386", "x86_64", "m68k", "arm", "mips64", "x32"])
def test_eval_offsetof_and_alignof_match_the_compiler(arch, tmp_path):
    """Each value the model computes becomes a `_Static_assert(expr == value)` the arch's compiler
    must accept (compile only)."""
    import subprocess

    from bitlayout import layout as layout_mod

    p = profile(arch)
    ls = layout_mod.layout_headers([EVAL_H], p)
    values = {e: ls.eval(e) for e in EVAL_EXPRS}
    if arch == "i386":  # the famous difference, so the test cannot pass with one answer for both
        assert (values["__alignof__(long long)"], values["_Alignof(long long)"]) == (8, 4)
        assert values["__alignof__(struct ev_in)"] == 4
    assert ls.enumerators("enum ev_color") == {"EV_RED": 0, "EV_GREEN": 5, "EV_BLUE": 6,
                                               "EV_BIG": ls.types["struct ev_out"].size_bytes}
    assert ls.enumerators("ev_color") == ls.enumerators("ev_color2_t") == ls.enumerators("enum ev_color")
    require_compiler(p)
    src = tmp_path / "probe.c"
    src.write_text(f'#include <stddef.h>\n#include "{EVAL_H}"\n' + "".join(
        f'_Static_assert(({e}) == {v}, "{e} == {v}");\n' for e, v in values.items()))
    argv = compiled.compiler_argv(p)
    proc = subprocess.run([*argv, "-std=gnu11", "-w", "-c", str(src), "-o", str(tmp_path / "probe.o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_enumerators_errors_name_the_value():
    from bitlayout import layout as layout_mod
    from bitlayout.errors import LayoutError

    ls = layout_mod.layout_headers([EVAL_H], profile("x86_64"))
    with pytest.raises(LayoutError, match="no enum 'nope'.*enum ev_color"):
        ls.enumerators("nope")
    with pytest.raises(LayoutError, match="no enum 'ev_out_t'"):
        ls.enumerators("ev_out_t")
