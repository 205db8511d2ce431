"""Publish a file or directory atomically: make it under a temporary name next to it, then rename.

Every cache of bitlayout (``backends/buildcache.py``, ``profile_truth.py``,
``_ffi_build.py``), every compiler output (``toolchains.compile_c``) and every
``-o FILE`` of the CLI goes through :func:`publish`, so a reader — another
process, a second test worker, a user opening the report — sees either no
file or a complete one, never a half-written one.  The temporary sits in the
destination's own directory because ``os.replace`` is atomic only within one
file system (POSIX ``rename(2)``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable


def _temp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def publish(final: str | Path, make: Callable[[Path], None], *, mode: int | None = None,
            nonempty: bool = True) -> Path:
    """Write ``final`` through ``make(tmp)``, then rename ``tmp`` over it (the last writer wins:
    racing builders of one cache key write equal bytes).

    ``tmp`` exists, empty, created with the process umask like any new file (a compiler may
    also write it afresh); ``mode`` sets its permissions before the rename.  If ``make``
    raises, or leaves the file empty while ``nonempty`` (a build that wrote nothing: an
    OSError), nothing is published and the temporary is removed.
    """
    final = Path(final)
    tmp = _temp_name(final)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        make(tmp)
        if nonempty and tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {tmp}")
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def publish_text(final: str | Path, text: str) -> Path:
    """``publish`` of a text file (UTF-8)."""
    return publish(final, lambda tmp: tmp.write_text(text, encoding="utf-8"), nonempty=False)


def publish_dir(final: str | Path, make: Callable[[Path], None]) -> Path:
    """Fill a directory through ``make(tmp_dir)`` and rename it to ``final`` unless one is there
    already: a directory cannot be replaced atomically, so the first writer wins and the
    others' copies are dropped.  Returns ``final`` either way."""
    final = Path(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        make(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
