"""Fault injection through a lying emulator: every fault is an error row or a one-line error,
never a pass from the broken backend, never a traceback, and no process outlives bitlayout.

tests/fake_emulators/tamper.py is a fake qemu-user that runs the driver natively and then
lies in the way ``$BITLAYOUT_FAKE_EMU`` names.  A private copy of the shipped profiles
(``$BITLAYOUT_PROFILE_DIR``) gives x86_64 (and i386 for the parallel case) that fake as its
``[toolchain] qemu``, so the real build, run and parse path of the exec backend, of the
profile probe (``bitlayout profiles``) and of ``bitlayout matrix`` meets the lie.  Host
gcc only, one arch, ~1 s a case.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROFILE_DIR, REPO, run_cli

TAMPER = Path(__file__).resolve().parent / "fake_emulators" / "tamper.py"

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or not sys.platform.startswith("linux"),
    reason="needs the host gcc on Linux (x86_64 runs natively); install: apt-get install gcc")

# Which exec rows each lie reaches: the stress checks read only the work counters, every
# other lie breaks the whole answer stream.
ALL_EXEC = {"profile", "bit-position", "bitops", "arr64", "bounds", "tear", "lost-update", "tag-bits"}
LIES = {
    "zero_work": ({"tear", "lost-update"}, "did too little work to be evidence"),
    "reversed": (ALL_EXEC, "answer to another request"),
    "duplicated": (ALL_EXEC, "answer to another request"),
    "extra": (ALL_EXEC, re.compile(r"driver answered (\d+) of (\d+) requests")),
    "foreign_ids": (ALL_EXEC, "answer to another request"),
    "stale": (ALL_EXEC, "answer without the request's id"),
    "partial": (ALL_EXEC, "partial answer"),
    "truncated": (ALL_EXEC, "truncated output"),
    "crash": (ALL_EXEC, "killed by SIGSEGV under"),
    "hang": (ALL_EXEC, "timed out after 2 s (killed)"),
}


def faked_profiles(dest: Path, arches=("x86_64",)) -> Path:
    """A copy of the shipped profiles where ``arches`` run under tamper.py."""
    shutil.copytree(PROFILE_DIR, dest)
    for arch in arches:
        path = dest / f"{arch}.toml"
        text, n = re.subn(r'(?m)^qemu = "native"$', f'qemu = "{TAMPER}"', path.read_text())
        assert n == 1, arch
        path.write_text(text)
    return dest


@pytest.fixture(scope="module")
def fake_env(tmp_path_factory):
    """Environment for a run under the fake: profiles, one driver build shared by the module."""
    root = tmp_path_factory.mktemp("faults")
    return {"BITLAYOUT_PROFILE_DIR": str(faked_profiles(root / "profiles", ("x86_64", "i386"))),
            "BITLAYOUT_CACHE_DIR": str(root / "cache")}


@pytest.fixture
def under_fake(fake_env, monkeypatch, tmp_path):
    """Set the fake's environment in this process; returns the file its pids are noted in."""
    from bitlayout import toolchains

    for key, value in fake_env.items():
        monkeypatch.setenv(key, value)
    pids = tmp_path / "pids"
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU_PIDS", str(pids))
    monkeypatch.setenv("BITLAYOUT_EXEC_TIMEOUT", "2")
    toolchains.clear_caches()
    yield pids
    toolchains.clear_caches()


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def survivors(pids: Path) -> list[int]:
    noted = [int(x) for x in pids.read_text().split()] if pids.exists() else []
    deadline = time.monotonic() + 5  # a SIGKILL'd process needs a moment to be gone
    while time.monotonic() < deadline and any(alive(p) for p in noted):
        time.sleep(0.05)
    return [p for p in noted if alive(p)]


