"""Helpers for the preprocessor tests: a compiler's ``-E`` next to the built-in preprocessor's,
compared as token streams (whitespace and line markers aside; ``#pragma``/``#ident`` lines
compared as lines of tokens)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bitlayout import toolchains
from bitlayout.cfront import pplex

LONG = os.environ.get("BITLAYOUT_LONG_TESTS", "") not in ("", "0")


def kind_of(profile) -> str:
    """The toolchain kind of the profile's compiler ("gcc" or "zig")."""
    return "zig" if profile.compiler == "clang" else "gcc"


def require(profile):
    compiler = toolchains.find_compiler(profile, kind_of(profile))
    if compiler is None:
        pytest.skip(f"no {profile.compiler} for {profile.name}: {toolchains.missing_reason(profile)}")
    return compiler


def token_stream(text: str) -> list:
    """Tokens of preprocessed text; line markers and -dD #define/#undef lines dropped."""
    out: list = []
    for line in text.split("\n"):
        s = line.lstrip()
        if s.startswith("#"):
            body = s[1:].lstrip()
            if body[:1].isdigit() or body.startswith(("line", "define", "undef")):
                continue
            out.append(("#", tuple(t.text for t in pplex.tokenize(body))))
            continue
        out.extend(t.text for t in pplex.tokenize(line))
    return out


def compiler_E(compiler, paths, include_dirs=(), defines=(), cwd=None) -> tuple[str | None, str]:
    """(text, stderr) of the compiler's ``-E`` on ``paths`` read as one translation unit the
    way ``cfront.preprocess`` does (several files: ``#include`` lines on standard input)."""
    argv = [*compiler.argv, *compiler.cflags, "-E", "-std=gnu11", "-x", "c"]
    for d in include_dirs:
        argv += ["-I", str(d)]
    argv += [f"-D{d}" for d in defines]
    paths = [str(p) for p in paths]
    if len(paths) == 1:
        argv.append(paths[0])
        stdin = None
    else:
        argv.append("-")
        stdin = "".join(f'#include "{Path(p).resolve()}"\n' for p in paths)
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, errors="replace", timeout=300, cwd=cwd)
    return (proc.stdout if proc.returncode == 0 else None), proc.stderr


def first_difference(expected: list, got: list) -> str:
    """Where two token streams part, with some context (for assertion messages)."""
    n = next((k for k, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
    return (f"token {n} of {len(expected)}/{len(got)}: compiler {expected[max(0, n - 6):n + 4]} "
            f"built-in {got[max(0, n - 6):n + 4]}")
