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


def recorded_calls(monkeypatch: pytest.MonkeyPatch, module, name: str = "run_compiler") -> list[list[str]]:
    """The argv of every call of ``module.name`` from here on (the function still runs)."""
    calls: list[list[str]] = []
    real = getattr(module, name)

    def recording(argv, *args, **kwargs):
        calls.append(list(argv))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``bitlayout ARGV`` in process: (exit status, stdout, stderr)."""
    from bitlayout.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors exit from inside the parser
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
