"""bitlayout.matrix: run_matrix over arch x check x backend on the embedded default.

Fast by construction: the model and host backends on a few arches; one test
runs the exec backend on three arches (skips when no cross toolchain/qemu).
"""

from __future__ import annotations

import pytest

from bitlayout.checks import CHECKS
from bitlayout.errors import SpecError, UsageError
from bitlayout.matrix import parse_backends, parse_checks, run_matrix
from bitlayout.options import Options
from bitlayout.results import MATRIX_SCHEMA
from bitlayout.spec import load_default_spec, load_spec

ARCHES = ["i386", "mips", "x86_64", "aarch64_be"]
ROW_KEYS = {"arch", "check", "backend", "status", "detail", "predicted", "observed"}


@pytest.fixture(scope="module")
def model_host():
    return run_matrix(load_default_spec(), ARCHES, "model,host", None, Options(jobs=2))


def rows_by(result, **want):
    return [r for r in result.rows if all(getattr(r, k) == v for k, v in want.items())]


def test_every_arch_check_backend_has_exactly_one_row(model_host):
    keys = [(r.arch, r.check, r.backend) for r in model_host.rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(a, c, b) for a in ARCHES for c in CHECKS for b in ("model", "host")}
    assert model_host.arches == sorted(ARCHES)  # profile order


def test_json_contract(model_host):
    data = model_host.to_json()
    assert data["schema"] == MATRIX_SCHEMA
    assert len(data["results"]) == len(ARCHES) * len(CHECKS) * 2
    for row in data["results"]:
        assert ROW_KEYS <= set(row) <= ROW_KEYS | {"evidence"}
        assert row["status"] in ("pass", "fail", "skip", "error")
        assert row["detail"]
    skips = [r for r in data["results"] if r["status"] == "skip"]
    assert skips and all(r["detail"] for r in skips)


def test_expected_findings(model_host):
    for arch in ("i386", "mips"):
        (b,) = rows_by(model_host, arch=arch, check="bounds", backend="model")
        assert b.status == "fail"
        assert [x["nr"] for x in b.predicted["vma_flags_t"]["oob_in_use"]] == [32, 33, 34, 35, 36, 37, 38, 41, 43]
        (t,) = rows_by(model_host, arch=arch, check="tear", backend="model")
        assert t.status == "fail" and "vm_flags_u64_t: a full read is 2 loads" in t.detail
    for arch in ("x86_64", "aarch64_be"):
        for check in ("bounds", "tear", "tag-bits", "expect"):
            (r,) = rows_by(model_host, arch=arch, check=check, backend="model")
            assert r.status == "pass", (arch, check, r.detail)
    assert not [r for r in model_host.rows if r.status == "error"], [
        (r.arch, r.check, r.backend, r.detail) for r in model_host.rows if r.status == "error"]
    assert model_host.exit_code == 1


def test_host_rows(model_host):
    host = rows_by(model_host, backend="host")
    if all(r.status == "skip" for r in host):
        pytest.skip(f"host backend unavailable: {host[0].detail}")
    (b,) = rows_by(model_host, arch="i386", check="bounds", backend="host")
    assert b.status == "fail" and "confirmed by host" in b.detail
    # the host is little-endian: big-endian arches are skipped with the reason
    be = rows_by(model_host, arch="mips", backend="host")
    assert all(r.status == "skip" and "big-endian" in r.detail for r in be)
    assert model_host.backend_notes["host"] == "ran on 2/4 arches"


def test_cells_and_counts(model_host):
    assert model_host.cell("i386", "bounds") == "fail"
    assert model_host.cell("x86_64", "bounds") == "pass"
    counts = model_host.counts()
    assert sum(sum(v.values()) for v in counts.values()) == len(model_host.rows)
    assert counts["bounds"]["fail"] >= 2


def test_auto_reports_skipped_backends():
    result = run_matrix(load_default_spec(), ["x86_64"], "auto", ["bounds"], Options(jobs=1))
    assert result.backends[0] == "model"
    for name in ("host", "compiled", "exec"):
        assert name in result.backend_notes
        assert result.backend_notes[name].startswith(("ran on", "skipped: "))


def test_parse_options():
    assert parse_backends("model, host") == (["model", "host"], False)
    assert parse_backends("auto")[1] is True
    with pytest.raises(UsageError, match="unknown backend 'qemu'"):
        parse_backends("model,qemu")
    assert parse_checks(["tear", "bounds"]) == ["bounds", "tear"]
    with pytest.raises(UsageError, match="unknown check 'speed'"):
        parse_checks("speed")


