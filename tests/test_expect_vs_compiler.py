"""Random ``[[expect]]`` expressions evaluated by bitlayout and by each arch's C compiler.

Issue 12: an expectation is C, so its value must be the one the arch's compiler folds.  For
every arch with a compiler, N random integer constant expressions (literals of every suffix,
casts, enumerators, macros, sizeof/_Alignof/__alignof__/offsetof, every operator) go through
``expressions.parse_expression(...).evaluate(ModelContext(plan))``; the same expressions go
into ONE C file of ``_Static_assert((E) == VALUE && ((E) < 0) == NEGATIVE, "i")`` lines compiled
once per arch (the sign check catches a signed/unsigned disagreement that wraps to the same
bits).  A compiler may refuse a line as not constant (clang: signed overflow, a shift past the
width; both are undefined behaviour that GCC folds): such lines are counted, never compared,
and must stay a minority.  N is 300 per arch; ``BITLAYOUT_LONG_RUN=N`` asks for more.
"""

from __future__ import annotations

import os
import random
import re

import pytest

from bitlayout import toolchains
from bitlayout.checks import ModelContext
from bitlayout.expressions import ExprEvalError, parse_expression
from bitlayout.pipeline import plan_for
from bitlayout.spec import load_spec

from test_layout_support import ARCH_NAMES, profile, require_compiler

N_EXPRESSIONS = max(300, int(os.environ.get("BITLAYOUT_LONG_RUN") or 0))

HEADER = """\
enum e { E_NEG = -3, E_ZERO = 0, E_BIG = 40 };
enum big { BIG_UNSIGNED = 0x80000000 };
#define M_UL 3UL
#define M_NEG (-5)
#define M_LL 0x100000000LL
struct s { char c; long l; short h; long long q; };
"""
C_PRELUDE = "#define offsetof(T, m) __builtin_offsetof(T, m)\n#define alignof _Alignof\n"

LITERALS = [0, 1, 2, 3, 7, 8, 31, 32, 63, 127, 128, 255, 256, 32767, 32768, 65535, 65536,
            2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]
SUFFIXES = ["", "", "U", "L", "UL", "LL", "ULL"]
TYPES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned", "long",
         "unsigned long", "long long", "unsigned long long", "_Bool"]
SIZE_TYPES = TYPES + ["void *", "struct s", "enum e", "float", "double"]
NAMES = ["E_NEG", "E_ZERO", "E_BIG", "M_UL", "M_NEG", "M_LL"]
# BIG_UNSIGNED and `c ? a : b` were once folded wrongly (an enumerator outside int has its enum's type;
# a conditional has the common type of both branches): pinned by the two tests at the end.
BINARY = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||"]


def random_expression(rng: random.Random, depth: int = 0) -> str:
    """An integer constant expression in the [[expect]] language (every operator parenthesised, so
    no comparison chains)."""
    if depth >= 4 or rng.random() < 0.25:
        pick = rng.random()
        if pick < 0.45:
            value = rng.choice(LITERALS)
            suffix = rng.choice(SUFFIXES)
            if value >= 2**63 and "U" not in suffix:
                suffix = "ULL"
            return (hex(value) if rng.random() < 0.3 else str(value)) + suffix
        if pick < 0.65:
            return rng.choice(NAMES + ["BIG_UNSIGNED"])
        if pick < 0.8:
            return f"sizeof({rng.choice(SIZE_TYPES)})"
        if pick < 0.9:
            return f"{rng.choice(['_Alignof', '__alignof__', 'alignof'])}({rng.choice(SIZE_TYPES)})"
        return f"offsetof(struct s, {rng.choice('clhq')})"
    pick = rng.random()
    if pick < 0.15:
        return f"({rng.choice(['-', '~', '!', '+'])}{random_expression(rng, depth + 1)})"
    if pick < 0.3:
        return f"(({rng.choice(TYPES)}){random_expression(rng, depth + 1)})"
    if pick < 0.38:
        return (f"({random_expression(rng, depth + 1)} ? {random_expression(rng, depth + 1)} : "
                f"{random_expression(rng, depth + 1)})")
    op = rng.choice(BINARY)
    right = str(rng.randrange(0, 40)) if op in ("<<", ">>") and rng.random() < 0.8 else random_expression(rng, depth + 1)
    return f"({random_expression(rng, depth + 1)} {op} {right})"


