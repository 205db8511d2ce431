"""Shared fixtures (keep this file small: per-module helpers live in their test module)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROFILE_DIR = REPO / "arch_profiles"


@pytest.fixture
def profile_dir_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped profiles, safe to edit or corrupt."""
    dest = tmp_path / "arch_profiles"
    shutil.copytree(PROFILE_DIR, dest)
    return dest


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty bitlayout cache directory (BITLAYOUT_CACHE_DIR) for this test only."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(cache))
    return cache
