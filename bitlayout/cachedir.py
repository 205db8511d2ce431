"""The one user cache directory every cache of bitlayout lives under.

``$BITLAYOUT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bitlayout``, else
``~/.cache/bitlayout``.  Nothing is created here; each cache makes its own
subdirectory (``ffi-<hash>``, ``exec/``, ``probes/``).
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