def c_literal(value: int) -> str:
    if value < 0:
        return f"({value + 1}LL - 1)"  # -2**63 has no literal of its own
    return f"{value}ULL"


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("expect-diff")
    (d / "e.h").write_text(HEADER)
    (d / "s.toml").write_text('headers = ["e.h"]\n[[expect]]\nthat = "1"\n')
    return load_spec(d / "s.toml")


def test_generator_is_deterministic_and_covers_the_language():
    a = [random_expression(random.Random(5)) for _ in range(3)]
    assert a == [random_expression(random.Random(5)) for _ in range(3)]
    text = " ".join(random_expression(random.Random(i)) for i in range(300))
    for needle in ("ULL", "sizeof(", "offsetof(", "__alignof__(", "(unsigned", " << ", " && ", "M_NEG", "~", " ? ", "BIG_UNSIGNED"):
        assert needle in text, needle


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_random_expressions_fold_as_the_compiler_folds_them(arch, spec, tmp_path):
    comp = require_compiler(profile(arch))
    seen_as = profile(arch).for_compiler(comp.kind) or profile(arch)
    ctx = ModelContext(plan_for(spec, seen_as))
    rng = random.Random(f"expect-{arch}")
    cases: list[tuple[str, int]] = []
    while len(cases) < N_EXPRESSIONS:
        text = random_expression(rng)
        try:
            value = parse_expression(text).evaluate(ctx)
        except ExprEvalError:  # division by zero, a negative shift: not a constant in C either
            continue
        cases.append((text, value))
    lines = [f'_Static_assert(({t}) == {c_literal(v)} && (({t}) < 0) == {int(v < 0)}, "case {i}");'
             for i, (t, v) in enumerate(cases)]
    src = tmp_path / "expect_diff.c"
    first_line = HEADER.count("\n") + C_PRELUDE.count("\n") + 1
    src.write_text(HEADER + C_PRELUDE + "\n".join(lines) + "\n")
    flags = ["-w", "-std=gnu11"] + (["-ferror-limit=0"] if comp.kind == "zig" else [])
    argv = toolchains.compile_argv(seen_as, comp, [src], tmp_path / "expect_diff.o", compile_only=True,
                                   extra_flags=flags)
    res = toolchains.run_compiler(argv, timeout=300, what=f"{comp.identity} on the expect differential test")
    wrong, refused = {}, {}
    for m in re.finditer(r"expect_diff\.c:(\d+):\d+: error: (.*)", res.stderr):
        index = int(m.group(1)) - first_line
        assert 0 <= index < len(cases), res.stderr[:2000]
        text, value = cases[index]
        if "static assert" in m.group(2) and ("failed" in m.group(2) or "false" in m.group(2)):
            wrong[text] = value
        elif "not an integ" in m.group(2) or "not constant" in m.group(2):
            refused[text] = m.group(2)
    assert res.returncode == 0 or wrong or refused, res.stderr[:2000]
    assert wrong == {}, f"{len(wrong)} of {len(cases)} expressions differ from {comp.identity} on {arch}: " \
                        f"{list(wrong.items())[:3]}"
    # UB the compiler refuses to fold is not compared; most expressions must be
    assert len(refused) <= len(cases) // 3, f"{len(refused)} refused: {list(refused.items())[:3]}"


def _one_arch_case(spec, arch: str, text: str) -> tuple[int, int]:
    """(bitlayout's value, the compiler's verdict 1/0 on bitlayout's value) for one expression."""
    import tempfile
    from pathlib import Path

    comp = require_compiler(profile(arch))
    seen_as = profile(arch).for_compiler(comp.kind) or profile(arch)
    value = parse_expression(text).evaluate(ModelContext(plan_for(spec, seen_as)))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "one.c"
        src.write_text(HEADER + f'_Static_assert(({text}) == {c_literal(value)} && (({text}) < 0) == {int(value < 0)}, "");\n')
        argv = toolchains.compile_argv(seen_as, comp, [src], Path(tmp) / "one.o", compile_only=True,
                                       extra_flags=["-w"])
        res = toolchains.run_compiler(argv, timeout=120, what="one expression")
    assert res.returncode == 0 or "static assert" in res.stderr, res.stderr
    return value, int(res.returncode == 0)


def test_a_conditional_has_the_common_type_of_its_branches(spec):
    assert _one_arch_case(spec, "i386", "M_NEG - (1 ? 32768U : 2147483648LL)")[1] == 1


def test_an_enumerator_outside_int_has_the_type_of_its_enum(spec):
    assert _one_arch_case(spec, "x86_64", "(128 % BIG_UNSIGNED) << 28")[1] == 1
