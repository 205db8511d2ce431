"""`bitlayout matrix` on the command line: output formats, progress, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from bitlayout.checks import CHECKS
from bitlayout.cli import main


FAST = ["--backend", "model", "--arch", "i386,x86_64", "-j", "1"]


def run_cli(capsys, *argv):
    rc = main(["matrix", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_output_has_a_row_per_arch_and_check(capsys):
    rc, out, err = run_cli(capsys, *FAST, "--format", "json")
    assert rc == 1  # the default has real hazards on 32-bit
    data = json.loads(out)
    assert data["schema"] == "bitlayout.matrix/1"
    assert {(r["arch"], r["check"]) for r in data["results"]} == {
        (a, c) for a in ("i386", "x86_64") for c in CHECKS}
    bounds = {r["arch"]: r for r in data["results"] if r["check"] == "bounds"}
    assert bounds["i386"]["status"] == "fail" and bounds["x86_64"]["status"] == "pass"
    # not a TTY: plain progress lines on stderr, one per arch
    lines = [ln for ln in err.splitlines() if ln.startswith("bitlayout matrix: [")]
    assert len(lines) == 2 and "[2/2]" in lines[-1]


def test_table_output_is_an_ascii_grid(capsys):
    rc, out, err = run_cli(capsys, *FAST, "--check", "bounds,tear")
    assert rc == 1
    lines = out.splitlines()
    header = next(ln for ln in lines if ln.startswith("arch ") and "|" in ln)
    assert header.split("|")[1].strip() == "bounds" and header.split("|")[2].strip() == "tear"
    grid = {ln.split("|")[0].strip(): [c.strip() for c in ln.split("|")[1:]] for ln in lines
            if ln.split("|")[0].strip() in ("i386", "x86_64")}
    assert grid == {"i386": ["FAIL", "FAIL"], "x86_64": ["ok", "ok"]}
    assert "findings:" in out and "set_bit(43)" in out
    assert out.rstrip().splitlines()[-1].startswith("total: pass 2  fail 2")


def test_junit_and_output_file(capsys, tmp_path):
    target = tmp_path / "m.xml"
    rc, out, _ = run_cli(capsys, *FAST, "--check", "bounds", "--format", "junit", "-o", str(target), "-q")
    assert rc == 1 and out == ""
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1"
    failing = [tc for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert [tc.get("classname") for tc in failing] == ["i386"]


def test_exit_0_when_everything_passes(capsys):
    rc, out, _ = run_cli(capsys, "--backend", "model", "--arch", "64bit", "--check", "bounds,tear,tag-bits", "-q")
    assert rc == 0, out


@pytest.mark.parametrize("spec_text, message", [
    ("headers = [\n", "malformed TOML"),
    ('headers = ["h.h"]\n[[tagged_pointer]]\nfield = "struct s.p"\ntag_bits = 2\nallocator = "heap"\n',
     "[tagged_pointer[0].allocator]: unknown allocator 'heap'"),
    ('headers = ["h.h"]\n[[expect]]\nthat = "open(1)"\n', "[expect[0].that]: bad expression"),
    ('headers = ["h.h"]\narches = "vax"\n[[expect]]\nthat = "1"\n', "[arches]: unknown arch selector 'vax'"),
    ('headers = ["h.h"]\n[[bitmap]]\ntype = "nope_t"\nbits = "enum e"\n', "[bitmap[0].type]: unknown type 'nope_t'"),
    ('headers = ["h.h"]\n[[bitmap]]\ntype = "t"\nbits = "enum e"\nread_together = [["X_BIT"]]\n',
     "[bitmap[0].read_together[0]]: unknown flag 'X_BIT'"),
])
def test_bad_specs_exit_2_with_one_line(capsys, tmp_path, spec_text, message):
    (tmp_path / "h.h").write_text("typedef unsigned long t;\nenum e { A_BIT = 1 };\n")
    spec = tmp_path / "bad.toml"
    spec.write_text(spec_text)
    rc, out, err = run_cli(capsys, str(spec), "--backend", "model", "--arch", "x86_64", "-q")
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"bitlayout: error: {spec}") and message in lines[0]


@pytest.mark.parametrize("argv, message", [
    (["--arch", "vax"], "unknown arch selector 'vax'"),
    (["--backend", "qemu"], "unknown backend 'qemu'"),
    (["--check", "speed"], "unknown check 'speed'"),
    (["-j", "0"], "-j must be at least 1"),
    (["/nonexistent/spec.toml"], "spec file not found"),
])
def test_bad_usage_exits_2(capsys, argv, message):
    rc, out, err = run_cli(capsys, *argv, "-q")
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_no_arguments_runs_the_default_in_a_subprocess():
    """`bitlayout matrix` with no arguments (model only here, to stay fast): grid + progress."""
    proc = subprocess.run([sys.executable, "-m", "bitlayout", "matrix", "--backend", "model", "-j", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "vma_flags.toml" in proc.stdout.splitlines()[0]
    assert "arch" in proc.stdout and "findings:" in proc.stdout
    assert "bitlayout matrix: [" in proc.stderr


def test_headers_no_arch_can_parse_exit_2(capsys, tmp_path):
    (tmp_path / "h.h").write_text("struct s { int a; garbage here };\n")
    (tmp_path / "s.toml").write_text('headers = ["h.h"]\n[[expect]]\nthat = "sizeof(struct s) == 4"\n')
    rc, out, err = run_cli(capsys, str(tmp_path / "s.toml"), "--backend", "model", "--arch", "x86_64,i386", "-q")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "[headers]: cannot lay out the headers" in err
    assert "h.h:1:" in err


def test_header_failing_on_some_arches_is_an_error_row(capsys, tmp_path):
    (tmp_path / "h.h").write_text("#if __SIZEOF_LONG__ == 4\n#error no 32-bit\n#endif\nstruct s { int a; };\n")
    (tmp_path / "s.toml").write_text('headers = ["h.h"]\n[[expect]]\nthat = "sizeof(struct s) == 4"\n')
    rc, out, _ = run_cli(capsys, str(tmp_path / "s.toml"), "--backend", "model", "--arch", "x86_64,i386",
                         "--check", "expect", "--format", "json", "-q")
    assert rc == 1
    rows = {r["arch"]: r for r in json.loads(out)["results"]}
    assert rows["x86_64"]["status"] == "pass"
    assert rows["i386"]["status"] == "error" and "no layout for this arch" in rows["i386"]["detail"]
