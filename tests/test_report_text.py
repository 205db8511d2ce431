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
from bitlayout.report import model  # noqa: E402
from test_report_fixtures import fixture_profiles  # noqa: E402

NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=70).filter(
    lambda s: not s[0].isdigit())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.dictionaries(NAMES, st.integers(0, 200), min_size=1, max_size=12),
       type_name=NAMES, nwords=st.integers(1, 3))
@example(flags={"F" * 70: 199, "G" * 70: 0}, type_name="T" * 70, nwords=1)  # the longest names, far past the end
def test_text_stays_within_80_columns_for_any_names(flags, type_name, nwords):
    ps = fixture_profiles()
    facts = model.BitmapFacts(type_name, [
        model.BitmapArchFacts(p.name, BitmapGeometry(word_bytes=p.word_bytes, nwords=nwords,
                                                     little_endian=p.little_endian, atomic_bytes=p.word_bytes),
                              flags) for p in ps], read_together=[list(flags)[:3]])
    text = render_text(model.build_report(profiles=ps, bitmaps=[facts], title=type_name * 3))
    assert [line for line in text.splitlines() if len(line) > 80] == []
    assert text.isascii()
