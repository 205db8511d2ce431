"""report.text: plain ASCII within 80 columns, for an email to linux-mm."""

from __future__ import annotations

from test_report_model import fixture_report

from bitlayout.report.text import render_text


def test_every_line_fits_80_columns_and_is_ascii():
    text = render_text(fixture_report())
    lines = text.splitlines()
    assert len(lines) > 50
    assert [line for line in lines if len(line) > 80] == []
    assert text.isascii()
    assert "\t" not in text


def test_text_shows_findings_maps_and_positions():
    text = render_text(fixture_report())
    assert "[FAIL] vma_flags_t: 3 flag bit(s) out of bounds on BE32" in text
    # The flag table: bit 36 of the two-long bitmap on BE32 is byte 7 bit 4; on LE32 byte 4 bit 4.
    block = text[text.index("BIT MAP: VM_FLAGS_T"):text.index("BIT MAP: VM_FLAGS_U64_T")]
    row = next(line for line in block.splitlines() if line.strip().startswith("VMA_HIGH_ARCH_4_BIT"))
    assert row.split()[1:] == ["36", "4.4", "7.4", "4.4", "3.4"]
    # The one-long bitmap marks bit 36 out of bounds on 32-bit ("!") and fine on 64-bit.
    block = text[text.index("BIT MAP: VMA_FLAGS_T"):text.index("BIT MAP: VM_FLAGS_T")]
    row = next(line for line in block.splitlines() if line.strip().startswith("VMA_HIGH_ARCH_4_BIT"))
    assert row.split()[1:] == ["36", "4.4!", "7.4!", "4.4", "3.4"]
    # The ASCII map of BE32: READ..EXEC are the three low bits of byte 3, then the end of the type.
    be32 = block[block.index("  BE32: mips"):]
    map_row = next(line for line in be32.splitlines() if line.startswith("  +0"))
    assert map_row.split("|")[1].split()[3].startswith(".....###]")
    assert "!" in map_row.split("]")[1]  # out-of-bounds bits drawn past the end


def test_overview_marks_unverified_arches():
    text = render_text(fixture_report())
    assert "  s390x*" in text and "  x32*" in text and "  mips " in text


# Any flag names, type names and flag numbers still give 80-column ASCII text.
from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

from bitlayout.bitmap import BitmapGeometry  # noqa: E402
from bitlayout.report import facts, model  # noqa: E402
from test_report_fixtures import fixture_profiles  # noqa: E402

NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=70).filter(
    lambda s: not s[0].isdigit())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.dictionaries(NAMES, st.integers(0, 200), min_size=1, max_size=12),
       type_name=NAMES, nwords=st.integers(1, 3))
@example(flags={"F" * 70: 199, "G" * 70: 0}, type_name="T" * 70, nwords=1)  # the longest names, far past the end
def test_text_stays_within_80_columns_for_any_names(flags, type_name, nwords):
    ps = fixture_profiles()
    given = facts.BitmapFacts(type_name, [
        facts.BitmapArchFacts(p.name, BitmapGeometry(word_bytes=p.word_bytes, nwords=nwords,
                                                     little_endian=p.little_endian, atomic_bytes=p.word_bytes),
                              flags) for p in ps], read_together=[list(flags)[:3]])
    text = render_text(model.build_report(profiles=ps, bitmaps=[given], title=type_name * 3))
    assert [line for line in text.splitlines() if len(line) > 80] == []
    assert text.isascii()


def test_findings_continuation_lines_line_up_under_the_text():
    from bitlayout.results import MatrixRow

    rows = [MatrixRow("mips", "bitops", "host", "pass", ""),
            MatrixRow("mips", "bitops", "exec", "error", "model and exec disagree " * 8)]
    text = render_text(model.build_report(profiles=fixture_profiles(), rows=rows))
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("  [ERROR] "))
    assert lines[i + 1].startswith(" " * len("  [ERROR] ")) and lines[i + 1][len("  [ERROR] ")] != " "
    # One character per grid cell: the line under the grid says who produced the E.
    assert "  E by exec: mips/1" in lines


def test_a_split_class_is_named_as_on_the_html_page():
    """x32 (8-byte atomics) splits from LE32 for the u64: the text names the map "LE32: x32",
    as the page and the findings do, not a text-only "LE32b"."""
    r = fixture_report()
    text = render_text(r)
    entry = next(b for b in r["bitmaps"] if b["type"] == "vm_flags_u64_t")
    labels = [g["label"] for g in entry["groups"]]
    assert "LE32: x32" in labels
    block = text[text.index("BIT MAP: VM_FLAGS_U64_T"):]
    heads = [line.strip() for line in block.splitlines() if line.startswith("  ") and not line.startswith("   ")
             and line.strip().split(":")[0] in ("LE32", "BE32", "LE64", "BE64")]
    assert "LE32: x32 (table column LE32b)" in heads, heads
    assert not any(h.startswith("LE32b") for h in heads)
