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


# --- prototypes in a header the user did not name ----------------------------------------------
#
# Their parameter lists are jumped over (thousands in the libc and a kernel tree, none changes a
# layout); the first words of each parameter are still checked, so a header included without the
# one that declares its types is refused as GCC refuses it.  GCC is the judge of each case.

INCLUDED_PROTOTYPES = [
    "int f(Display *d);",  # <X11/ImUtil.h> without <X11/Xlib.h>
    "int f(int a, Display d);",
    "int f(const Display *d);",
    "int f(int (*cb)(Display *, int));",  # a function pointer's own list
    "typedef int getc_func_t (FILE *);",  # <readline/rltypedefs.h> without <stdio.h>
    "typedef int (*handler_t)(\n#line 40\n Display *, const char *);",
    "int f(a, b);",  # K&R names in a declaration: GCC warns, accepts
    "int f(int a[sizeof(long)], struct s *p, ...);",
    "int f(__attribute__((unused)) int a, register int b, const volatile unsigned *c);",
    "typedef int T; int f(T, const T *, int (*)(T t), T (*)[2]);",
    "int f(char *s __attribute__((nonnull)), int (*g)(void));",
]


@pytest.mark.parametrize("prototype", INCLUDED_PROTOTYPES)
def test_a_prototype_in_an_included_header_is_refused_or_accepted_like_gcc(prototype, tmp_path):
    comp = toolchains.find_compiler(X86_64)
    if comp is None or comp.kind != "gcc":
        pytest.skip("needs the host's gcc (apt-get install -y gcc)")
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "lib.h").write_text(prototype + "\n")
    h = tmp_path / "user.h"
    h.write_text("#include <lib.h>\nstruct after { int a; };\n")
    gcc_ok = toolchains.run_compiler([*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", "-I", str(tmp_path / "inc"),
                                      "-x", "c", str(h), "-o", str(tmp_path / "u.o")],
                                     timeout=60, what="gcc").returncode == 0
    try:
        layout.layout_headers([h], X86_64, [str(tmp_path / "inc")])
        ours = ""
    except BitlayoutError as exc:
        ours = str(exc)
    assert (ours == "") == gcc_ok, f"gcc {'accepts' if gcc_ok else 'refuses'}; bitlayout: {ours or 'accepts'}"
    if ours:
        assert "lib.h:" in ours and "unknown type name" in ours and "\n" not in ours


@pytest.mark.parametrize("header, needs, first", [
    ("readline/rltypedefs.h", "FILE", "stdio.h"),
    ("X11/ImUtil.h", "Display", "X11/Xlib.h"),
    ("EGL/eglext.h", "EGLDisplay", "EGL/egl.h"),
])
def test_a_real_header_included_without_its_prerequisite_is_refused_like_gcc(header, needs, first, tmp_path):
    """Real headers that are not self-contained (found by laying out every third-party header under
    /usr/include alone on x86_64: 984 equal to DWARF, 618 refused by both, these refused by GCC only)."""
    comp = toolchains.find_compiler(X86_64)
    if comp is None or comp.kind != "gcc":
        pytest.skip("needs the host's gcc (apt-get install -y gcc)")
    if not os.path.exists(f"/usr/include/{header}"):
        pytest.skip(f"/usr/include/{header} is not installed here")
    for prelude, refused in (("", True), (f"#include <{first}>\n", False)):
        h = tmp_path / "one.h"
        h.write_text(f"{prelude}#include <{header}>\n")
        gcc = toolchains.run_compiler([*comp.argv, *comp.cflags, "-c", "-w", "-std=gnu11", "-x", "c", str(h), "-o",
                                       str(tmp_path / "one.o")], timeout=60, what="gcc")
        assert (gcc.returncode != 0) == refused, gcc.stderr[-500:]
        if refused:
            with pytest.raises(BitlayoutError, match=f"{header}:.*unknown type name '{needs}'"):
                layout.layout_headers([h], X86_64)
        else:
            layout.layout_headers([h], X86_64)
