"""bitlayout.publish: a file appears whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from bitlayout.publish import publish, publish_dir, publish_text


def test_a_published_file_appears_whole_and_leaves_no_temporary(tmp_path):
    seen = []

    def write(tmp):
        tmp.write_text("half")
        seen.append((tmp.parent, (tmp_path / "out.txt").exists()))  # written beside it, not yet visible
        tmp.write_text("whole")

    publish(tmp_path / "out.txt", write)
    assert seen == [(tmp_path, False)]
    assert (tmp_path / "out.txt").read_text() == "whole"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_or_empty_build_publishes_nothing(tmp_path):
    (tmp_path / "keep").write_text("old")

    def broken(tmp):
        tmp.write_text("partial")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError):
        publish(tmp_path / "keep", broken)
    with pytest.raises(OSError, match="nothing was written"):
        publish(tmp_path / "new", lambda tmp: None)
    assert sorted(os.listdir(tmp_path)) == ["keep"] and (tmp_path / "keep").read_text() == "old"


def test_mode_and_text(tmp_path):
    publish(tmp_path / "bin", lambda tmp: tmp.write_bytes(b"\x7fELF"), mode=0o755)
    assert stat.S_IMODE((tmp_path / "bin").stat().st_mode) == 0o755
    assert publish_text(tmp_path / "empty.json", "").read_text() == ""  # an empty output is fine


def test_a_directory_is_published_once_first_writer_wins(tmp_path):
    publish_dir(tmp_path / "d", lambda tmp: (tmp / "a").write_text("first"))
    publish_dir(tmp_path / "d", lambda tmp: (tmp / "a").write_text("second"))
    assert (tmp_path / "d" / "a").read_text() == "first"
    assert os.listdir(tmp_path) == ["d"]
