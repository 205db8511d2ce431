"""The compiled backend's layout facts on disk: the same compile is not run twice.

An entry (``<user cache dir>/facts/facts-<key>.json``) is keyed by everything known before the
compile: the whole compiler command (route, profile flags, debug flags, ``-I``, ``-D``), the
compiler's identity (version and target), the TU's source text, the type names asked for, the
profile's byte order (DWARF is read with it), bitlayout's version and a digest of the code that
writes the TU and reads the DWARF.  What is known only after the compile is stored and verified
on every load, as ``cfront.ppcache`` does for the built-in preprocessor:

- every file the compiler read (its ``-MD`` list): path, stamp and SHA-256 of the content;
- the compiler's own executables (driver, ``cc1``): their stamps, since a distribution update
  can keep the version number;
- where a header added later would be found first: the mtime of every include search
  directory (``-I`` and the compiler's own list), of the directory of every file read, and of
  each subdirectory an ``#include <sys/...>`` names under every search directory (or that it
  does not exist).

Any difference, a damaged entry or another key, and the compile runs again.  A hit is the
compiler's own output for the same input; the evidence says so (``cache_hit``, ``compiled_at``).
JSON only, published atomically; a read-only cache only costs speed.

``kind`` names another output kept the same way in its own directory: ``"kernel-e"``, Kbuild's
``-E -dD`` of a kernel TU (``kernel.kbuild.kernel_preprocess``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .. import __version__
from ..cachedir import cache_subdir, mark_used, prune_once, publish_json, read_json
from ..cfront.ppcache import content_digest
from ..cfront.pplex import file_stamp

SCHEMA = "bitlayout.facts-cache/1"


@dataclass(frozen=True)
class _Kind:
    code: tuple[str, ...]  # what makes and reads the output, besides this module (package paths)
    max_entries: int


_KINDS = {"facts": _Kind(("backends/compiled.py",), 2048),
          "kernel-e": _Kind(("kernel/kbuild.py",), 64)}  # a kernel TU's text: 3-4.5 MB


@functools.cache
def code_digest(kind: str = "facts") -> str:
    """Digest of the code that makes and reads the output: changed code never reads an old entry."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent.parent
    for name in ("backends/factscache.py", *_KINDS[kind].code):
        h.update((package / name).read_bytes())
    return h.hexdigest()


def entry_key(inputs: dict, kind: str = "facts") -> str:
    return hashlib.sha256(json.dumps([code_digest(kind), kind, inputs], sort_keys=True).encode()).hexdigest()[:40]


def _stamp(path: str) -> list[int] | None:
    """(device, inode, mtime, size) as JSON keeps it (``cfront.pplex.file_stamp``)."""
    stamp = file_stamp(path)
    return list(stamp) if stamp is not None else None


def _dir_mtime(path: str) -> int | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_mtime_ns


# ---------------------------------------------------------------------------
# What the compiler read and where it looked


def read_depfile(path: Path) -> list[str] | None:
    """The prerequisites of a make rule written by ``-MD -MF path`` (escaped spaces kept); None
    when the compiler wrote none."""
    try:
        text = path.read_text(errors="replace").replace("\\\n", " ")
    except OSError:
        return None
    _, _, deps = text.partition(": ")
    return [d.replace("\\ ", " ") for d in re.findall(r"(?:\\ |[^\s])+", deps)]


def _watched_dirs(files: Sequence[str], search: Sequence[str]) -> list[str]:
    """The directories whose mtime changes when a header that would shadow one of ``files`` appears."""
    watched = dict.fromkeys(search)
    for f in files:
        watched.setdefault(os.path.dirname(f))
        for d in search:
            if not f.startswith(d + os.sep):
                continue
            # <sys/types.h> found under d: a sys/ under any other search directory is looked in too
            parts = Path(os.path.relpath(f, d)).parts[:-1]
            for other in search:
                for n in range(1, len(parts) + 1):
                    watched.setdefault(os.path.join(other, *parts[:n]))
    return list(watched)


# ---------------------------------------------------------------------------
# Entries


def load(inputs: dict, kind: str = "facts") -> dict | None:
    """The stored facts for ``inputs`` (with ``compiled_at``) if nothing they depend on changed, else
    None (always None with ``BITLAYOUT_NO_FACTS_CACHE=1``: every layout is compiled again)."""
    if os.environ.get("BITLAYOUT_NO_FACTS_CACHE") == "1":
        return None
    key = entry_key(inputs, kind)
    entry = cache_subdir(kind) / f"{kind}-{key}.json"
    data = read_json(entry)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("key") != key \
            or data.get("inputs") != inputs:
        return None
    try:
        for path, stamp in data["executables"]:
            if _stamp(path) != stamp:
                return None
        for path, mtime in data["dirs"]:
            if _dir_mtime(path) != mtime:
                return None
        for path, stamp, digest in data["files"]:
            now = file_stamp(path)
            if now is None or list(now[2:]) != stamp[2:] or content_digest(path, now) != digest:
                return None
        if not isinstance(data["facts"], dict) or not isinstance(data["compiled_at"], str):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    mark_used(entry)
    return data


def store(inputs: dict, files: Iterable[str], executables: Iterable[str], search: Sequence[str],
          facts: dict, started: float, kind: str = "facts") -> None:
    """Record ``facts`` with what they depend on; nothing when a file changed since the compile
    began (``started``, a ``time.time()``) or cannot be read."""
    recorded = []
    for path in dict.fromkeys(os.path.abspath(f) for f in files):
        stamp = file_stamp(path)
        digest = content_digest(path, stamp) if stamp is not None else None
        if digest is None or stamp[2] >= started * 1e9:
            return
        recorded.append([path, list(stamp), digest])
    exes = [[p, _stamp(p)] for p in dict.fromkeys(executables)]
    if any(s is None for _, s in exes):
        return
    dirs = [[d, _dir_mtime(d)] for d in _watched_dirs([f for f, _, _ in recorded], search)]
    if any(m is not None and m >= started * 1e9 for _, m in dirs):
        return
    key = entry_key(inputs, kind)
    directory = cache_subdir(kind)
    data = {"schema": SCHEMA, "key": key, "inputs": inputs, "files": recorded, "executables": exes, "dirs": dirs,
            "facts": facts, "compiled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}
    if publish_json(directory / f"{kind}-{key}.json", data):
        prune_once(directory, f"{kind}-", _KINDS[kind].max_entries)
