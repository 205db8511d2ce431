"""GCC and clang, both: where they lay a type out differently, bitlayout says so as a compiler
divergence (the model predicts both answers and states its choice), never as a model error.

tests/headers/compiler_divergence.h holds bit-field layouts in the style of the compilers' own
test suites; every arch with both compilers installed compiles it with each, and each compiler
must give exactly the model's prediction for that compiler.  The random types of
tests/ctypes_strategy.py go through the same comparison in tests/test_layout_random.py.
"""

from __future__ import annotations

import json

import pytest

from bitlayout import toolchains
from bitlayout.checks import DIVERGENCE, MODEL_BUG
from bitlayout.matrix import run_matrix
from bitlayout.options import Options
from bitlayout.results import Backend, Status
from bitlayout.spec import load_spec
from test_layout_support import (ARCH_NAMES, HEADERS_DIR, compiler_contract, diff_contracts, model_contract,
                                 profile)

HEADER = str(HEADERS_DIR / "compiler_divergence.h")
# The types GCC 12 and clang 22 lay out differently, measured on every arch that has both.
KNOWN = {"struct cd_issue_g", "struct cd_issue_pack", "struct cd_g7", "struct cd_pp_big", "struct cd_pp_four",
         "struct cd_packed_vector"}
BOTH = [a for a in ARCH_NAMES if profile(a).alternate is not None]
BOTH_HERE = [a for a in BOTH if len({c.kind for c in toolchains.find_compilers(profile(a))}) > 1]


def diverging(one: dict, two: dict) -> set[str]:
    return {n for n in one["types"] if one["types"][n] != two["types"][n]}


def test_the_issue_examples_as_each_compiler_lays_them_out():
    """Plain data, no compiler: clang puts n at bit 8 (across the first int), GCC at bit 32;
    under #pragma pack(2) clang ignores aligned(8) on b (2 bytes), GCC rounds b to 2 bytes (4)."""
    gcc = model_contract("x86_64", (HEADER,), kind="gcc")["types"]
    clang = model_contract("x86_64", (HEADER,), kind="zig")["types"]
    assert gcc["struct cd_issue_g"] == {"size": 8, "align": 4,
                                        "members": [{"name": "n", "offset_bits": 32, "size_bits": 25}]}
    assert clang["struct cd_issue_g"] == {"size": 8, "align": 4,
                                          "members": [{"name": "n", "offset_bits": 8, "size_bits": 25}]}
    assert (gcc["struct cd_issue_pack"]["size"], clang["struct cd_issue_pack"]["size"]) == (4, 2)
    assert [m["offset_bits"] for m in clang["struct cd_issue_pack"]["members"]] == [0, 8]


def test_a_trailing_packed_on_a_char_vector_field_packs_it_for_clang_only():
    gcc = model_contract("x86_64", (HEADER,), kind="gcc")["types"]
    clang = model_contract("x86_64", (HEADER,), kind="zig")["types"]
    assert (gcc["struct cd_packed_vector"]["size"], gcc["struct cd_packed_vector"]["align"]) == (16, 8)
    assert (clang["struct cd_packed_vector"]["size"], clang["struct cd_packed_vector"]["align"]) == (9, 1)
    assert gcc["struct cd_packed_vector_lead"]["size"] == clang["struct cd_packed_vector_lead"]["size"] == 9


@pytest.mark.parametrize("arch", BOTH)
def test_the_model_predicts_the_known_divergences_on_every_arch_with_both(arch):
    assert diverging(model_contract(arch, (HEADER,), kind="gcc"), model_contract(arch, (HEADER,), kind="zig")) \
        == KNOWN


@pytest.mark.parametrize("arch", BOTH_HERE or ["none"])
def test_both_compilers_give_the_models_answer_for_them(arch):
    """Each compiler equals the model's prediction for it, so the divergences the two
    compilers show are exactly the ones the model predicts."""
    if arch == "none":
        pytest.skip("no arch has both compilers here; install: bash .ci/install")
    observed = {}
    for kind in ("gcc", "zig"):
        model = model_contract(arch, (HEADER,), kind=kind)
        observed[kind] = compiler_contract(arch, (HEADER,), tuple(model["types"]), kind=kind)
        assert diff_contracts(model, observed[kind]) == [], kind
    assert diverging(observed["gcc"], observed["zig"]) == KNOWN


