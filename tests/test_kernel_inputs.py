"""``--kernel DIR`` and the spec's ``kernel`` key: headers taken from a kernel tree per arch.

A fake tree prepared by the fake make (tests/kernel_fakes.py) with the real host gcc: its headers
are plain C, so today's front end lays them out and the whole route (Kbuild's captured command
-> -E -dD -> layout engine, and -c -g -> DWARF for the compiled backend) is exercised end to end.
"""

from __future__ import annotations

import json

import pytest

from bitlayout.errors import SpecError, UsageError
from bitlayout.kernel import find_tree, prepare_arches
from bitlayout.profiles import profile_by_name
from bitlayout.spec import load_spec

from conftest import run_cli
from kernel_fakes import make_source_tree, use_fake_make
MINE = """
struct anon_vma { long refcount; void *root; };
struct vm_area_struct { unsigned long vm_start; struct anon_vma *anon_vma; };
"""


@pytest.fixture
def tree(tmp_path, monkeypatch, private_cache):
    """A fake kernel tree prepared for x86_64 only (fake make, real host gcc)."""
    use_fake_make(tmp_path, monkeypatch)
    src = make_source_tree(tmp_path / "linux")
    [out] = prepare_arches(find_tree(src), [profile_by_name("x86_64")])
    assert out.status == "prepared", out.message
    return src


def _spec(tmp_path, body: str, name: str = "k.toml"):
    (tmp_path / "mine.h").write_text(MINE)
    path = tmp_path / name
    path.write_text(body)
    return path


TAGGED = '\n[[tagged_pointer]]\nfield = "struct vm_area_struct.anon_vma"\ntag_bits = 2\nallocator = "slab"\n'


# ---------------------------------------------------------------------------
# The spec


def test_a_spec_takes_kernel_include_names_and_files_next_to_it(tree, tmp_path):
    spec = load_spec(_spec(tmp_path, f'kernel = "{tree}"\nheaders = ["linux/mm_types.h", "mine.h"]\n' + TAGGED))
    assert spec.kernel == str(tree.resolve())
    assert spec.headers == ("linux/mm_types.h", str((tmp_path / "mine.h").resolve()))


def test_the_kernel_path_is_relative_to_the_spec(tree, tmp_path):
    spec = load_spec(_spec(tree.parent, 'kernel = "linux"\nheaders = ["mine.h"]\n' + TAGGED))
    assert spec.kernel == str(tree.resolve())


@pytest.mark.parametrize("body, key, words", [
    ('kernel = "nope"\nheaders = ["mine.h"]\n', "kernel", "no such directory"),
    ('kernel = "TREE"\nheaders = ["linux/none.h"]\n', "headers[0]", "neither a file nor a header of linux-6.12.0"),
    ('headers = ["linux/mm_types.h"]\n', "headers[0]", "header not found"),
    ('kernel = 3\nheaders = ["mine.h"]\n', "kernel", "expected str"),
])
def test_a_bad_kernel_spec_is_one_error_naming_the_key(tree, tmp_path, body, key, words):
    path = _spec(tmp_path, body.replace("TREE", str(tree)) + TAGGED)
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert f"[{key}]" in str(exc.value) and words in str(exc.value)


def test_kernel_on_the_command_line_replaces_the_spec_key(tree, tmp_path):
    spec = load_spec(_spec(tmp_path, 'headers = ["linux/mm_types.h"]\n' + TAGGED), kernel=tree)
    assert spec.kernel == str(tree.resolve()) and spec.headers == ("linux/mm_types.h",)


def test_the_embedded_default_has_no_kernel_headers(tree):
    with pytest.raises(UsageError, match="--kernel needs a spec"):
        load_spec(None, kernel=tree)


# ---------------------------------------------------------------------------
# layout / diff


