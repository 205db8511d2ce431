"""The wheel must carry the profiles, the C shim and the default spec, so a
non-editable install works (they live at the top of the repo and are linked
into bitlayout/data/)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed: {proc.stderr.strip().splitlines()[-1:]}")
    (wheel,) = out.glob("bitlayout-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_ships_every_profile(wheel_names):
    for toml in sorted((ROOT / "arch_profiles").glob("*.toml")):
        assert f"bitlayout/data/arch_profiles/{toml.name}" in wheel_names


def test_wheel_ships_the_c_shim(wheel_names):
    for src in sorted((ROOT / "csrc").iterdir()):
        if src.suffix in (".c", ".h"):
            assert f"bitlayout/data/csrc/{src.name}" in wheel_names


def test_wheel_ships_the_default_spec_and_entry_points(wheel_names):
    assert "bitlayout/data/examples/vma_flags.toml" in wheel_names
    assert "bitlayout/data/examples/vma_flags.h" in wheel_names
    entry_points = [n for n in wheel_names if n.endswith("entry_points.txt")]
    assert entry_points, "no entry_points.txt in the wheel"