@pytest.fixture(scope="module")
def divergence_spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("divergence")
    (d / "compiler_divergence.h").write_text(open(HEADER).read())
    (d / "spec.toml").write_text('headers = ["compiler_divergence.h"]\narches = "all"\n\n'
                                 '[[expect]]\nthat = "sizeof(struct cd_g0) == 32"\n')
    return load_spec(d / "spec.toml")


@pytest.fixture(scope="module")
def divergence_matrix(divergence_spec):
    """The divergence check with both compilers on every arch that has both (one compile each)."""
    if not BOTH_HERE:
        pytest.skip("no arch has both compilers here; install: bash .ci/install")
    return run_matrix(divergence_spec, BOTH_HERE, "model,compiled,compiled-alternate", ["divergence"],
                      Options(jobs=2))


def test_every_divergence_is_a_divergence_never_a_model_error(divergence_matrix):
    rows = divergence_matrix.rows
    assert {r.status for r in rows} == {Status.FAIL}, [r.detail for r in rows if r.status != Status.FAIL]
    for r in rows:
        assert r.detail.startswith(f"{DIVERGENCE}: ") and MODEL_BUG not in r.detail
        assert set(r.predicted["diverging"]) == KNOWN
        assert "model follows GCC here, as Linux builds" in r.detail
    by = {(r.arch, r.backend): r for r in rows}
    for arch in BOTH_HERE:
        gcc, clang = by[(arch, Backend.COMPILED)], by[(arch, Backend.COMPILED_ALTERNATE)]
        assert "GCC's half confirmed" in gcc.detail and gcc.evidence["compiler_abi"] == "gcc"
        assert "clang's half confirmed" in clang.detail and clang.evidence["compiler_abi"] == "clang"
        assert clang.evidence["compiler"] == "zig" and gcc.evidence["compiler"] == "gcc"
        # each compiler's own answer for the issue's first example, read back from its DWARF
        assert [m["offset_bits"] for m in gcc.observed["struct cd_issue_g"]["members"]] == [32]
        assert [m["offset_bits"] for m in clang.observed["struct cd_issue_g"]["members"]] == [8]


def test_the_layout_check_of_each_compiler_follows_its_own_prediction(divergence_spec):
    """compiled-alternate's layout rows are judged against clang's layouts: a diverging type
    is no error there (the spec's expect names cd_g0, which both compilers agree on)."""
    arch = (BOTH_HERE or [None])[0]
    if arch is None:
        pytest.skip("no arch has both compilers here; install: bash .ci/install")
    result = run_matrix(divergence_spec, [arch], "compiled,compiled-alternate", ["layout", "expect"],
                        Options(jobs=1))
    assert {r.status for r in result.rows} <= {Status.PASS, Status.SKIP}, [r.detail for r in result.rows]


def test_an_arch_with_one_compiler_is_not_compared_and_says_why(divergence_spec):
    result = run_matrix(divergence_spec, ["m68k", "hexagon"], "model", ["divergence"], Options(jobs=1))
    details = {r.arch: (r.status, r.detail) for r in result.rows}
    assert details["m68k"] == (Status.SKIP, "the m68k profile describes GCC only (no [alternate]): "
                                            "nothing to compare")
    assert details["hexagon"][0] == Status.SKIP and "describes clang only" in details["hexagon"][1]


# ---------------------------------------------------------------------------
# The exec driver built by both compilers


@pytest.mark.parametrize("arch", ["x86_64", "arm", "mips64", "s390x"])
def test_the_driver_built_by_each_compiler_answers_alike(arch):
    """exec (Debian GCC, static glibc) and exec-alternate (zig's clang, static musl) run the
    same probes on the same CPU; the bitop rows of both pass and name their compiler."""
    p = profile(arch)
    if len(toolchains.find_compilers(p)) < 2 or toolchains.find_runner(p) is None:
        pytest.skip(f"{arch} needs both compilers and a runner here: {toolchains.missing_reason(p) or 'one only'}")
    result = run_matrix(load_spec(None), [arch], "exec,exec-alternate", ["profile", "bitops", "bit-position"],
                        Options(jobs=1))
    rows = {(r.backend, r.check): r for r in result.rows}
    for check in ("profile", "bitops", "bit-position"):
        gcc, clang = rows[(Backend.EXEC, check)], rows[(Backend.EXEC_ALTERNATE, check)]
        assert (gcc.status, clang.status) == (Status.PASS, Status.PASS), (gcc.detail, clang.detail)
        assert (gcc.evidence["compiler"], clang.evidence["compiler"]) == ("gcc", "zig")
        assert gcc.evidence["toolchain"] != clang.evidence["toolchain"]


