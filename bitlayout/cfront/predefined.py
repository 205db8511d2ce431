"""What a profile's compiler tells its preprocessor, measured and stored as data.

``arch_profiles/predefined/<profile>.<gcc|clang>.json`` holds, for the profile's reference
compiler (``[layout] compiler``) and for its ``[alternate]`` one:

- ``macros``: every predefined macro exactly as ``cc -dM -E -std=gnu11 -x c /dev/null`` prints
  it (with the profile's flags), ``"NAME"`` or ``"NAME(params)"`` -> replacement text;
- ``operators``: which of ``__has_include``, ``__has_attribute``, ``__has_builtin``,
  ``__has_feature``... the compiler defines;
- ``expands_operand``: whether it macro-expands an operator's operand (GCC does for all,
  clang not for ``__has_builtin``);
- ``answers``: operator -> operand -> what ``operator(operand)`` expands to (``"1"``,
  ``"201904"``...), or null where the compiler rejects it, for every operand written in the
  headers of the installed sysroots, ``/usr/include`` and this repository;
- ``builtin_macros``: macros the compiler defines without ``-dM`` listing them (clang's
  ``__FLT_EVAL_METHOD__``), with what they expand to;
- ``implicit_includes``: headers the compiler reads before the file (GCC: ``stdc-predef.h``);
- ``identity``: the compiler it was measured with (``toolchains.Compiler.identity``).

``python -m bitlayout.cfront.measure_predefined`` regenerates the files from the installed
compilers; ``tests/test_cfront_predefined.py`` checks them against every installed compiler.
Files are validated when loaded; an error names the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Mapping

from ..errors import ProfileError
from .ppmacro import OPERATORS, Macro, parse_define

SCHEMA = "bitlayout.predefined/1"
_MACRO_KEY_RE = re.compile(r"[A-Za-z_]\w*(\([^)]*\))?")
_ANSWER_RE = re.compile(r"[0-9]+[uUlL]*")
_FLAVORS = {"gcc": "gcc", "clang": "clang"}


class CompilerFacts:
    """One compiler's predefined macros and operator answers (immutable once loaded)."""

    __slots__ = ("path", "profile", "compiler", "identity", "flavor", "macros", "operators", "expands_operand",
                 "answers", "implicit_includes", "digest", "_objects", "_raw_keys", "_definitions")

    def __init__(self, path: str, data: Mapping, raw: bytes | None = None):
        """``raw``: the file's bytes, whose SHA-256 is the digest (else the sorted JSON's)."""
        self.path = path
        self.profile = data["profile"]
        self.compiler = data["compiler"]
        self.identity = data["identity"]
        self.flavor = _FLAVORS[self.compiler]
        self.macros: dict[str, str] = {}
        self._raw_keys: dict[str, str] = {}  # name -> "NAME body" / "NAME(params) body" as stored
        for key, body in [*data["macros"].items(), *data["builtin_macros"].items()]:
            name = key.split("(", 1)[0]
            self.macros[name] = body
            self._raw_keys[name] = f" {key} {body}"
        self.operators: tuple[str, ...] = tuple(data["operators"])
        self.expands_operand: dict[str, bool] = dict(data["expands_operand"])
        self.answers: dict[str, dict[str, str | None]] = {k: dict(v) for k, v in data["answers"].items()}
        self.implicit_includes: tuple[str, ...] = tuple(data["implicit_includes"])
        if raw is None:
            raw = json.dumps(data, sort_keys=True).encode()
        self.digest = hashlib.sha256(raw).hexdigest()
        self._objects = None
        self._definitions: dict[str, str] = {}

    def macro_objects(self) -> dict[str, Macro]:
        """name -> Macro, made once (Macro objects are immutable: every run shares them)."""
        if self._objects is None:
            objs = {}
            for line in self._raw_keys.values():
                m = parse_define(line, "<built-in>", 0)
                objs[m.name] = m
            self._objects = objs
        return self._objects

    def definition(self, name: str) -> str | None:
        """``NAME body`` / ``NAME(params) body`` of the predefined macro ``name``, None if the
        compiler does not predefine it.  Parsed one name at a time: a run reused from the cache
        asks for the few dozen it looked up, not the ~400 there are."""
        hit = self._definitions.get(name)
        if hit is None:
            if self._objects is not None:
                m = self._objects.get(name)
            else:
                line = self._raw_keys.get(name)
                m = None if line is None else parse_define(line, "<built-in>", 0)
            if m is None:
                return None
            hit = self._definitions[name] = m.definition
        return hit

    def definitions(self) -> dict[str, str]:
        """name -> ``NAME body`` / ``NAME(params) body`` of every predefined macro."""
        return {name: self.definition(name) for name in self._raw_keys}


