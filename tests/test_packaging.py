"""The wheel must carry the profiles, the C shim and the default spec, so a
non-editable install works (they live at the top of the repo and are linked
into bitlayout/data/), and the C shim compiled at install time (issue #4),
which bitlayout uses only while it matches the C shipped next to it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import pytest

from bitlayout import _ffi_build

ROOT = Path(__file__).resolve().parent.parent


def _copy_tree(dest: Path) -> Path:
    """A private copy of the source tree to build from: pip builds in-tree, and
    two xdist workers (or another engineer's pip) compiling in the same
    build/ directory at once break each other's objects."""
    shutil.copytree(ROOT, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "*.so", ".git", ".hypothesis",
                                                  ".pytest_cache", ".ruff_cache", "__pycache__", "tests",
                                                  "benchmarks", ".venv"))
    return dest


def _pip_wheel(src: Path, out: Path, env: dict[str, str] | None = None) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed: {proc.stderr.strip().splitlines()[-1:]}")
    (wheel,) = out.glob("bitlayout-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    return _pip_wheel(_copy_tree(tmp / "src"), tmp / "out")


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.fixture()
def unpacked(wheel, tmp_path) -> Path:
    """The wheel's files as a non-editable install sees them (site dir)."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def _host_info_from(site: Path, cwd: Path) -> dict:
    """host_info() in a fresh interpreter that imports bitlayout from `site`,
    run from another directory, with its own empty user cache."""
    code = textwrap.dedent("""
        import json, bitlayout
        from bitlayout.backends import host
        info = host.host_info()
        info["file"] = bitlayout.__file__
        info["module"] = host._loaded().path
        info["reason"] = host._loaded().reason
        info["evidence_built"] = host.run("image", w=8, n=1, bits=[1]).evidence["built"]
        print(json.dumps(info))
    """)
    env = {**os.environ, "PYTHONPATH": str(site), "BITLAYOUT_CACHE_DIR": str(cwd / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_wheel_ships_every_profile(wheel_names):
    for toml in sorted((ROOT / "arch_profiles").glob("*.toml")):
        assert f"bitlayout/data/arch_profiles/{toml.name}" in wheel_names


def test_wheel_ships_the_c_shim(wheel_names):
    # csrc/freestanding/ too: the exec driver built without libc (sh4, sparc)
    shipped = [src for src in sorted((ROOT / "csrc").rglob("*")) if src.suffix in (".c", ".h")]
    assert any(src.parent.name == "arch" for src in shipped)
    for src in shipped:
        assert f"bitlayout/data/csrc/{src.relative_to(ROOT / 'csrc').as_posix()}" in wheel_names


def test_wheel_ships_the_default_spec_and_entry_points(wheel_names):
    assert "bitlayout/data/examples/vma_flags.toml" in wheel_names
    assert "bitlayout/data/examples/vma_flags.h" in wheel_names
    entry_points = [n for n in wheel_names if n.endswith("entry_points.txt")]
    assert entry_points, "no entry_points.txt in the wheel"


# --- the install-time shim (issue #4) ------------------------------------------


def test_wheel_contains_the_compiled_shim(wheel_names):
    shims = [n for n in wheel_names if n.startswith("bitlayout/_shim_prebuilt") and n.endswith((".so", ".pyd"))]
    assert len(shims) == 1, sorted(n for n in wheel_names if "_shim" in n)


def test_installed_wheel_uses_the_prebuilt_shim(unpacked, tmp_path):
    info = _host_info_from(unpacked, tmp_path)
    assert info["file"] == str(unpacked / "bitlayout" / "__init__.py")
    assert info["built"] == info["evidence_built"] == "install", info["reason"]
    assert info["module"].startswith(str(unpacked / "bitlayout" / "_shim_prebuilt"))
    assert not (tmp_path / "cache").exists()  # nothing was compiled at run time
    # the prebuilt shim observes what this interpreter's shim observes
    from bitlayout.backends import host

    mine = {k: v for k, v in host.host_info().items() if k != "built"}
    assert {k: v for k, v in info.items() if k in mine} == mine


def test_installed_wheel_with_edited_c_falls_back_to_the_cache(unpacked, tmp_path):
    probes_c = unpacked / "bitlayout" / "data" / "csrc" / "probes.c"
    probes_c.write_text(probes_c.read_text() + "\n/* edited after install */\n")
    info = _host_info_from(unpacked, tmp_path)
    assert info["built"] == info["evidence_built"] == "cache"
    assert "was built from C with hash" in info["reason"]
    assert info["module"].startswith(str(tmp_path / "cache" / "ffi-"))


def test_install_without_a_compiler_still_succeeds(tmp_path):
    """The extension is optional: with a compiler that fails, the wheel
    builds without the shim (the host backend then builds into the cache)."""
    src = _copy_tree(tmp_path / "src")
    env = {**os.environ, "CC": "/bin/false", "LDSHARED": "/bin/false"}
    wheel = _pip_wheel(src, tmp_path / "out", env)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert not [n for n in names if "_shim_prebuilt" in n]
    assert "bitlayout/data/csrc/probes.c" in names


# --- prebuilt-vs-cache decision (fake modules, no C) ----------------------------


def test_decide_needs_an_equal_embedded_hash():
    assert _ffi_build.decide("0123456789abcdef", "0123456789abcdef") == "install"
    assert _ffi_build.decide("0123456789abcdef", "fedcba9876543210") == "cache"
    assert _ffi_build.decide(None, "0123456789abcdef") == "cache"


def test_source_hash_follows_the_c(tmp_path):
    src = tmp_path / "csrc"
    shutil.copytree(_ffi_build.csrc_dir(), src)
    before = _ffi_build.source_hash(src)
    assert before == _ffi_build.source_hash(_ffi_build.csrc_dir())
    (src / "bitops.h").write_text((src / "bitops.h").read_text() + "\n")
    assert _ffi_build.source_hash(src) != before


@pytest.fixture()
def fake_prebuilt(monkeypatch):
    """Register a fake prebuilt module whose shim reports `digest`."""
    import cffi

    name = "bitlayout._fake_prebuilt_for_tests"

    def install(digest: str | None):
        ffi = cffi.FFI()
        lib = types.SimpleNamespace(bl_probe_run=None)
        if digest is not None:
            lib.bl_shim_source_hash = lambda: ffi.new("char[]", digest.encode())
        mod = types.ModuleType(name)
        mod.ffi, mod.lib, mod.__file__ = ffi, lib, f"/fake/{name}.so"
        monkeypatch.setitem(sys.modules, name, mod)
        return name, mod

    return install


def test_prebuilt_with_the_current_hash_is_used(fake_prebuilt):
    name, mod = fake_prebuilt(_ffi_build.source_hash())
    loaded = _ffi_build.load_module(prebuilt=name)
    assert (loaded.built, loaded.path, loaded.reason) == ("install", mod.__file__, "")
    assert loaded.lib is mod.lib


@pytest.mark.parametrize("digest", ["0000000000000000", None])
def test_prebuilt_with_another_hash_falls_back_to_the_cache(fake_prebuilt, digest):
    name, mod = fake_prebuilt(digest)
    try:
        loaded = _ffi_build.load_module(prebuilt=name)
    except Exception as exc:  # noqa: BLE001 - the cache build needs a compiler
        pytest.skip(f"cannot build the cffi shim ({exc}); apt-get install gcc python3-dev")
    assert loaded.built == "cache" and loaded.lib is not mod.lib
    assert f"hash {digest}" in loaded.reason
    assert loaded.lib.bl_default_word_bits() in (32, 64)


def test_missing_prebuilt_falls_back_to_the_cache():
    try:
        loaded = _ffi_build.load_module(prebuilt="bitlayout._no_such_prebuilt")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot build the cffi shim ({exc}); apt-get install gcc python3-dev")
    assert loaded.built == "cache"
    assert loaded.reason.startswith("no prebuilt module bitlayout._no_such_prebuilt")