# ---------------------------------------------------------------------------
# The report and `layout --format compare`


def test_the_report_shows_the_divergence_section_in_every_renderer(divergence_spec):
    """A header with known divergences: the section, the headline, each compiler's answer."""
    from bitlayout.commands.report import build
    from bitlayout.report.html import render_html
    from bitlayout.report.json import render_json
    from bitlayout.report.text import render_text

    backends = "model,compiled,compiled-alternate" if "x86_64" in BOTH_HERE else "model"
    report = build(str(divergence_spec.path), arch="x86_64,m68k", backend=backends, check="divergence,expect",
                   options=Options(jobs=1))
    section = report["compiler_divergence"]
    assert {g["type"] for g in section["divergences"]} == KNOWN
    g = next(g for g in section["divergences"] if g["type"] == "struct cd_issue_g")
    assert g["answers"] == {"gcc": {"members": {"n": {"offset_bits": 32, "size_bits": 25}}},
                            "clang": {"members": {"n": {"offset_bits": 8, "size_bits": 25}}}}
    assert g["arches"] == ["x86_64"] and g["members"] == ["n"]
    assert g["model_choices"] == ["model follows GCC here, as Linux builds x86_64 with GCC (and with clang, LLVM=1)"]
    assert [n["arch"] for n in section["not_compared"]] == ["m68k"]
    heads = [f for f in report["findings"] if f.get("source") == "divergence"]
    assert {f["type"] for f in heads} == KNOWN and all(f["headline"] for f in heads)
    if backends != "model":
        assert g["confirmed"] == {"gcc": ["x86_64"], "clang": ["x86_64"]}
    text = render_text(report)
    assert "COMPILER DIVERGENCE: GCC VS CLANG" in text and f"{len(KNOWN)} types laid out differently" in text
    assert "gcc: n at bit 32 (25 bits)" in text and "clang: n at bit 8 (25 bits)" in text
    html = render_html(report)
    assert 'id="divergence"' in html and "struct cd_issue_g" in html and "compiler divergence:" in html
    data = json.loads(render_json(report))
    assert data["compiler_divergence"]["divergences"][0]["type"] in KNOWN


def test_the_default_report_says_what_was_compared_when_nothing_diverges():
    from bitlayout.commands.report import build
    from bitlayout.report.text import render_text

    report = build(None, arch="x86_64,arm,m68k", backend="model", check="divergence", options=Options(jobs=1))
    section = report["compiler_divergence"]
    assert section["divergences"] == [] and [c["arch"] for c in section["compared"]] == ["arm", "x86_64"]
    assert section["summary"].startswith("GCC and clang compared on every type the headers define (14) on 2 arches "
                                         "(arm, x86_64): no divergence")
    assert "no divergence" in render_text(report)
    assert not [f for f in report["findings"] if f.get("source") == "divergence"]


