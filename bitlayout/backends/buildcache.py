"""Content-addressed cache of cross-built shim binaries (used by ``backends.exec``).

A binary is keyed on everything that can change its bytes: the digest of every
C source and header that goes into it, the compiler's identity and version,
the target, and the full flag list.  Change any of them and the key changes;
nothing is ever invalidated by time.

Where: ``$BITLAYOUT_CACHE_DIR/exec/`` if that variable is set, else
``$XDG_CACHE_HOME/bitlayout/exec/`` (default ``~/.cache/bitlayout/exec/``).

Concurrency: several processes (pytest -n 2, two CLI runs) may build the same
key at once.  Each writes its own temporary file in the cache directory and
publishes it with ``bitlayout.publish`` (a rename, atomic within one file
system), so a reader sees either no entry or a complete binary, never a
half-written one.  Two racing builders both succeed; the last rename wins and
the bytes are equal.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..cachedir import user_cache_dir
from ..publish import publish

# Bump when the meaning of a cached entry changes (layout of the key, driver ABI).
CACHE_FORMAT = 1


def cache_root() -> Path:
    """The exec build cache directory (not created here)."""
    return user_cache_dir() / "exec"


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
    hit: bool  # True: found in the cache, nothing compiled
    compile_seconds: float  # 0.0 on a hit


class BuildCache:
    """Get a binary by key, building it with ``build(tmp_output_path)`` on a miss."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else cache_root()

    def path_for(self, key: str, stem: str) -> Path:
        # The stem (arch name) makes the directory readable; the key makes it correct.
        return self.root / f"{stem}-{key}"

    def lookup(self, key: str, stem: str) -> Path | None:
        path = self.path_for(key, stem)
        return path if path.is_file() else None

    def get_or_build(self, key: str, stem: str, build: Callable[[Path], None]) -> CachedBuild:
        """Return the cached binary, or run ``build`` into a temp file and publish it atomically.

        ``build`` receives the path it must write; any exception it raises
        propagates and nothing is published (the temp file is removed); a build that
        writes nothing is an OSError.
        """
        final = self.path_for(key, stem)
        if final.is_file():
            return CachedBuild(final, True, 0.0)
        self.root.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        publish(final, build, mode=0o755)
        return CachedBuild(final, False, time.perf_counter() - start)
