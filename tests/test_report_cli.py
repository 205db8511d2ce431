"""``bitlayout report`` end to end on the embedded default (the kernel VMA-flags case).

Runs with ``--backend model`` (no cross toolchain needed, a few seconds) except
where a test says otherwise; the page is then opened in headless Chromium and
the bit-36-on-mips cell is checked in the DOM Chromium built.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from test_report_html import chromium, console_errors, needs_chromium

from bitlayout.cli import main
from bitlayout.profiles import profile_by_name
from bitlayout.toolchains import find_compiler
from conftest import run_cli


@pytest.fixture(scope="module")
def default_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.json"
    code = main(["report", "--backend", "model", "--format", "json", "-q", "-o", str(out)])
    return code, json.loads(out.read_text())


def test_default_report_json(default_json):
    code, data = default_json
    assert data["schema"] == "bitlayout.report/1"
    # The default has real hazards (bits 32..43 past a one-long bitmap on 32-bit): exit 1.
    assert code == 1
    assert len(data["arches"]) == 26
    types = [b["type"] for b in data["bitmaps"]]
    assert types == ["vma_flags_t", "vm_flags_t", "vm_flags_u64_t"]
    seed = next(b for b in data["bitmaps"] if b["type"] == "vm_flags_t")
    be32 = next(g for g in seed["groups"] if g["label"] == "BE32")
    assert "mips" in be32["arches"]
    f36 = next(f for f in be32["flags"] if f["nr"] == 36)
    assert (f36["word"], f36["byte"], f36["bit_in_byte"]) == (1, 7, 4)
    kernel = next(b for b in data["bitmaps"] if b["type"] == "vma_flags_t")
    for g in kernel["groups"]:
        nrs = sorted({f["nr"] for f in g["flags"] if f["name"] in g["out_of_bounds"]})
        if g["class"].endswith("32"):
            assert nrs and min(nrs) == 32 and max(nrs) == 43, g["label"]
        else:
            assert nrs == [], g["label"]
    # Model-only run: nothing observed in this run.  An arch counts as verified only
    # when a compiler for it exists here (DESIGN: no toolchain -> unverified).
    for a in data["arches"]:
        assert a["verified_by"] == ""
        assert a["verified"] == (find_compiler(profile_by_name(a["name"])) is not None), a["name"]
    assert {s["type"] for s in data["structs"]} >= {"struct vm_area_struct", "struct anon_vma"}
    tp = data["tagged_pointers"][0]
    assert tp["field"] == "struct vm_area_struct.anon_vma" and len(tp["per_arch"]) == 26


def test_default_report_text_fits_80_columns(capsys):
    code, out, err = run_cli(capsys, "report", "--backend", "model", "--format", "text", "-q",
                             "--arch", "mips,i386,x86_64,m68k")
    assert code == 1, err
    assert [line for line in out.splitlines() if len(line) > 80] == []
    assert out.isascii()
    assert "BIT MAP: VMA_FLAGS_T" in out and "TAG BITS: STRUCT VM_AREA_STRUCT.ANON_VMA" in out


def test_html_is_written_to_the_default_file_and_the_path_printed(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "report", "--backend", "model", "--arch", "mips", "-q")
    assert code == 1, err
    assert out.strip() == "bitlayout-report.html"
    assert (tmp_path / "bitlayout-report.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("argv,needle", [
    (["report", "/nonexistent/spec.toml"], "spec file not found"),
    (["report", "--arch", "vax"], "'vax'"),
    (["report", "--backend", "bogus"], "'bogus'"),
    (["report", "-o", "/nonexistent/dir/report.html"], "no such directory"),
    (["report", "--format", "pdf"], "invalid choice: 'pdf'"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv, "-q")
    assert code == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


@needs_chromium
def test_default_page_in_chromium_shows_bit_36_on_mips_in_byte_7(tmp_path):
    page = tmp_path / "bitlayout-report.html"
    code = main(["report", "--backend", "model", "-q", "-o", str(page)])
    assert code == 1 and page.exists()
    html = page.read_text()
    assert "<script" not in html and "<link" not in html
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    shot = tmp_path / "bitlayout-report.png"
    res = chromium(page.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1400,3000")
    assert shot.exists() and shot.stat().st_size > 50_000, res.stderr[-2000:]
    assert console_errors(res.stderr) == []
    dom = chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert console_errors(dom.stderr) == []
    # The seed's two-long vm_flags_t on BE32 (mips and friends): bit 36 = word 1, byte 7, bit 4.
    svg = re.search(r'<svg class="bitmap-map"[^>]*data-type="vm_flags_t"[^>]*data-arch-class="BE32"'
                    r'[^>]*data-arches="[^"]*\bmips\b[^"]*".*?</svg>', dom.stdout, flags=re.S)
    assert svg is not None
    cell = re.search(r'<g [^>]*data-nr="36"[^>]*>', svg.group(0))
    assert cell is not None
    for attr in ('data-word="1"', 'data-byte="7"', 'data-bit="4"', 'data-arch-class="BE32"'):
        assert attr in cell.group(0)
    mips_listed = re.search(r'id="bitmap-vm-flags-t-be32".*?</div>', dom.stdout, flags=re.S)
    assert mips_listed is not None and "mips" in mips_listed.group(0)
    if os.environ.get("BITLAYOUT_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["BITLAYOUT_SCREENSHOT_DIR"]) / "bitlayout-report.png")


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("BITLAYOUT_CROSS"),
                    reason="builds and runs the shim for every arch: BITLAYOUT_CROSS=1 pytest -m slow")
def test_bare_bitlayout_writes_the_default_report_with_real_evidence(tmp_path, monkeypatch, capsys):
    # `bitlayout` with no verb = `bitlayout report` on the embedded default, every backend
    # available here (first run builds the shim per arch: ~1.5 min; cached: ~40 s).
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys)
    assert code == 1  # the default's 32-bit out-of-bounds flags are real hazards
    assert out.strip() == "bitlayout-report.html"
    html = (tmp_path / "bitlayout-report.html").read_text()
    # Some arch was observed by its own CPU: an exec row with its emulator in the evidence.
    assert "emulator=/usr/bin/qemu-" in html or "runner=" in html


def test_an_arch_without_layout_is_reported_not_dropped(tmp_path, capsys):
    # The header does not parse on mips: the report still renders, says why, and draws the rest.
    (tmp_path / "g.h").write_text("#if defined(__mips__)\nthis is not C;\n#endif\n"
                                  "typedef unsigned long flags_t;\nstruct s { flags_t f; char c; };\n")
    (tmp_path / "g.toml").write_text('headers = ["g.h"]\narches = ["mips", "i386", "x86_64"]\n'
                                     '[[bitmap]]\ntype = "flags_t"\nbits = { table = { A = 0, B = 40 } }\n')
    code, out, err = run_cli(capsys, "report", str(tmp_path / "g.toml"), "--backend", "model", "-q",
                             "--format", "json")
    assert code == 1, err
    data = json.loads(out)
    entry = data["bitmaps"][0]
    assert [g["arches"] for g in entry["groups"]] == [["i386"], ["x86_64"]]
    assert entry["missing"][0]["arch"] == "mips" and "g.h:2" in entry["missing"][0]["reason"]
    assert data["grid"]["cells"]["mips"]["layout"]["status"] == "error"
    i386 = entry["groups"][0]
    assert i386["out_of_bounds"] == ["B"] and i386["words_past_end"] == 1
