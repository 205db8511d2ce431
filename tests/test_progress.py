"""Progress lines: a bar with arch names and an ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from bitlayout import progress


def test_not_a_terminal_gets_one_plain_line_per_arch_with_an_eta():
    out = io.StringIO()
    p = progress.ArchProgress("matrix", stream=out, tty=False)
    p(1, 4, "mips")
    p(4, 4, "sh4")
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("bitlayout matrix: [1/4] mips done (") and ", ETA " in lines[0]
    assert lines[1].startswith("bitlayout matrix: [4/4] sh4 done (") and "ETA" not in lines[1]


def test_the_terminal_bar_names_the_last_arches_and_the_time_left():
    assert progress.bar_line("report", 2, 8, ["arm", "mips"], 10.0) == \
        "report [######------------------] 2/8 arm, mips  10s, ETA 30s"
    assert progress.bar_line("report", 8, 8, ["a", "b", "c", "d"], 12.4).endswith("8/8 b, c, d  12s")


def test_a_terminal_run_redraws_one_line_and_clears_it_at_the_end():
    out = io.StringIO()
    p = progress.ArchProgress("matrix", stream=out, tty=True)
    p(1, 2, "arm")
    p.close()
    text = out.getvalue()
    assert "\n" not in text and text.startswith("\rmatrix [") and text.endswith("\r\x1b[K")


def test_quiet_silences_bar_and_notices_until_the_run_closes():
    out = io.StringIO()
    p = progress.ArchProgress("matrix", stream=out, tty=False, quiet=True)
    p(1, 1, "arm")
    progress.notice("building the exec driver for arm", stream=out)
    assert out.getvalue() == ""
    p.close()
    progress.notice("building the exec driver for arm", stream=out)
    assert out.getvalue() == "bitlayout: building the exec driver for arm\n"


def test_a_notice_is_one_line():
    out = io.StringIO()
    progress.notice("building the exec driver for armeb with zig (once, then cached)", stream=out)
    assert out.getvalue() == "bitlayout: building the exec driver for armeb with zig (once, then cached)\n"