def data_dir(profile) -> Path:
    """Where a profile's predefined-macro files are: ``predefined/`` next to its TOML."""
    from ..profiles import default_profile_dir

    base = Path(profile.path).parent if getattr(profile, "path", "") else default_profile_dir()
    return base / "predefined"


def facts_path(profile, compiler: str | None = None) -> Path:
    return data_dir(profile) / f"{profile.name}.{compiler or profile.compiler}.json"


_LOADED: dict[tuple[str, int, int], CompilerFacts] = {}


def load_facts(profile, compiler: str | None = None) -> CompilerFacts | None:
    """The facts of ``profile``'s compiler (its reference one unless ``compiler`` names the
    other), or None when the file does not exist.  ProfileError for a broken file."""
    path = facts_path(profile, compiler)
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _LOADED.get(key)
    if hit is not None:
        return hit
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise ProfileError(f"cannot read: {exc}", path=str(path)) from None
    validate(data, str(path), profile.name, compiler or profile.compiler)
    facts = CompilerFacts(str(path), data, raw)
    _LOADED[key] = facts
    return facts


def validate(data, path: str, profile_name: str | None = None, compiler: str | None = None) -> None:
    """ProfileError naming the file and the key for anything out of shape."""
    def fail(key, msg):
        raise ProfileError(msg, path=path, key=key)

    if not isinstance(data, dict):
        fail(None, "not a JSON object")
    if data.get("schema") != SCHEMA:
        fail("schema", f"expected {SCHEMA!r}, got {data.get('schema')!r}")
    for key in ("profile", "compiler", "identity"):
        if not isinstance(data.get(key), str) or not data.get(key):
            fail(key, "missing or not a string")
    if profile_name is not None and data["profile"] != profile_name:
        fail("profile", f"{data['profile']!r} does not match the file name ({profile_name!r})")
    if data["compiler"] not in _FLAVORS:
        fail("compiler", f"expected gcc or clang, got {data['compiler']!r}")
    if compiler is not None and data["compiler"] != compiler:
        fail("compiler", f"{data['compiler']!r} does not match the file name ({compiler!r})")
    macros = data.get("macros")
    if not isinstance(macros, dict) or not macros:
        fail("macros", "missing or empty")
    builtins = data.get("builtin_macros")
    if not isinstance(builtins, dict):
        fail("builtin_macros", "missing or not an object")
    for table, entries in (("macros", macros), ("builtin_macros", builtins)):
        for key, body in entries.items():
            if not _MACRO_KEY_RE.fullmatch(key):
                fail(f"{table}.{key}", "not a macro name (NAME or NAME(params))")
            if not isinstance(body, str) or "\n" in body:
                fail(f"{table}.{key}", "replacement must be a one-line string")
    ops = data.get("operators")
    if not isinstance(ops, list) or any(op not in OPERATORS for op in ops):
        bad = [op for op in ops or () if op not in OPERATORS] if isinstance(ops, list) else ops
        fail("operators", f"unknown operator(s): {bad!r}")
    exp = data.get("expands_operand")
    if not isinstance(exp, dict) or any(k not in ops or not isinstance(v, bool) for k, v in exp.items()):
        fail("expands_operand", "must map operators listed in 'operators' to true/false")
    answers = data.get("answers")
    if not isinstance(answers, dict):
        fail("answers", "missing or not an object")
    for op, table in answers.items():
        if op not in ops:
            fail(f"answers.{op}", "operator not listed in 'operators'")
        if not isinstance(table, dict):
            fail(f"answers.{op}", "must map operands to answers")
        for operand, value in table.items():
            if value is not None and not (isinstance(value, str) and _ANSWER_RE.fullmatch(value)):
                fail(f"answers.{op}.{operand}", f"answer must be an integer literal or null, got {value!r}")
    inc = data.get("implicit_includes")
    if not isinstance(inc, list) or any(not isinstance(x, str) or not x for x in inc):
        fail("implicit_includes", "must be a list of header names")