def test_unknown_type_is_a_spec_error(tmp_path):
    (tmp_path / "h.h").write_text("typedef unsigned long word_t;\n")
    (tmp_path / "s.toml").write_text('headers = ["h.h"]\n[[bitmap]]\ntype = "nope_t"\nbits = { table = { A = 1 } }\n')
    with pytest.raises(SpecError, match=r"\[bitmap\[0\]\.type\]: unknown type 'nope_t'"):
        run_matrix(load_spec(tmp_path / "s.toml"), ["x86_64"], "model", None, Options(jobs=1))


def test_flags_overflowing_a_scalar_word_are_worded_as_such(tmp_path):
    """A u32 flags word is not a bitops array: the finding is that the flag does not fit the
    value, not that set_bit() writes past an array (and an unsigned long array keeps that)."""
    (tmp_path / "h.h").write_text(
        "typedef unsigned int u32;\ntypedef u32 foo_flags_t;\ntypedef unsigned long ul_flags_t[1];\n"
        "enum foo_bits { FOO_A = 0, FOO_B = 35 };\n")
    (tmp_path / "s.toml").write_text(
        'headers = ["h.h"]\n[[bitmap]]\ntypes = ["foo_flags_t", "ul_flags_t"]\nbits = "enum foo_bits"\n')
    result = run_matrix(load_spec(tmp_path / "s.toml"), ["x86_64", "i386"], "model", ["bounds"], Options(jobs=1))
    details = {r.arch: r.detail for r in result.rows}
    assert "foo_flags_t holds 32 bits but flags 35" in details["x86_64"]
    assert "do not fit the 32-bit u32: 1 << 35" in details["x86_64"]
    assert "ul_flags_t" not in details["x86_64"]  # 64 bits hold bit 35
    assert "ul_flags_t holds 32 bits but flags 35 (1 in use) lie outside: set_bit(35) writes word 1" \
        in details["i386"]


def test_user_spec_with_macro_bits_passes(tmp_path):
    (tmp_path / "h.h").write_text(
        "#define F_A_BIT 0\n#define F_B_BIT 62\ntypedef unsigned long long flags64_t;\n"
        "struct obj { long x; };\nstruct holder { struct obj *p; };\n")
    (tmp_path / "s.toml").write_text(
        'headers = ["h.h"]\narches = "64bit"\n'
        '[[bitmap]]\ntype = "flags64_t"\nbits = { prefix = "F_", suffix = "_BIT" }\n'
        'read_together = [["F_A_BIT", "F_B_BIT"]]\n'
        '[[tagged_pointer]]\nfield = "struct holder.p"\ntag_bits = 3\nallocator = "static"\n'
        '[[expect]]\nthat = "fits(F_B_BIT, flags64_t) && sizeof(struct obj) == 8"\n')
    result = run_matrix(load_spec(tmp_path / "s.toml"), ["x86_64", "riscv64"], "model", None, Options(jobs=1))
    statuses = {(r.arch, r.check): r.status for r in result.rows}
    assert statuses[("x86_64", "bounds")] == "pass"
    assert statuses[("x86_64", "tear")] == "pass"
    assert statuses[("x86_64", "tag-bits")] == "pass"
    assert statuses[("riscv64", "expect")] == "pass"
    assert result.exit_code == 0


def _exec():
    from bitlayout.backends import open_backends

    return open_backends(["exec"])[0]


def test_exec_backend_on_three_arches():
    from bitlayout.profiles import profile_by_name

    obs = _exec()
    if obs.unavailable():
        pytest.skip(f"exec backend unavailable: {obs.unavailable()}")
    arches = [a for a in ("mips", "i386", "armeb") if obs.available(profile_by_name(a))[0]]
    if len(arches) < 2:
        pytest.skip("fewer than 2 of mips/i386/armeb can run here (pip install ziglang; apt install qemu-user)")
    result = run_matrix(load_default_spec(), arches, "exec", ["profile", "bit-position", "bounds", "arr64"],
                        Options(jobs=2))
    for r in result.rows:
        assert r.status in ("pass", "fail"), (r.arch, r.check, r.detail)
        assert MODEL_BUG_TEXT not in r.detail
    for arch in arches:
        (b,) = rows_by(result, arch=arch, check="bounds")
        assert b.status == "fail" and "confirmed by exec" in b.detail


MODEL_BUG_TEXT = "model/profile bug"


def test_backend_that_errors_everywhere_is_not_called_skipped():
    from bitlayout.profiles import profile_by_name

    obs = _exec()
    if obs.unavailable() or not obs.available(profile_by_name("mips"))[0]:
        pytest.skip("exec backend cannot run mips here (pip install ziglang; apt install qemu-user)")
    result = run_matrix(load_default_spec(), ["mips"], "exec", ["bit-position"], Options(exec_timeout=0.001, jobs=1))
    (row,) = result.rows
    assert row.status == "error" and "timed out" in row.detail
    assert result.backend_notes["exec"].startswith("failed on every arch: ")


