"""Content-addressed cache of cross-built shim binaries (used by ``backends.exec``).

A binary is keyed on everything that can change its bytes: the digest of every
C source and header that goes into it, the compiler's identity and version,
the target, and the full flag list.  Change any of them and the key changes;
nothing is ever invalidated by time.

Where: ``cachedir.cache_subdir("exec")``: ``$BITLAYOUT_CACHE_DIR/exec/`` if that variable is
set, else ``$XDG_CACHE_HOME/bitlayout/exec/`` (default ``~/.cache/bitlayout/exec/``); a
directory another user could write, or one that is read-only, is replaced by a private
temporary one (``bitlayout.cachedir``).

Verified on every read: next to each binary ``<arch>-<key>`` sits ``<arch>-<key>.json``
naming the key it was built for, the sha256 and size of its bytes, and its stamp (device, inode,
size, mtime and inode change time) when the digest was taken: a binary whose stamp is unchanged
is not hashed again, any other is.  A binary without
that record, with another key's record, or whose bytes no longer match (a truncated copy,
a full disk, a foreign file in the slot) is rebuilt, not run: bitlayout executes these
files.

Bounded: each arch keeps its ``KEEP_PER_ARCH`` most recently used builds (a hit touches the
record's mtime); after a build, older ones of that arch go (``prune``).  Without this every
change of the shim's sources, a compiler update or a new flag left a binary behind for good (426
entries, 261 MB, in one developer's cache).

Concurrency: several processes (pytest -n 2, two CLI runs) may build the same
key at once.  Each writes its own temporary file in the cache directory and
publishes it with ``bitlayout.publish`` (a rename, atomic within one file
system), so a reader sees either no entry or a complete binary, never a
half-written one.  Two racing builders both succeed; a reader that sees one's binary with
the other's record rebuilds once more.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..cachedir import cache_subdir, file_digest
from ..publish import publish, publish_text

# Bump when the meaning of a cached entry changes (layout of the key, driver ABI).
CACHE_FORMAT = 2  # 2: every entry has its record (key, sha256, size)
# Builds kept per arch: exec and exec-alternate, the freestanding and workaround variants, and a
# few source or compiler versions back (switching branches does not rebuild everything).
KEEP_PER_ARCH = 8
_KEY_LENGTH = 32  # build_key's hex digits


def _stamp(path: Path) -> list[int] | None:
    """(device, inode, size, mtime, inode change time) of a file: ctime moves with every write and
    every metadata change and cannot be set back."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def cache_root() -> Path:
    """The exec build cache directory (private to this user; see bitlayout.cachedir)."""
    return cache_subdir("exec")


def source_digest(paths: Iterable[str | Path]) -> str:
    """sha256 over (file name, content) of every source, in name order.

    Names matter (a renamed header changes ``#include`` resolution); directories
    do not (the same tree checked out elsewhere reuses the cache).
    """
    h = hashlib.sha256()
    for path in sorted((Path(p) for p in paths), key=lambda p: p.name):
        data = path.read_bytes()
        h.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def build_key(*, sources_sha256: str, compiler_identity: str, target: str, flags: Iterable[str]) -> str:
    """The cache key: a short hex digest of all inputs that determine the binary."""
    blob = json.dumps(
        {"format": CACHE_FORMAT, "sources": sources_sha256, "compiler": compiler_identity,
         "target": target, "flags": list(flags)},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CachedBuild:
    path: Path
    hit: bool  # True: found in the cache (and verified), nothing compiled
    compile_seconds: float  # 0.0 on a hit
    rebuilt: str = ""  # why an entry that was there was not used ("" when there was none, or on a hit)


class BuildCache:
    """Get a binary by key, building it with ``build(tmp_output_path)`` on a miss."""

    def __init__(self, root: str | Path | None = None):
        self._root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = cache_root()
        return self._root

    def path_for(self, key: str, stem: str) -> Path:
        # The stem (arch name) makes the directory readable; the key makes it correct.
        return self.root / f"{stem}-{key}"

    def lookup(self, key: str, stem: str) -> Path | None:
        path = self.path_for(key, stem)
        return path if not self.problem(path, key) else None

    def problem(self, path: Path, key: str) -> str:
        """Why the entry at ``path`` cannot be used for ``key`` ('' if it can)."""
        record_path = path.with_name(path.name + ".json")
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            size = path.stat().st_size
        except FileNotFoundError:
            return "missing" if not path.exists() else "no record of what it was built from"
        except (OSError, ValueError) as exc:
            return f"unreadable record ({exc})"
        if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT or record.get("key") != key:
            return f"its record is for another key ({str(record.get('key') if isinstance(record, dict) else '')[:32]})"
        if record.get("size") != size:
            return f"{size} bytes where {record.get('size')} were built (truncated or replaced)"
        if record.get("stamp") is not None and record.get("stamp") == _stamp(path):
            # Untouched since its digest was taken: any write, copy or replacement since would
            # have changed its inode change time (which no one can set) or its inode.
            return ""
        if record.get("sha256") != file_digest(path):
            return "its bytes differ from the ones built (corrupted or replaced)"
        return ""

    def get_or_build(self, key: str, stem: str, build: Callable[[Path], None]) -> CachedBuild:
        """Return the cached binary if its record matches ``key`` and its bytes, else run
        ``build`` into a temp file and publish it (and its record) atomically.

        ``build`` receives the path it must write; any exception it raises
        propagates and nothing is published (the temp file is removed); a build that
        writes nothing is an OSError.
        """
        final = self.path_for(key, stem)
        problem = self.problem(final, key)
        if not problem:
            _touch(final.with_name(final.name + ".json"))  # recently used: kept by prune
            return CachedBuild(final, True, 0.0)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        start = time.perf_counter()
        publish(final, build, mode=0o755)
        seconds = time.perf_counter() - start
        stamp = _stamp(final)
        record = {"format": CACHE_FORMAT, "key": key, "size": final.stat().st_size, "sha256": file_digest(final)}
        # The stamp only if nothing touched the file while it was hashed: then a later read that
        # finds the same stamp need not hash it again (about 40 ms per static binary here).
        if stamp == _stamp(final):
            record["stamp"] = stamp
        publish_text(final.with_name(final.name + ".json"), json.dumps(record))
        self.prune(stem, keep=final.name)
        return CachedBuild(final, False, seconds, "" if problem == "missing" else problem)

    def prune(self, stem: str, keep: str = "", limit: int = KEEP_PER_ARCH) -> list[str]:
        """Remove all but the ``limit`` most recently used builds of ``stem`` (record mtime; the
        entry named ``keep`` always stays); returns the names removed.  A binary a running
        process still executes is only unlinked: the process keeps its copy."""
        pattern = re.compile(re.escape(stem) + "-[0-9a-f]{%d}\\.json" % _KEY_LENGTH)
        try:
            records = [(e.stat().st_mtime_ns, e.name) for e in os.scandir(self.root) if pattern.fullmatch(e.name)]
        except OSError:
            return []
        records.sort(reverse=True)
        removed = []
        for _mtime, name in records[limit:]:
            binary = name[:-len(".json")]
            if binary == keep:
                continue
            for path in (self.root / binary, self.root / name):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    break
            removed.append(binary)
        return removed


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache only loses its use order
