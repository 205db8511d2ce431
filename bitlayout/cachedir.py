"""The one user cache directory every cache of bitlayout lives under, and the rules for using it.

``$BITLAYOUT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bitlayout``, else
``~/.cache/bitlayout``.  Each cache asks for its own subdirectory with
:func:`cache_subdir` (``ffi-<hash>``, ``exec``, ``probes``, ``cpp``).
``publish_json`` / ``read_json``: the one way a JSON cache entry is written (atomically) and
read back (None when missing or damaged: the caller rebuilds it).

The caches hold things bitlayout later executes (cross-built drivers, the host shim's
extension module), so a cache directory must be this user's alone: one that another user
can write (owned by someone else, or group/world-writable) could make bitlayout run their
code.  Such a directory, or one bitlayout cannot write (a read-only home, a full disk), is
not used: the run falls back to a private temporary directory (mode 0700, removed at exit)
and says so once on stderr.  Every entry is also keyed by its inputs and verified against
that key when read (``backends/buildcache.py``, ``profile_truth.py``, ``_ffi_build.py``):
a truncated, corrupted or foreign entry is rebuilt, never used.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import threading
from pathlib import Path

_LOCK = threading.Lock()
_fallback: Path | None = None
_warned: set[str] = set()


def user_cache_dir() -> Path:
    override = os.environ.get("BITLAYOUT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "bitlayout"


def publish_json(path: Path, data) -> bool:
    """Write ``data`` as JSON to ``path`` atomically (``publish.publish_text``: readers see the old
    file or the new one, never a part).  False when the directory cannot be written (a read-only
    cache only costs speed)."""
    import json

    from .publish import publish_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        publish_text(path, json.dumps(data, separators=(",", ":")))  # the C encoder
        return True
    except OSError:
        return False


def read_json(path: Path):
    """The JSON in ``path``, or None when it is missing or unreadable (the caller rebuilds)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cache_subdir(name: str = "") -> Path:
    """``user_cache_dir() / name``, created private (0700) if missing, when it is safe and
    writable; else the same name under this process's private temporary cache (one warning).
    ``name`` "": the cache root itself (for caches that publish whole directories in it)."""
    root = user_cache_dir()
    why = _unusable(root) or (_unusable(root / name) if name else "")
    if not why:
        return root / name
    private = _private_fallback()
    (private / name).mkdir(mode=0o700, exist_ok=True)
    # One message whichever subdirectory asked (warn_once keys on the text).
    warn_once(f"cache directory {root} {why}; using a private temporary one for this run "
              f"({private}, removed at exit)")
    return private / name


def _unusable(path: Path) -> str:
    """'' when ``path`` is (now) a directory of this user that only this user can write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"belongs to another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by other users (mode {stat.S_IMODE(st.st_mode):o})"
    if not os.access(path, os.W_OK | os.X_OK):
        return "is not writable"
    return ""


def _private_fallback() -> Path:
    global _fallback
    with _LOCK:
        if _fallback is None or not _fallback.is_dir():
            _fallback = Path(tempfile.mkdtemp(prefix="bitlayout-cache-"))
            atexit.register(shutil.rmtree, _fallback, ignore_errors=True)
        return _fallback


def warn_once(message: str) -> None:
    """One line on stderr, once per process and message (the caches' only output)."""
    with _LOCK:
        if message in _warned:
            return
        _warned.add(message)
    print(f"bitlayout: warning: {message}", file=sys.stderr)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (what a cache entry is verified by)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_PRUNED: set[tuple[Path, str]] = set()


def mark_used(path: Path) -> None:
    """Make an entry that was just read the newest (``prune_once`` keeps the newest): what a
    workflow reads again survives the entries it writes once.  A read-only cache only loses that."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune_once(directory: Path, prefix: str, keep: int) -> None:
    """Keep the ``keep`` newest (written or ``mark_used``) ``<prefix>*.json`` entries of
    ``directory``, once per process: listing and stat-ing every entry costs a few milliseconds,
    and a process adds at most its own run's entries on top."""
    if (directory, prefix) in _PRUNED:
        return
    _PRUNED.add((directory, prefix))
    try:
        entries = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(directory)
                   if e.name.startswith(prefix) and e.name.endswith(".json")]
    except OSError:
        return
    for _mtime, path in sorted(entries)[:max(0, len(entries) - keep)]:
        try:
            os.unlink(path)
        except OSError:
            pass
