"""report.html + report.svg: one self-contained page, checked as markup and in a real browser.

The browser test renders the page in headless Chromium, takes a screenshot,
dumps the DOM Chromium built and checks the SVG's data attributes there (bit
36 of a 64-bit bitmap on mips is in byte 7), with console logging on to catch
errors (Chromium logs invalid SVG attribute values to the console).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_report_model import fixture_report

from bitlayout.report import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="chromium not found (install: apt-get install chromium)")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def chromium(url: str, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *mode, url],
                          capture_output=True, text=True, timeout=120)


def console_errors(stderr: str) -> list[str]:
    """Console messages from the page (not Chromium's own dbus/gpu noise)."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or re.search(r"Error: <\w+> attribute", line)]


def svg_blocks(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def test_page_is_self_contained():
    html = render(fixture_report(), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "<img" not in html and "<iframe" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= {f"#{m}" for m in re.findall(r'id="([^"]+)"', html)}


def test_every_svg_is_well_formed_xml_with_unique_ids():
    html = render(fixture_report(), "html")
    blocks = svg_blocks(html)
    assert len(blocks) == 13  # 3 bitmap types x 4 layout classes + x32's own u64 map
    for block in blocks:
        ET.fromstring(block)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_svg_places_bit_36_of_a_64_bit_bitmap_in_byte_7_on_mips():
    html = render(fixture_report(), "html")
    maps = [b for b in svg_blocks(html) if 'data-type="vm_flags_t"' in b and 'data-arch-class="BE32"' in b[:400]]
    assert len(maps) == 1
    root = ET.fromstring(maps[0])
    cells = {g.get("data-flag"): g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-flag")}
    g = cells["VMA_HIGH_ARCH_4_BIT"]
    assert (g.get("data-nr"), g.get("data-word"), g.get("data-byte"), g.get("data-bit")) == ("36", "1", "7", "4")
    assert "VMA_HIGH_ARCH_4_BIT = bit 36: word 1 bit 4, byte 7 bit 4" in g.find("{http://www.w3.org/2000/svg}title").text
    # Out-of-bounds flags of the one-long bitmap are drawn past the end, in the guard area.
    one_long = [b for b in svg_blocks(html) if 'data-type="vma_flags_t"' in b and 'data-arch-class="BE32"' in b[:400]]
    root = ET.fromstring(one_long[0])
    oob = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-in-bounds") == "false"]
    assert sorted(int(g.get("data-byte")) for g in oob) == [6, 6, 6, 7]  # 41..43 are bits 9..11 of word 1: byte 6 on BE32; 36 is byte 7
    guard = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "guard"]
    assert sorted(int(r.get("data-byte")) for r in guard) == [4, 5, 6, 7]


def test_unverified_arches_are_marked():
    html = render(fixture_report(), "html")
    assert html.count('<tr class="unverified">') == 2  # s390x and x32 in the overview grid
    assert 'data-arch="i386" data-check="tear" data-status="fail"' in html


@needs_chromium
def test_page_renders_in_headless_chromium(tmp_path):
    html = render(fixture_report(), "html")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    url = page.as_uri()
    shot = tmp_path / "report.png"
    res = chromium(url, tmp_path, f"--screenshot={shot}", "--window-size=1400,3000")
    assert shot.exists() and shot.stat().st_size > 20_000, res.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert console_errors(res.stderr) == []
    dom = chromium(url, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_errors(dom.stderr) == []
    # The DOM Chromium built (not our string): the known cell is there with its attributes.
    cell = re.search(r'<g [^>]*data-flag="VMA_HIGH_ARCH_4_BIT"[^>]*data-arch-class="BE32"[^>]*>', dom.stdout)
    cells = re.findall(r'<g [^>]*data-flag="VMA_HIGH_ARCH_4_BIT"[^>]*>', dom.stdout)
    be32_64 = [c for c in cells if 'data-arch-class="BE32"' in c and 'data-word="1"' in c]
    assert cell is not None and be32_64
    assert all('data-byte="7"' in c and 'data-bit="4"' in c for c in be32_64)
    if os.environ.get("BITLAYOUT_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["BITLAYOUT_SCREENSHOT_DIR"]) / "report-fixture.png")


@needs_chromium
def test_console_error_detection_catches_a_broken_svg(tmp_path):
    # Guards the check above: an invalid SVG attribute must show up as a console error.
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><svg xmlns="http://www.w3.org/2000/svg"><rect width="-5" height="3"/></svg>')
    res = chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert any("negative value" in line for line in console_errors(res.stderr))


def test_grid_letters_name_the_backend_that_gave_the_cell_its_status():
    from bitlayout.report import model
    from bitlayout.results import MatrixRow
    from test_report_fixtures import fixture_profiles

    rows = [MatrixRow("mips", "bitops", "host", "pass", ""),
            MatrixRow("mips", "bitops", "exec", "error", "model and exec disagree")]
    html = render(model.build_report(profiles=fixture_profiles(), rows=rows), "html")
    cell = re.search(r'<td class="cell error"[^>]*data-arch="mips"[^>]*>(.*?)</td>', html).group(1)
    assert cell == "!<sub>e</sub>"


def test_tag_bits_caption_says_emulated_for_slab():
    from bitlayout.report import facts, model
    from bitlayout.results import MatrixRow
    from test_report_fixtures import fixture_profiles

    ps = fixture_profiles()
    given = facts.TaggedFacts("struct a.p", "struct b", 2, "slab", [facts.TaggedArchFacts(p.name, 8, 24) for p in ps])
    rows = [MatrixRow(p.name, "tag-bits", "exec", "pass", "") for p in ps]
    html = render(model.build_report(profiles=ps, rows=rows, tagged=[given]), "html")
    assert "Emulated by <span" in html and "Observed by <span" not in html


def test_bitmap_legend_names_the_word_by_the_type_kind():
    """A u32 flags word is not "one unsigned long word"."""
    from bitlayout.bitmap import BitmapGeometry
    from bitlayout.report import facts, model
    from test_report_fixtures import fixture_profiles

    ps = fixture_profiles()
    given = facts.BitmapFacts("foo_flags_t", [
        facts.BitmapArchFacts(p.name, BitmapGeometry(4, 1, p.little_endian, 4), {"A": 0, "B": 40},
                              shape="scalar", word_c_type="u32") for p in ps])
    html = render(model.build_report(profiles=ps, bitmaps=[given]), "html")
    legend = re.search(r'<span class="sw word"></span>(.*?)</span>', html).group(1)
    assert legend == "the whole u32 value (one word)"
    assert "one <code>unsigned long</code> word" in render(fixture_report(), "html")
