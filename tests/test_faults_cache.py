"""Fault injection in the cache: damaged, foreign and unsafe cache entries and directories.

One real ``bitlayout matrix`` (every backend: model, host, compiled, exec; x86_64 and i386)
fills a clean cache: the exec drivers and their records (``backends/buildcache.py``), the
host shim's cffi module and record (``_ffi_build.py``), the profile verdicts
(``profile_truth.py``) and the preprocessor's JSON caches (``cfront/ppcache.py``,
``cfront/sysinclude.py``).  Each test damages every entry of a copy in one way, runs the
same matrix in a fresh process (the cffi module is imported once per process) and asks for
a result equal to the clean run's, with each damaged entry rebuilt; a cache directory
bitlayout must not use gives the same result from a private temporary one and one warning.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or not sys.platform.startswith("linux"),
                                reason="needs the host gcc on Linux; install: apt-get install gcc")

# The stress checks' details count reads (they differ run to run); every other row must be equal.
CHECKS = "profile,layout,bit-position,bitops,arr64,bounds,tag-bits,expect"
ARGV = ["matrix", "--arch", "x86_64,i386", "--check", CHECKS, "-j", "1", "-q", "--format", "json"]


def run_matrix(cache: Path) -> tuple[int, list[tuple], str]:
    # the cffi module from the cache, not the one pip built into the package
    env = {**os.environ, "BITLAYOUT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO), "BITLAYOUT_NO_PREBUILT_SHIM": "1"}
    env.pop("BITLAYOUT_PROFILE_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "bitlayout", *ARGV], env=env, capture_output=True, text=True,
                          timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    rows = [(r["arch"], r["check"], r["backend"], r["status"], r["detail"], r["predicted"], r["observed"])
            for r in json.loads(proc.stdout)["results"]]
    return proc.returncode, rows, proc.stderr


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """(exit status, rows) of the clean run and the cache it left."""
    cache = tmp_path_factory.mktemp("clean") / "cache"
    code, rows, err = run_matrix(cache)
    assert err == "" and {r[2] for r in rows} >= {"model", "host", "compiled", "exec"}, err
    assert code == run_matrix(cache)[0]  # and the warm run agrees
    return code, rows, cache


def entries(cache: Path) -> dict[str, list[Path]]:
    """The cache's files by kind (what each kind must hold for the test to mean anything)."""
    kinds = {
        "exec binary": sorted(p for p in (cache / "exec").iterdir() if p.suffix != ".json"),
        "exec record": sorted((cache / "exec").glob("*.json")),
        "cffi module": sorted(cache.glob("ffi-*/*.so")),
        "cffi record": sorted(cache.glob("ffi-*/bitlayout-record.json")),
        "profile verdict": sorted((cache / "probes").glob("*.json")),
        "cpp run": sorted((cache / "cpp").glob("pp-*.json")),
        "cpp search list": sorted((cache / "cpp").glob("sysdirs-*.json")),
    }
    for kind, paths in kinds.items():
        assert paths, f"the clean run left no {kind}"
    return kinds


def _strings_for_ints(value):
    if isinstance(value, bool) or not isinstance(value, (int, dict, list)):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _strings_for_ints(v) for k, v in value.items()}
    return [_strings_for_ints(v) for v in value]


def _foreign_module() -> bytes:
    """A real extension module that is not the shim (another key's bytes in the slot)."""
    lib = Path(sysconfig.get_config_var("DESTSHARED") or "")
    found = sorted(lib.glob("_json*.so")) or sorted(lib.glob("*.so"))
    if not found:
        pytest.skip(f"no extension module in {lib} to use as a foreign one")
    return found[0].read_bytes()