def test_layout_lays_out_a_kernel_include_name_with_kbuilds_flags(tree, capsys):
    code, out, err = run_cli(capsys, "layout", "--kernel", str(tree), "linux/mm_types.h", "--arch", "x86_64",
                             "--format", "json")
    assert code == 0, err
    types = json.loads(out)["arches"]["x86_64"]["types"]
    assert types["struct vm_area_struct"]["members"] == [
        {"name": "vm_start", "offset_bits": 0, "size_bits": 64}, {"name": "anon_vma", "offset_bits": 64, "size_bits": 64}]


def test_layout_without_arch_runs_the_prepared_arches_and_names_the_others(tree, capsys):
    code, out, err = run_cli(capsys, "layout", "--kernel", str(tree), "linux/mm_types.h", "--format", "json")
    assert code == 0, err
    assert list(json.loads(out)["arches"]) == ["x86_64"]
    assert "is not prepared for" in err and "i386" in err and "bitlayout kernel prepare" in err


@pytest.mark.parametrize("argv, words", [
    (["linux/none.h", "--arch", "x86_64"], "FILE linux/none.h: neither a file nor a header"),
    (["linux/mm_types.h", "--arch", "i386"], "i386: not prepared: run `bitlayout kernel prepare"),
    (["linux/mm_types.h", "--arch", "x32"], "x32: no kernel configuration"),
    (["linux/mm_types.h", "--builtin-cpp"], "--builtin-cpp and --kernel exclude each other"),
])
def test_layout_bad_kernel_input_is_one_line_exit_2(tree, capsys, argv, words):
    code, out, err = run_cli(capsys, "layout", "--kernel", str(tree), *argv)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("bitlayout: error:")]
    assert len(lines) == 1 and words in lines[0], err


@pytest.mark.parametrize("fmt", ["json", "table", "compare"])
def test_layout_renders_in_forked_workers_what_it_renders_in_process(tree, fmt):
    """With --kernel, runs of arches are laid out in forked workers that send back their output."""
    from bitlayout.cli import build_parser
    from bitlayout.commands.layout import _inputs, _render, _render_run
    from bitlayout.workers import map_runs
    from bitlayout.kernel.inputs import layouts_for

    args = build_parser("layout").parse_args(["layout", "--kernel", str(tree), "linux/mm_types.h", "--arch", "x86_64",
                                      "--type", "struct vm_area_struct", "--format", fmt])
    kernel, profiles, defines = _inputs(args)
    [(profile, here)] = list(layouts_for(args.files, profiles, args.include_dirs, defines, kernel=kernel))
    in_process = _render(here, args)
    assert in_process[0] == "ok" and "vm_start" in str(in_process[1])
    assert map_runs(_render_run, [profiles, profiles], args, kernel, defines) == [{"x86_64": in_process}] * 2


def test_layout_compare_of_a_kernel_type_claims_no_second_compiler(tree, capsys):
    """Kbuild builds a tree with one compiler per arch: compare has no GCC-vs-clang line to show."""
    code, out, err = run_cli(capsys, "layout", "--kernel", str(tree), "linux/mm_types.h", "--arch", "x86_64",
                             "--type", "struct vm_area_struct", "--format", "compare")
    assert code == 0, err
    assert "anon_vma" in out and "64+64" in out and "clang" not in out


def test_layout_with_jobs_reports_a_workers_error_as_one_process_does(tree, capsys):
    argv = ["layout", "--kernel", str(tree), "linux/mm_types.h", "--arch", "x86_64,i386", "--format", "json"]
    one = run_cli(capsys, *argv, "-j", "1")
    two = run_cli(capsys, *argv, "-j", "2")
    assert one == two and one[0] == 2 and "i386: not prepared" in one[2]
    code, _out, err = run_cli(capsys, *argv, "-j", "0")
    assert code == 2 and "-j must be at least 1, got 0" in err


def test_layout_of_a_directory_that_is_not_a_tree(capsys, tmp_path):
    code, out, err = run_cli(capsys, "layout", "--kernel", str(tmp_path), "linux/mm_types.h")
    assert code == 2 and "not a kernel tree" in err


