"""Per-arch preprocessing: the arch's compiler ``-E -dD``, or the built-in preprocessor
(``bitlayout.cfront.cpp``) fed the profile's predefined macros and the compiler's system include
directories.  ``-I``/``-D`` behave as on a compiler command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import CParseError, ToolchainError
from ..toolchains import define_flags, first_error
from .gc import no_gc
from .macros import LazyMacros, collect_macros


def predefined_macros(profile) -> dict[str, str]:
    """The macros the arch's compiler predefines, from the profile."""
    s = profile.scalars
    m = {
        "__CHAR_BIT__": "8",
        "__SIZEOF_SHORT__": str(s["short"].size_bytes),
        "__SIZEOF_INT__": str(s["int"].size_bytes),
        "__SIZEOF_LONG__": str(s["long"].size_bytes),
        "__SIZEOF_LONG_LONG__": str(s["long_long"].size_bytes),
        "__SIZEOF_POINTER__": str(s["pointer"].size_bytes),
        "__SIZEOF_FLOAT__": str(s["float"].size_bytes),
        "__SIZEOF_DOUBLE__": str(s["double"].size_bytes),
        "__SIZEOF_LONG_DOUBLE__": str(s["long_double"].size_bytes),
        "__SIZEOF_SIZE_T__": str(s["long"].size_bytes),
        "__ORDER_LITTLE_ENDIAN__": "1234",
        "__ORDER_BIG_ENDIAN__": "4321",
        "__ORDER_PDP_ENDIAN__": "3412",
        "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__" if profile.little_endian else "__ORDER_BIG_ENDIAN__",
        "__linux__": "1", "__linux": "1", "__unix__": "1", "__gnu_linux__": "1",
        "__GNUC__": "12", "__GNUC_MINOR__": "2", "__STDC__": "1", "__STDC_VERSION__": "201710L",
        "__ELF__": "1",
    }
    if "int128" in s:
        m["__SIZEOF_INT128__"] = "16"
    if profile.bits_per_long == 64:
        m["__LP64__"] = "1"
        m["_LP64"] = "1"
    else:
        m["_ILP32"] = "1"
        m["__ILP32__"] = "1"
    if not profile.char_signed:
        m["__CHAR_UNSIGNED__"] = "1"
    m.update(profile.predefined_macros)
    return m


def preprocess_for(paths: Iterable[str | Path], profile, include_dirs: Iterable[str] = (),
                   defines: Mapping[str, str] = {}, *, builtin: bool | None = None) -> tuple[str, str, LazyMacros]:
    """Preprocess ``paths`` (as one TU) for ``profile``; returns (text, how, macros).

    ``how`` is the compiler identity or ``"builtin"``; ``macros`` the object-like macros the
    input files define (name -> expanded body), for ``LayoutSet.macros``.  ``builtin=None`` uses
    the real compiler when one is installed, else the built-in preprocessor.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            raise CParseError(f"{p}: is a directory")
        if not p.is_file():
            raise CParseError(f"{p}: no such file")
    include_dirs = list(include_dirs)
    if builtin is not True:
        try:
            from ..backends.compiled import compiler_argv
            argv = compiler_argv(profile)
        except ToolchainError:
            if builtin is False:
                raise
            argv = None
        if argv is not None:
            text = _compiler_preprocess(argv, paths, include_dirs, defines)
            return text, " ".join(argv[:1]), collect_macros(text)
    return _builtin_preprocess(paths, profile, include_dirs, defines)


# The built-in preprocessor's output is a function of the files it read and of the predefined
# macros it looked up (defined or not): an arch that agrees on all of those gets the same text
# without running again (UAPI headers ask for ~6 of them, so 26 arches need ~5 runs).
_CPP_MEMO: dict = {}


def _builtin_preprocess(paths, profile, include_dirs, defines):
    from .cpp import Preprocessor

    predefined = {**predefined_macros(profile), **defines}
    key = (tuple(str(p.resolve()) for p in paths), tuple(str(Path(d).resolve()) for d in include_dirs))
    for env, files, text, macros in _CPP_MEMO.get(key, ()):
        if all(predefined.get(k) == v for k, v in env.items()) and _unchanged(files):
            return text, "builtin", macros
    pp = Preprocessor(include_dirs=include_dirs, defines=predefined)
    with no_gc():
        text = pp.run_files([str(p) for p in paths])
    macros = LazyMacros(pp, {name: "".join(m.body) for name, m in pp.macros.items()
                             if m.params is None and name not in predefined and m.body})
    env = {k: predefined.get(k) for k in pp.queried}
    memo = _CPP_MEMO.setdefault(key, [])
    memo.append((env, tuple(pp.files_read), text, macros))
    del memo[:-32]
    return text, "builtin", macros


def clear_caches() -> None:
    _CPP_MEMO.clear()


def _unchanged(files) -> bool:
    for path, mtime, size in files:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) != (mtime, size):
            return False
    return True


def _compiler_preprocess(argv, paths, include_dirs, defines) -> str:
    args = list(argv) + ["-E", "-dD", "-std=gnu11", "-x", "c"]
    for d in include_dirs:
        args += ["-I", str(d)]
    args += define_flags(defines)
    if len(paths) == 1:
        args.append(str(paths[0]))
        stdin = None
    else:
        args.append("-")
        stdin = "".join(f'#include "{p.resolve()}"\n' for p in paths)
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{argv[0]} -E timed out") from None
    except OSError as exc:
        raise ToolchainError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        raise CParseError(" ".join(first_error(proc.stderr).split()))
    return proc.stdout
