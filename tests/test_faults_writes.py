"""A failed ``-o FILE`` write (full disk, read-only directory, an I/O error mid-write) leaves the
old file untouched, no temporary behind, and is one line with exit 2 (commands.write_output
through bitlayout/publish.py), for every verb that has ``-o``: matrix, report, diff.

The full disk is a 64 KiB tmpfs and the read-only directory a read-only bind mount (both need
root: skipped otherwise); the I/O error is injected in process and runs everywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli

HEADER = REPO / "docs" / "examples" / "vma_flags.h"
FAST = ["--backend", "model", "--arch", "i386,x86_64", "-j", "1", "-q"]
VERBS = {
    "matrix": ["matrix", *FAST, "--format", "json"],
    "report": ["report", *FAST, "--format", "html"],
    "diff": ["diff", "--arch", "i386,x86_64", f"{HEADER}:vm_flags_t", f"{HEADER}:vma_flags_t"],
}
OLD = b"the previous report, which must survive\n"


def _mount(*argv: str) -> bool:
    return subprocess.run(["mount", *argv], capture_output=True).returncode == 0


@pytest.fixture
def full_disk(tmp_path):
    """A directory on a 64 KiB file system with a few hundred bytes left."""
    where = tmp_path / "full"
    where.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)):
        pytest.skip("a tiny tmpfs needs root (mount)")
    try:
        (where / "old.out").write_bytes(OLD)
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 1024):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def read_only_dir(tmp_path):
    where = tmp_path / "ro"
    where.mkdir()
    (where / "old.out").write_bytes(OLD)
    if os.geteuid() != 0:
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
        return
    if not (_mount("--bind", str(where), str(where)) and _mount("-o", "remount,ro,bind", str(where))):
        pytest.skip("a read-only bind mount needs mount")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def failing_write(tmp_path, monkeypatch):
    """Every text write of -o fails after half of it went to disk (EIO)."""
    where = tmp_path / "eio"
    where.mkdir()
    (where / "old.out").write_bytes(OLD)
    real = Path.write_text

    def half_then_eio(self, data, *args, **kwargs):
        if self.parent == where:
            real(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", half_then_eio)
    return where


WHY = {"full_disk": "No space left on device", "read_only_dir": "Read-only file system",
       "failing_write": "Input/output error"}


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("fault", sorted(WHY))
def test_a_failed_write_keeps_the_old_file_and_is_one_line_exit_2(capsys, request, verb, fault):
    where = request.getfixturevalue(fault)
    target = where / "old.out"
    code, out, err = run_cli(capsys, *VERBS[verb], "-o", str(target))
    lines = err.splitlines()
    assert (code, out, len(lines)) == (2, "", 1), err
    why = WHY[fault] if os.geteuid() == 0 or fault != "read_only_dir" else "Permission denied"
    assert lines[0].startswith(f"bitlayout: error: {target}: cannot write") and lines[0].endswith(why), err
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in where.iterdir() if p.name != "filler") == ["old.out"]  # no temporary left


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_the_same_write_succeeds_where_there_is_room(capsys, tmp_path, verb):
    """The control: the outputs above are real outputs that replace the old file when they can."""
    target = tmp_path / "old.out"
    target.write_bytes(OLD)
    code, out, err = run_cli(capsys, *VERBS[verb], "-o", str(target))
    assert code in (0, 1) and out in ("", f"{target}\n") and "error" not in err, err  # report names it
    assert len(target.read_bytes()) > 1024 and target.read_bytes() != OLD
    assert os.listdir(tmp_path) == ["old.out"]
