"""Random, partly invalid C: bitlayout and GCC both accept it (with the same layout) or both
reject it, and bitlayout never answers with a traceback.

Valid record definitions from tests/ctypes_strategy.py are mutated the way a header goes wrong
(a token dropped or doubled, a number replaced by a negative, a huge or a non-power-of-two one, a
member repeated, a type name misspelled, an attribute or a declaration added); each case is one
header compiled by the host's GCC (x86_64) and laid out by the model.  CI runs 60 cases with a
fixed seed; ``BITLAYOUT_INVALID_CASES=N`` runs more.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bitlayout import layout, toolchains
from bitlayout.backends import compiled
from bitlayout.errors import BitlayoutError

from ctypes_strategy import c_record
from test_layout_support import diff_contracts, profile

CASES = int(os.environ.get("BITLAYOUT_INVALID_CASES") or 60)
X86_64 = profile("x86_64")

_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\S")
ADDED = [
    "typedef int dup_t; typedef long dup_t;", "enum { DUP_E }; enum { DUP_E };", "struct tag_k; union tag_k;",
    "struct self { struct self s; };", "int v[-1];", "typedef char neg_t[-2];", "struct z { int a : 0; };",
    "struct big { char c[1UL << 62]; };", "_Static_assert(sizeof(int) == 8, \"no\");",
    "struct fam { char f[]; int after; };", "typedef int t3 __attribute__((vector_size(12)));",
    "struct al { int a __attribute__((aligned(3))); };", "struct bf { int a : 33; };",
    "struct w { unknown_type x; };", "typedef int ok_t; typedef int ok_t;", "struct e {};",
    "enum { E_BIG = 0x7fffffffffffffffLL + 0 };", "struct dm { int a; int a; };",
]


@st.composite
def _mutant(draw) -> str:
    text = draw(c_record(0))
    kind = draw(st.sampled_from(["drop", "double", "number", "add", "add", "member", "rename", "none"]))
    toks = list(_TOKEN.finditer(text))
    if kind == "drop" and toks:
        m = toks[draw(st.integers(0, len(toks) - 1))]
        text = text[:m.start()] + text[m.end():]
    elif kind == "double" and toks:
        m = toks[draw(st.integers(0, len(toks) - 1))]
        text = text[:m.end()] + " " + m.group() + text[m.end():]
    elif kind == "number":
        nums = [m for m in toks if m.group().isdigit()]
        if nums:
            m = nums[draw(st.integers(0, len(nums) - 1))]
            new = draw(st.sampled_from(["-1", "0", "3", "65", "4096", "(1 << 40)"]))
            text = text[:m.start()] + new + text[m.end():]
    elif kind == "add":
        text = draw(st.sampled_from(ADDED)) + "\n" + text
    elif kind == "member":
        semis = [m for m in toks if m.group() == ";"]
        if semis:
            m = semis[0]
            start = text.rfind("{", 0, m.start()) + 1
            text = text[:m.end()] + text[start:m.end()] + text[m.end():]
    elif kind == "rename":
        ids = [m for m in toks if m.group() in ("int", "char", "short", "long", "unsigned", "struct", "union")]
        if ids:
            m = ids[draw(st.integers(0, len(ids) - 1))]
            text = text[:m.start()] + m.group() + "x" + text[m.end():]
    return text


def _cases() -> list[str]:
    out: list[str] = []

    @seed(20261203)
    @settings(max_examples=CASES, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(_mutant())
    def collect(text):
        out.append(text)

    collect()
    return out


@pytest.mark.parametrize("case", range(CASES))
def test_bitlayout_and_gcc_agree_on_accepting_a_mutated_header(case, tmp_path):
    comp = toolchains.find_compiler(X86_64)
    if comp is None or comp.kind != "gcc":
        pytest.skip("needs the host's gcc (apt-get install -y gcc)")
    text = _CASES[case]
    h = tmp_path / "m.h"
    h.write_text(text + "\n")
    gcc_ok = toolchains.run_compiler([*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", "-x", "c", str(h), "-o",
                                      str(tmp_path / "m.o")], timeout=60, what="gcc").returncode == 0
    try:
        ls = layout.layout_headers([h], X86_64)
        ours = True
    except BitlayoutError as exc:
        assert "\n" not in str(exc)
        ours = False
    assert ours == gcc_ok, f"gcc {'accepts' if gcc_ok else 'rejects'}, bitlayout {'accepts' if ours else 'rejects'}:\n{text}"
    if ours and ls.types:
        names = list(ls.types)
        observed = compiled.compiled_layout([h], X86_64, names)
        assert diff_contracts(ls.to_contract(names), observed) == [], text


_CASES = _cases()