# ---------------------------------------------------------------------------
# Spec names that are unusable on every selected arch are bad input (exit 2); on some
# arches only they are an arch difference (error rows for those arches).

MIXED_HEADER = """\
enum my_bits { MY_A = 0, MY_E = 39 };
struct thing { long long x; };
struct holder { int a; struct thing *ptr; };
struct node { int a; char *p; };
#ifdef __x86_64__
struct partial { struct thing *p; };
typedef unsigned long maybe_t;
#else
struct partial { long p; };
typedef struct node maybe_t;
#endif
"""
TWO = ["i386", "x86_64"]


def _mixed_spec(tmp_path, body: str):
    (tmp_path / "m.h").write_text(MIXED_HEADER)
    path = tmp_path / "s.toml"
    path.write_text('headers = ["m.h"]\n' + body)
    return load_spec(path)


@pytest.mark.parametrize("jobs", [1, 2])
def test_tagged_pointer_field_not_a_pointer_anywhere_is_a_spec_error(tmp_path, jobs):
    spec = _mixed_spec(tmp_path, '[[tagged_pointer]]\nfield = "struct holder.a"\ntag_bits = 2\nallocator = "slab"\n')
    with pytest.raises(SpecError) as info:
        run_matrix(spec, TWO, "model", None, Options(jobs=jobs))
    text = str(info.value)
    assert text.startswith(f"{spec.path} [tagged_pointer[0].field]: ") and "not a pointer" in text, text


def test_missing_tagged_pointer_member_is_a_spec_error(tmp_path):
    spec = _mixed_spec(tmp_path, '[[tagged_pointer]]\nfield = "struct holder.nope"\ntag_bits = 2\nallocator = "slab"\n')
    with pytest.raises(SpecError, match=r"\[tagged_pointer\[0\]\.field\]: .*no member 'nope'"):
        run_matrix(spec, TWO, "model", ["tag-bits"], Options(jobs=1))


@pytest.mark.parametrize("jobs", [1, 2])
def test_bitmap_type_not_bitmap_like_anywhere_is_a_spec_error(tmp_path, jobs):
    spec = _mixed_spec(tmp_path, '[[bitmap]]\ntype = "struct node"\nbits = { prefix = "MY_" }\n')
    with pytest.raises(SpecError) as info:
        run_matrix(spec, TWO, "model", ["bounds"], Options(jobs=jobs))
    text = str(info.value)
    assert text.startswith(f"{spec.path} [bitmap[0].type]: ") and "wraps 2 members" in text, text


def test_spec_names_bad_on_some_arches_only_are_error_rows_for_those(tmp_path):
    spec = _mixed_spec(tmp_path, '[[bitmap]]\ntype = "maybe_t"\nbits = { prefix = "MY_" }\n'
                                 '[[tagged_pointer]]\nfield = "struct partial.p"\ntag_bits = 2\nallocator = "slab"\n')
    result = run_matrix(spec, TWO, "model", ["bounds", "tag-bits"], Options(jobs=1))
    rows = {(r.arch, r.check): r for r in result.rows}
    assert rows[("i386", "bounds")].status == "error"
    assert "maybe_t" in rows[("i386", "bounds")].detail and "wraps 2 members" in rows[("i386", "bounds")].detail
    assert rows[("i386", "tag-bits")].status == "error"
    assert rows[("i386", "tag-bits")].detail.startswith("cannot compute: struct partial.p@slab: ")
    assert "not a pointer" in rows[("i386", "tag-bits")].detail
    assert rows[("x86_64", "bounds")].status == "pass"  # MY_E = 39 fits a 64-bit long
    assert rows[("x86_64", "tag-bits")].status == "pass"


def test_missing_toolchains_give_skip_rows_with_the_install_hint(monkeypatch):
    """No compiler: the compiled (and exec) rows are skips naming what to install, never
    errors and never missing rows."""
    from bitlayout import toolchains

    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    for cache in (toolchains.find_compilers, toolchains.find_compiler):
        if hasattr(cache, "cache_clear"):
            cache.cache_clear()
    try:
        result = run_matrix(load_default_spec(), ["mips"], ["compiled", "exec"], ["layout", "bit-position"],
                            Options(jobs=1))
    finally:
        monkeypatch.undo()
        for cache in (toolchains.find_compilers, toolchains.find_compiler):
            if hasattr(cache, "cache_clear"):
                cache.cache_clear()
    rows = {(r.backend, r.check): r for r in result.rows}
    assert set(rows) == {(b, c) for b in ("compiled", "exec") for c in ("layout", "bit-position")}
    layout = rows[("compiled", "layout")]
    assert layout.status == "skip" and "no compiler" in layout.detail and "pip install ziglang" in layout.detail
    assert all(r.status == "skip" for r in result.rows), [(r.backend, r.check, r.status, r.detail) for r in result.rows]