def damage(kind: str, paths: list[Path], how: str, rng: random.Random) -> dict[Path, bytes]:
    """Damage every entry of a kind one way; the damaged bytes by path."""
    originals = [p.read_bytes() for p in paths]
    damaged = {}
    for i, (path, data) in enumerate(zip(paths, originals)):
        if how == "truncated":
            new = data[: len(data) // 2]
        elif how == "emptied":
            new = b""
        elif how == "garbage":
            new = bytes(rng.randrange(256) for _ in range(min(len(data), 4096)))
        elif how == "foreign":  # another entry's valid bytes of the same kind
            new = _foreign_module() if kind == "cffi module" else originals[(i + 1) % len(originals)]
            if new == data:  # one entry only (e.g. one cpp run): a valid one of another key
                new = data.replace(b'"key":"', b'"key":"0') if path.suffix == ".json" else data + b"\0"
        elif how == "wrong-typed":  # valid JSON, the right keys, every number a string
            if path.suffix != ".json":
                continue
            value = json.loads(data)
            if _strings_for_ints(value) == value:  # no number in it (a search list)
                continue
            new = json.dumps(_strings_for_ints(value)).encode()
        else:
            raise AssertionError(how)
        if new != data:
            path.write_bytes(new)
            damaged[path] = new
    return damaged


@pytest.mark.parametrize("how", ["truncated", "emptied", "garbage", "foreign", "wrong-typed"])
def test_damaged_entries_are_rebuilt_and_the_result_is_the_clean_one(clean, tmp_path, how):
    code, rows, cache = clean
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    rng = random.Random(how)
    damaged = {}
    for kind, paths in entries(copy).items():
        damaged.update(damage(kind, paths, how, rng))
    assert damaged
    got_code, got_rows, err = run_matrix(copy)
    assert (got_code, got_rows) == (code, rows), err
    assert err == ""
    entries(copy)  # every kind is there again
    kept = [str(p) for p, bad in damaged.items() if p.exists() and p.read_bytes() == bad]
    assert kept == [], f"still damaged ({how}): {kept}"


def _mountable(tmp_path: Path) -> bool:
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(probe)], check=True)
    return ok


def _poison(cache: Path) -> None:
    """Replace the x86_64 drivers by a program of 'another user' with a matching record: used,
    it would turn the exec rows into errors (it answers nothing)."""
    from bitlayout.cachedir import file_digest

    records = list((cache / "exec").glob("x86_64-*.json"))  # one per compiler that built a driver
    assert records
    for record in records:
        binary = record.with_suffix("")
        binary.write_text("#!/bin/sh\nexit 0\n")
        data = json.loads(record.read_text())
        data.update(size=binary.stat().st_size, sha256=file_digest(binary))
        record.write_text(json.dumps(data))


def _unsafe_cache(tmp_path: Path, clean_cache: Path, how: str):
    """A warm cache directory made unusable ``how``; returns it and an undo (or None)."""
    cache = tmp_path / "cache"
    shutil.copytree(clean_cache, cache)
    _poison(cache)
    if how == "group-writable":
        cache.chmod(0o770)
    elif how == "world-writable":
        cache.chmod(0o777)
    elif how == "other user's":
        if os.geteuid() != 0:
            pytest.skip("chown to another user needs root")
        os.chown(cache, 65534, 65534)
    elif how == "not a directory":
        shutil.rmtree(cache)
        cache.write_text("a file where the cache should be\n")
    elif how == "read-only":
        if not _mountable(tmp_path):
            pytest.skip("a read-only bind mount needs root (mount)")
        subprocess.run(["mount", "--bind", str(cache), str(cache)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(cache)], check=True)
        return cache, lambda: subprocess.run(["umount", str(cache)], check=True)
    else:
        raise AssertionError(how)
    return cache, None


@pytest.mark.parametrize("how", ["group-writable", "world-writable", "other user's", "not a directory",
                                 "read-only"])
def test_an_unsafe_or_unwritable_cache_falls_back_with_one_warning(clean, tmp_path, how):
    """Nothing in a directory another user can write is executed or believed; a read-only one
    only costs speed: the same result from a private temporary cache, one warning line."""
    code, rows, clean_cache = clean
    cache, undo = _unsafe_cache(tmp_path, clean_cache, how)
    before = sorted(str(p) for p in cache.rglob("*")) if cache.is_dir() else None
    try:
        got_code, got_rows, err = run_matrix(cache)
        after = sorted(str(p) for p in cache.rglob("*")) if cache.is_dir() else None
    finally:
        if undo:
            undo()
    assert (got_code, got_rows) == (code, rows), err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bitlayout: warning: cache directory {cache} "), err
    assert "using a private temporary one" in lines[0]
    assert after == before  # nothing was written there (nor read from it: see the rows' evidence)