def exec_rows(capsys, *extra: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    code, out, err = run_cli(capsys, "matrix", "--backend", "exec", "--arch", "x86_64", "-j", "1", "-q",
                             "--format", "json", *extra)
    assert "Traceback" not in err
    rows = {r["check"]: (r["status"], r["detail"]) for r in json.loads(out)["results"]}
    return code, rows, err


def test_the_honest_fake_passes_like_the_native_run(under_fake, capsys, monkeypatch):
    """The control: the fake is a faithful emulator unless told to lie, so the lies below are
    what the backend catches (not a fake that never worked)."""
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU", "honest")
    code, rows, err = exec_rows(capsys)
    assert code == 0, (rows, err)
    assert {c for c, (s, _) in rows.items() if s == "pass"} == ALL_EXEC
    assert survivors(under_fake) == []


@pytest.mark.parametrize("mode", sorted(LIES))
def test_a_lying_emulator_gives_error_rows_never_a_pass(under_fake, capsys, monkeypatch, mode):
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU", mode)
    lied, words = LIES[mode]
    code, rows, err = exec_rows(capsys)
    assert code == 1, (rows, err)
    assert {c for c, (s, _) in rows.items() if s == "error"} == lied, rows
    for check in lied:
        if isinstance(words, re.Pattern):  # one answer more than requests (distinct ones: their count varies)
            answered, asked = map(int, words.search(rows[check][1]).groups())
            assert answered == asked + 1, rows[check]
        else:
            assert words in rows[check][1], rows[check]
    assert {s for c, (s, _) in rows.items() if c not in lied} <= {"pass", "skip"}
    assert survivors(under_fake) == []  # hang's sleeping child died with the guest's group


def test_an_emulator_leaving_a_child_behind_kills_it(under_fake, capsys, monkeypatch):
    """orphan answers honestly (the answers are true: pass rows) but starts a child with its
    stdio detached that would outlive it; bitlayout kills the guest's whole group."""
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU", "orphan")
    code, rows, _ = exec_rows(capsys)
    assert code == 0 and {c for c, (s, _) in rows.items() if s == "pass"} == ALL_EXEC
    assert len(under_fake.read_text().split()) >= 2  # the run and the child it left
    assert survivors(under_fake) == []


# The profile probe prints key=value lines ending in end=1 (profile_truth.PROBE_SOURCE); the
# lies that reach it (the others only touch JSON answers) and what the verdict must say.
PROBE_LIES = {
    "duplicated": "probe output line 2 repeats size__Bool",
    "extra": "probe output line 2 repeats size__Bool",
    "reversed": "probe output is cut off (no end=1 line last)",
    "truncated": "probe output is cut off (no end=1 line last)",
    "crash": "killed by SIGSEGV",
    "hang": "timed out",
}


def test_the_honest_fake_verifies_the_profile(under_fake, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU", "honest")
    code, out, err = run_cli(capsys, "profiles", "--arch", "x86_64", "--format", "json", "-j", "1")
    (verdict,) = [p for p in json.loads(out)["profiles"] if p["name"] == "x86_64"]
    assert code == 0 and (verdict["verified"], verdict["executable"], verdict["mismatches"]) == (True, True, [])


@pytest.mark.parametrize("mode", sorted(PROBE_LIES))
def test_a_lying_emulator_never_verifies_a_profile(under_fake, capsys, monkeypatch, tmp_path, mode):
    """``bitlayout profiles``: the verdict is not verified, names the fault and is not cached."""
    from bitlayout import profile_truth

    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(tmp_path / "cache"))  # verdicts are cached per runner
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU", mode)
    monkeypatch.setenv("BITLAYOUT_FAKE_EMU_EVERY_RUN", "1")
    monkeypatch.setattr(profile_truth, "PROBE_RUN_TIMEOUT", 2.0)
    code, out, err = run_cli(capsys, "profiles", "--arch", "x86_64", "--format", "json", "-j", "1")
    assert "Traceback" not in err and code == 0, err
    (verdict,) = [p for p in json.loads(out)["profiles"] if p["name"] == "x86_64"]
    assert (verdict["verified"], verdict["executable"]) == (False, False), verdict
    assert PROBE_LIES[mode] in verdict["note"], verdict
    assert not list((tmp_path / "cache" / "probes").glob("*.json"))  # a fault is not remembered
    assert survivors(under_fake) == []


def _ctrl_c_reaches_it() -> None:
    """In the child before exec: SIGINT as a terminal delivers it.  A test run started in the
    background by a non-interactive shell inherits SIGINT ignored, and bitlayout (like any Unix
    tool) keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(cmd: list[str], env: dict[str, str], pids: Path, sig: int) -> subprocess.CompletedProcess:
    """Start ``cmd``, wait until a guest runs (its pid is noted), send ``sig``, wait for the end."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_reaches_it)
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # the fake has started its child
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.parametrize("sig, code, jobs", [(signal.SIGINT, 130, "1"), (signal.SIGINT, 130, "2"),
                                              (signal.SIGTERM, 143, "2")])
def test_an_interrupted_matrix_leaves_no_process_behind(fake_env, tmp_path, sig, code, jobs):
    """Ctrl-C (or a kill) while guests hang: one line, 130/143, and neither the guests nor
    their children nor the matrix workers (-j 2: a process pool) survive."""
    pids = tmp_path / "pids"
    env = {**os.environ, **fake_env, "BITLAYOUT_FAKE_EMU": "hang", "BITLAYOUT_FAKE_EMU_PIDS": str(pids),
           "BITLAYOUT_EXEC_TIMEOUT": "300", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "bitlayout", "matrix", "--backend", "exec", "--arch", "x86_64,i386",
           "-j", jobs, "--format", "json"]
    done = _interrupt(cmd, env, pids, sig)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    notices = "(once, then cached"  # a first build's progress line, not an error
    assert len([ln for ln in done.stderr.splitlines()
                if "bitlayout:" in ln and "[" not in ln and notices not in ln]) == 1, done.stderr
    assert survivors(pids) == []
    assert _processes_mentioning(fake_env["BITLAYOUT_CACHE_DIR"]) == []


def _processes_mentioning(*texts: str) -> list[str]:
    """Command lines of live processes that name all ``texts`` (a guest binary under a test's cache)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if all(t in cmdline for t in texts) and alive(int(entry.name)):
                found.append(cmdline)
    return found


def test_ctrl_c_under_a_real_qemu_leaves_no_emulator_behind(tmp_path):
    """The same with the shipped mips profile under the real qemu-mips, interrupted in a long
    stress run."""
    from bitlayout import toolchains
    from bitlayout.profiles import load_profiles

    mips = {p.name: p for p in load_profiles(PROFILE_DIR)}["mips"]
    if toolchains.find_compiler(mips) is None or toolchains.find_runner(mips) is None:
        pytest.skip(f"mips cannot run here: {toolchains.missing_reason(mips)}")
    cache = str(tmp_path / "cache")
    env = {**os.environ, "BITLAYOUT_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
    env.pop("BITLAYOUT_PROFILE_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "bitlayout", "matrix", "--backend", "exec", "--arch", "mips",
                             "--check", "tear", "--stress-ms", "60000", "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_reaches_it)
    deadline = time.monotonic() + 120  # the first build of the mips driver
    while not _processes_mentioning("qemu-mips", cache) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert _processes_mentioning("qemu-mips", cache), "the guest never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    deadline = time.monotonic() + 5
    while _processes_mentioning("qemu-mips", cache) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_mentioning("qemu-mips", cache) == []