def test_the_report_and_doctor_say_why_x32_and_arc_cannot_run(capsys):
    from bitlayout import cli
    from bitlayout.commands.report import build
    from bitlayout.report.html import render_html
    from bitlayout.report.text import render_text

    report = build(None, arch="x32,arc", backend="model", check="bounds", options=Options(jobs=1))
    notes = {f["arches"][0]: f["text"] for f in report["findings"] if f.get("arches") and
             "cannot run code here" in f["text"]}
    assert "CONFIG_X86_X32_ABI" in notes["x32"] and "no ARC target" in notes["arc"]
    assert "x32 cannot run code here: the host kernel is built without CONFIG_X86_X32_ABI" in \
        " ".join(render_text(report).split())
    assert "arc cannot run code here: qemu-user 7.2 has no ARC target" in render_html(report)
    assert cli.main(["doctor", "--arch", "x32,arc"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "CONFIG_X86_X32_ABI" in out and "no ARC target" in out


def test_layout_compare_marks_the_members_gcc_and_clang_disagree_on(capsys):
    from bitlayout import cli

    assert cli.main(["layout", HEADER, "--arch", "x86_64,m68k", "--format", "compare",
                     "--type", "struct cd_issue_pack"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = {ln[3:].split()[0] for ln in lines[1:] if ln[:2] in ("*!", " !")}
    assert marked == {"size", "b"}
    assert "! b: GCC 16+4, clang 8+4 on x86_64" in lines
    assert cli.main(["layout", HEADER, "--arch", "x86_64", "--format", "compare", "--type", "struct cd_g0"]) == 0
    out = capsys.readouterr().out
    assert "!" not in out and "GCC and clang agree on struct cd_g0 on every arch that has both: x86_64" in out


def test_a_compile_only_second_route_is_a_skip_not_a_failed_run():
    """sparc64's zig route targets glibc, which zig links only dynamically: without the split
    route (zig's objects linked by the arch's gcc) there is no second driver."""
    import dataclasses

    from bitlayout.backends.exec import ExecBackend

    shipped = profile("sparc64")
    kinds = [c.kind for c in toolchains.find_compilers(shipped)]
    if kinds != ["gcc", "zig"]:
        pytest.skip(f"sparc64 needs Debian's gcc and zig here (found: {kinds}); install: bash .ci/install")
    assert ExecBackend(rank=1).available(shipped)[0]  # the split route
    p = dataclasses.replace(shipped, toolchain=dataclasses.replace(
        shipped.toolchain, zig_glibc_target="", zig_glibc_unmerge_sections=False))
    ok, why = ExecBackend(rank=1).available(p)
    assert not ok and "compile-only route" in why and "sparc64-linux-gnu-gcc" in why
    assert ExecBackend(rank=0).available(p)[0]


LIBC_APART = """#include <pthread.h>
#include <stddef.h>
struct job { pthread_mutex_t lock; size_t n; };
struct plain { char c; size_t n; };
"""


def test_types_the_two_c_libraries_declare_differently_are_not_called_a_divergence(tmp_path, capsys):
    """aarch64: GCC's route has glibc (pthread_mutex_t 48 bytes), zig's clang has musl (40): a
    different declaration, not a compiler divergence; a type both declare alike is compared."""
    from bitlayout import cli
    from bitlayout.checks.divergence import DivergenceCheck
    from bitlayout.pipeline import plan_for
    from bitlayout.spec import parse_spec

    if "aarch64" not in BOTH_HERE:
        pytest.skip("needs both aarch64 compilers: apt-get install -y gcc-aarch64-linux-gnu; pip install ziglang")
    header = tmp_path / "job.h"
    header.write_text(LIBC_APART)
    assert cli.main(["layout", str(header), "--arch", "aarch64", "--format", "compare", "--type", "struct job"]) == 0
    out = capsys.readouterr().out
    assert "!" not in out and "not compared on aarch64: the other compiler's C library declares struct job" in out
    spec = parse_spec(tmp_path / "spec.toml", {"headers": ["job.h"], "expect": [{"that": "sizeof(struct job) > 0"}]})
    predicted = DivergenceCheck().predict(plan_for(spec, profile("aarch64"), alternate=True))
    assert predicted["declared_apart"] == ["struct job"]  # the types of the input files
    assert "struct plain" in predicted["layouts"]["gcc"] and predicted["diverging"] == {}


def test_declared_alike_reads_the_declaration_not_its_spelling():
    from bitlayout.layout import layout_text
    from bitlayout.layout.typelayout import declared_alike

    def struct_a(text: str):
        return layout_text(text, profile("x86_64")).type("struct a")

    one = struct_a("typedef long unsigned int size_t; struct a { signed x; size_t y; int b:3; };")
    assert declared_alike(one, struct_a("struct a { int x; unsigned long y; int b:3; };"))
    assert not declared_alike(one, struct_a("struct a { int x; unsigned long y; int b:4; };"))
    assert not declared_alike(one, struct_a("struct a { int x; long y; int b:3; };"))
    assert not declared_alike(one, struct_a("struct a { int z; unsigned long y; int b:3; };"))
