"""The one user cache directory every cache of bitlayout lives under.

``$BITLAYOUT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bitlayout``, else
``~/.cache/bitlayout``.  Nothing is created here; each cache makes its own
subdirectory (``ffi-<hash>``, ``exec/``, ``probes/``, ``cpp/``).  ``publish_json`` /
``read_json``: the one way a cache entry is written (atomically) and read back (None when
missing or damaged: the caller rebuilds it).  JSON only: nothing executable is ever loaded from
a cache directory another user might write to.
"""

from __future__ import annotations

import os
from pathlib import Path


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
