"""Hypothesis-generated bad specs and profiles through the CLI: mutations of the shipped ones.

Each example takes a shipped file (an arch profile, the embedded default spec, the docs
example spec), applies one mutation of a class (delete a key, rename a key, give a value
another type, put an out-of-domain number, duplicate a table, insert a non-UTF-8 byte,
truncate) and runs bitlayout on it in process.  The property: exit 0 or 1 (the mutation left
a valid file), or exit 2 with nothing on stdout and exactly one line on stderr
("bitlayout: error: ..."); never a traceback (an exception out of main fails the test).
A few cases run as real subprocesses at the end.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROFILE_DIR, REPO, run_cli

EXAMPLE_SPEC = REPO / "bitlayout" / "data" / "examples" / "vma_flags.toml"  # the embedded default
DOCS_SPEC = REPO / "docs" / "examples" / "vma_flags.toml"
HEADER = REPO / "docs" / "examples" / "vma_flags.h"
PROFILES = sorted(PROFILE_DIR.glob("*.toml"))
EXAMPLES = int(os.environ.get("BITLAYOUT_FUZZ_EXAMPLES", "60"))  # per mutation class and subject

KEY_LINE = re.compile(rb"^(\s*)([A-Za-z0-9_\"-]+)(\s*=\s*)(.*)$")
TABLE_LINE = re.compile(rb"^\[[^\[].*\]\s*$")
INT_VALUE = re.compile(rb"^-?\d[\d_]*$")
OTHER_VALUES = [b'"x"', b'""', b"0", b"-1", b"3", b"true", b"false", b"1.5", b"nan", b"inf", b"[]", b'[1, "a"]',
                b"{}", b"{ a = 1 }", b"1979-05-27", b'"all"', b'"64bit,ppc"', b'"\\u0000"', b'"a\\nb"',
                b'"struct"', b'"' + b"x" * 300 + b'"']
BAD_NUMBERS = [b"-1", b"0", b"1", b"3", b"6", b"7", b"24", b"127", b"255", b"256", b"65536", b"2147483648",
               b"4294967296", b"9223372036854775807", b"-9223372036854775808", b"0x7fffffff", b"0o17", b"0b101"]
CLASSES = ["delete_key", "rename_key", "retype", "out_of_domain", "duplicate_table", "non_utf8", "truncate"]


def _lines_matching(lines: list[bytes], pattern: re.Pattern, value: re.Pattern | None = None) -> list[int]:
    out = []
    for i, line in enumerate(lines):
        m = pattern.match(line)
        if m and not line.lstrip().startswith(b"#") and (value is None or value.match(m.group(4).split(b"#")[0].strip())):
            out.append(i)
    return out


@st.composite
def mutated(draw, original: bytes, kind: str) -> bytes:
    """``original`` with one mutation of class ``kind`` (the unchanged file if it has no such spot)."""
    lines = original.split(b"\n")
    if kind == "non_utf8":
        at = draw(st.integers(0, len(original)))
        return original[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + original[at:]
    if kind == "truncate":
        return original[: draw(st.integers(0, len(original) - 1))]
    if kind == "duplicate_table":
        spots = [i for i, ln in enumerate(lines) if TABLE_LINE.match(ln)]
        if not spots:
            return original
        i = draw(st.sampled_from(spots))
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(b"[")), len(lines))
        block = lines[i:end]
        where = draw(st.sampled_from(["after", "end"]))
        return b"\n".join(lines[:end] + block + lines[end:] if where == "after" else lines + block)
    spots = _lines_matching(lines, KEY_LINE, INT_VALUE if kind == "out_of_domain" else None)
    if not spots:
        return original
    i = draw(st.sampled_from(spots))
    indent, key, eq, value = KEY_LINE.match(lines[i]).groups()
    if kind == "delete_key":
        del lines[i]
    elif kind == "rename_key":
        lines[i] = indent + key.strip(b'"') + draw(st.sampled_from([b"x", b"_", b"S"])) + eq + value
    elif kind == "retype":
        lines[i] = indent + key + eq + draw(st.sampled_from(OTHER_VALUES))
    elif kind == "out_of_domain":
        lines[i] = indent + key + eq + draw(st.sampled_from(BAD_NUMBERS))
    return b"\n".join(lines)


TALLY: Counter = Counter()  # (subject, class, exit status) -> examples run


@pytest.fixture(scope="module", autouse=True)
def tally_file():
    """``$BITLAYOUT_FUZZ_TALLY``: where to write how many examples each class ran, by exit status."""
    yield
    if os.environ.get("BITLAYOUT_FUZZ_TALLY"):
        rows = [{"subject": s, "class": k, "exit": c, "examples": n} for (s, k, c), n in sorted(TALLY.items())]
        Path(os.environ["BITLAYOUT_FUZZ_TALLY"]).write_text(json.dumps(rows, indent=1))


def assert_one_line_or_valid(code, out: str, err: str, subject: str, kind: str) -> None:
    assert "Traceback" not in err, err
    TALLY[subject, kind, code] += 1
    if code in (0, 1):
        return
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 1, (subject, kind, code, out[:200], err)
    assert lines[0].startswith("bitlayout: error: "), err


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def profile_slot(tmp_path, monkeypatch):
    """A profile directory holding one (mutated) profile and the shipped compiler facts."""
    from bitlayout import profiles

    where = tmp_path / "profiles"
    where.mkdir()
    (where / "predefined").symlink_to(PROFILE_DIR / "predefined")
    monkeypatch.setenv("BITLAYOUT_PROFILE_DIR", str(where))
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(tmp_path / "cache"))

    def put(name: str, data: bytes) -> Path:
        for old in where.glob("*.toml"):
            old.unlink()
        path = where / name
        path.write_bytes(data)
        profiles._load_dir.cache_clear()  # profiles are cached per directory and process
        return path
    yield put
    profiles._load_dir.cache_clear()


@pytest.mark.parametrize("kind", CLASSES)
def test_mutated_profiles_are_one_line_or_valid(profile_slot, capsys, kind):
    @FUZZ
    @given(data=st.data())
    def check(data):
        source = data.draw(st.sampled_from(PROFILES), label="profile")
        path = profile_slot(source.name, data.draw(mutated(source.read_bytes(), kind), label="mutated"))
        for argv in (["profiles", "--no-probe", "--format", "json"],
                     ["matrix", "--backend", "model", "-j", "1", "-q", "--format", "json"]):
            code, out, err = run_cli(capsys, *argv)
            assert_one_line_or_valid(code, out, err, f"profile ({argv[0]})", kind)
            if code == 2:
                assert path.name in err or "arch" in err, err  # names the file (or the selection it emptied)
    check()


@pytest.mark.parametrize("source", [EXAMPLE_SPEC, DOCS_SPEC], ids=["embedded", "docs"])
@pytest.mark.parametrize("kind", CLASSES)
def test_mutated_specs_are_one_line_or_valid(tmp_path, capsys, monkeypatch, source, kind):
    monkeypatch.setenv("BITLAYOUT_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(HEADER, tmp_path / HEADER.name)
    spec = tmp_path / "spec.toml"

    @FUZZ
    @given(text=mutated(source.read_bytes(), kind))
    def check(text):
        spec.write_bytes(text)
        code, out, err = run_cli(capsys, "matrix", str(spec), "--backend", "model", "--arch", "i386,x86_64,mips",
                                 "-j", "1", "-q", "--format", "json")
        assert_one_line_or_valid(code, out, err, f"spec ({source.parent.parent.name})", kind)
        if code == 2:
            assert str(spec) in err or "arch" in err, err
    check()


SUBPROCESS_CASES = {
    "non-UTF-8 spec": ("spec", lambda b: b.replace(b"headers", b"head\xffers", 1)),
    "truncated spec": ("spec", lambda b: b[: len(b) // 3]),
    "duplicate profile table": ("profile", lambda b: b + b"\n[toolchain]\nqemu = \"native\"\n"),
    "string for a size": ("profile", lambda b: re.sub(rb"(?m)^(\[types\.int\]\nsize = )4", rb'\1"4"', b)),
}


@pytest.mark.parametrize("case", sorted(SUBPROCESS_CASES))
def test_a_real_process_gets_one_line_and_exit_2(tmp_path, case):
    what, mutate = SUBPROCESS_CASES[case]
    env = {**os.environ, "PYTHONPATH": str(REPO), "BITLAYOUT_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "bitlayout", "matrix", "--backend", "model", "--arch", "x86_64", "-q"]
    if what == "spec":
        shutil.copy(HEADER, tmp_path / HEADER.name)
        target = tmp_path / "spec.toml"
        target.write_bytes(mutate(EXAMPLE_SPEC.read_bytes()))
        argv.append(str(target))
    else:
        shutil.copytree(PROFILE_DIR, tmp_path / "profiles")
        target = tmp_path / "profiles" / "x86_64.toml"
        mutated_bytes = mutate(target.read_bytes())
        assert mutated_bytes != target.read_bytes()
        target.write_bytes(mutated_bytes)
        env["BITLAYOUT_PROFILE_DIR"] = str(tmp_path / "profiles")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(f"bitlayout: error: {target}"), proc.stderr