def test_diff_compares_a_patched_copy_with_the_trees_header(tree, tmp_path, capsys):
    patched = tmp_path / "mm_types.h"
    patched.write_text((tree / "include/linux/mm_types.h").read_text().replace(
        "void *anon_vma;", "void *anon_vma; unsigned long vm_flags[2];"))
    code, out, err = run_cli(capsys, "diff", "linux/mm_types.h:struct vm_area_struct",
                             f"{patched}:struct vm_area_struct", "--kernel", str(tree), "--arch", "x86_64",
                             "--flags", "none", "--format", "json")
    assert code == 0, err
    [arch] = json.loads(out)["arches"]
    assert (arch["old"]["size_bytes"], arch["new"]["size_bytes"]) == (16, 32)


def test_diff_works_on_arches_in_forked_workers_as_in_one_process(tree, tmp_path, capsys):
    from bitlayout.diff import FlagSet, _arch_entries, parse_designs
    from bitlayout.kernel.inputs import KernelSource
    from bitlayout.workers import map_runs

    patched = tmp_path / "mm_types.h"
    patched.write_text((tree / "include/linux/mm_types.h").read_text().replace(
        "void *anon_vma;", "void *anon_vma; unsigned long vm_flags[2];"))
    kernel = KernelSource.open(tree)
    old, new = parse_designs("linux/mm_types.h:struct vm_area_struct", f"{patched}:struct vm_area_struct", None,
                             kernel=kernel)
    work = (old, new, FlagSet("none"), None, (), {}, kernel)
    here = _arch_entries([profile_by_name("x86_64")], *work)
    assert here[0][0]["new"]["size_bytes"] == 32
    assert map_runs(_arch_entries, [[profile_by_name("x86_64")]] * 2, *work) == [here, here]
    argv = ["diff", "linux/mm_types.h:struct vm_area_struct", f"{patched}:struct vm_area_struct", "--kernel",
            str(tree), "--arch", "x86_64,i386", "--flags", "none"]
    one, two = run_cli(capsys, *argv, "-j", "1"), run_cli(capsys, *argv, "-j", "2")
    assert one == two and one[0] == 0 and "not prepared" in one[1]


# ---------------------------------------------------------------------------
# matrix / report


def test_matrix_runs_prepared_arches_and_skips_the_others_with_the_command(tree, tmp_path, capsys):
    path = _spec(tmp_path, f'kernel = "{tree}"\nheaders = ["mine.h"]\n' + TAGGED)
    code, out, err = run_cli(capsys, "matrix", str(path), "--arch", "x86_64,i386,x32", "--backend",
                             "model,compiled", "--format", "json", "-q")
    assert code == 0, err
    rows = {(r["arch"], r["check"], r["backend"]): r for r in json.loads(out)["results"]}
    assert rows[("x86_64", "layout", "compiled")]["status"] == "pass"
    assert rows[("x86_64", "tag-bits", "model")]["status"] == "pass"
    for backend in ("model", "compiled"):
        i386 = rows[("i386", "layout", backend)]
        assert i386["status"] == "skip" and "i386: not prepared: run `bitlayout kernel prepare" in i386["detail"]
        assert rows[("x32", "tag-bits", backend)]["status"] == "skip"
    assert "x32: no kernel configuration" in rows[("x32", "layout", "model")]["detail"]


def test_matrix_with_no_prepared_arch_is_exit_2(tree, tmp_path, capsys):
    path = _spec(tmp_path, 'headers = ["mine.h"]\n' + TAGGED)
    code, out, err = run_cli(capsys, "matrix", str(path), "--kernel", str(tree), "--arch", "i386,mips", "-q")
    assert code == 2 and "no selected arch can be laid out here" in err and "bitlayout kernel prepare" in err


def test_report_takes_the_kernel_option(tree, tmp_path, capsys):
    path = _spec(tmp_path, 'headers = ["mine.h"]\n' + TAGGED)
    code, out, err = run_cli(capsys, "report", str(path), "--kernel", str(tree), "--arch", "x86_64,i386",
                             "--backend", "model", "--format", "json", "-o", "-", "-q")
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["fail"] == 0 and report["summary"]["error"] == 0
