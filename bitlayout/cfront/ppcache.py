"""The built-in preprocessor's results on disk (``<user cache dir>/cpp/pp-<key>.json``).

An entry is keyed by everything the output depends on that is known before the run: the
input paths, the include search list, the ``-D`` macros, the digest of the arch's compiler
facts (``predefined.CompilerFacts.digest``), bitlayout's version and a digest of the
preprocessor's own source.  What is known only after the run is stored and verified on every
load: each file read (path, inode, mtime, size and SHA-256 of its content) and each path looked
up and not found; any difference, a damaged file or another key and the entry is rebuilt.
JSON only (nothing executable is ever loaded from a cache directory another user might write),
published atomically (``cachedir.publish_json``); a read-only cache only costs speed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from .. import __version__
from ..cachedir import cache_subdir, mark_used, prune_once, publish_json, read_json
from .pplex import file_stamp

SCHEMA = "bitlayout.cpp-cache/1"
# One entry per (input, arch): 40 headers on 26 arches are 1,040 entries, ~28 KB each (the text).
# At 512, such a run evicted every entry before reading it again: each run was a cold one.
MAX_ENTRIES = 4096
_SOURCES = ("pplex.py", "ppmacro.py", "ppexpand.py", "ppexpr.py", "cpp.py", "ppcache.py", "preprocess.py")


@functools.cache
def code_digest() -> str:
    """Digest of the preprocessor's source: a changed preprocessor never reads an old entry."""
    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for name in _SOURCES:
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    return h.hexdigest()


def cache_dir() -> Path:
    return cache_subdir("cpp")


def entry_key(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:40]


_DIGESTS: dict[tuple, str] = {}  # (path, stamp) -> digest, per process


def content_digest(path: str, stamp=None) -> str | None:
    """SHA-256 of a file's content (memoised per process on its stamp)."""
    key = (path, stamp) if stamp is not None else None
    if key is not None and key in _DIGESTS:
        return _DIGESTS[key]
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None
    if key is not None:
        if len(_DIGESTS) > 65536:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def clear_caches() -> None:
    _DIGESTS.clear()


def load(inputs: dict) -> dict | None:
    """The stored entry for ``inputs`` if every file it read is unchanged, else None (always
    None with ``BITLAYOUT_NO_PARSE_CACHE=1``: every run preprocesses again)."""
    if os.environ.get("BITLAYOUT_NO_PARSE_CACHE") == "1":
        return None
    key = entry_key(inputs)
    entry = cache_dir() / f"pp-{key}.json"
    data = read_json(entry)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("key") != key \
            or data.get("inputs") != inputs:
        return None
    try:
        for path, dev, ino, mtime, size, digest in data["files"]:
            stamp = file_stamp(path)
            if stamp is None or stamp[2:] != (mtime, size) or content_digest(path, stamp) != digest:
                return None
        for path in data["missing"]:
            if file_stamp(path) is not None:
                return None
        if not isinstance(data["text"], str):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    mark_used(entry)
    return data


def store(inputs: dict, probes: dict, payload: dict) -> None:
    """Write an entry: ``probes`` (path -> stamp or None) of the run, ``payload`` its results."""
    key = entry_key(inputs)
    files = []
    for path, stamp in probes.items():
        if stamp is not None:
            digest = content_digest(path, stamp)
            if digest is None or file_stamp(path) != stamp:
                return  # changed while we read it: do not store
            files.append([path, stamp[0], stamp[1], stamp[2], stamp[3], digest])
    data = {"schema": SCHEMA, "key": key, "inputs": inputs, "files": files,
            "missing": [p for p, s in probes.items() if s is None], **payload}
    directory = cache_dir()
    if publish_json(directory / f"pp-{key}.json", data):
        prune_once(directory, "pp-", MAX_ENTRIES)
