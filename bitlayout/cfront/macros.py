"""The object-like macros a header defines, as the layout engine reads them (``LayoutSet.macros``,
``LayoutSet.eval``): names with fully expanded bodies, expanded on first use."""

from __future__ import annotations

import functools
import re
from collections import abc
from typing import Iterable

_DEFINE_RE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*)(?!\()\s*(.*)")
_FUNC_DEFINE_RE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*\([^)]*\).*)")
_UNDEF_RE = re.compile(r"\s*#\s*undef\s+(\w+)")
_MARKER_RE = re.compile(r'\s*#\s*(?:line\s+)?\d+\s+"((?:\\.|[^"\\])*)"')


def from_input_file(file: str) -> bool:
    """Whether a macro defined in ``file`` counts as the input's: not ``<built-in>`` nor
    ``<command-line>``, nor the stdc-predef.h GCC includes implicitly."""
    return not file.startswith("<") and not file.endswith("stdc-predef.h")


_DIRECTIVE_LINE_RE = re.compile(r"^[ \t\f\v]*#[^\n]*", re.M)


def collect_macros(text: str) -> "LazyMacros":
    """Object-like ``#define``s left in ``-dD`` output from real files (the inputs and what they
    include; not the compiler's predefined ones), bodies fully expanded.  The expander that
    holds every macro is built only when a body is first asked for: parsing a kernel TU's 12,000
    definitions took 0.15-0.2 s per arch, and a layout usually asks for none."""
    cur = None
    out: dict[str, str] = {}
    steps: list[tuple[str, str, str]] = []  # ("define", text, file) / ("undef", name, ""), in order
    for found in _DIRECTIVE_LINE_RE.finditer(text):
        line = found.group().rstrip("\r")
        m = _MARKER_RE.match(line)
        if m:
            cur = m.group(1)
            continue
        m = _DEFINE_RE.match(line)
        if m:
            steps.append(("define", line.split("define", 1)[1], cur or "<-dD>"))
            if cur is not None and from_input_file(cur):
                body = m.group(2).strip()
                if body:
                    out[m.group(1)] = body
            continue
        m = _FUNC_DEFINE_RE.match(line)
        if m:
            steps.append(("define", m.group(1), cur or "<-dD>"))
            out.pop(m.group(1).split("(", 1)[0], None)
            continue
        m = _UNDEF_RE.match(line)
        if m:
            out.pop(m.group(1), None)
            steps.append(("undef", m.group(1), ""))
    return LazyMacros(functools.partial(_expander, steps), out)


def _expander(steps: list[tuple[str, str, str]]):
    """A preprocessor holding the macros ``steps`` define, as the text defined them."""
    from .cpp import Preprocessor

    pp = Preprocessor()
    for kind, arg, file in steps:
        if kind == "define":
            pp.define_text(arg, file)
        else:
            pp.undefine(arg)
    return pp


class LazyMacros(abc.Mapping):
    """name -> fully expanded body of the object-like macros the input files define (``names``),
    expanded on first lookup (UAPI headers define thousands and a LayoutSet reads a handful).

    ``expander``: an object with ``expand_text(text)`` holding every macro of the translation
    unit (the arch's predefined ones included), or a function that makes one when first needed.
    One instance belongs to one arch: expansions use that arch's predefined macros."""

    def __init__(self, expander, names: Iterable[str]):
        self._expander = expander
        self._names = dict.fromkeys(names)
        self._done: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        hit = self._done.get(name)
        if hit is None:
            if name not in self._names:
                raise KeyError(name)
            hit = self._done[name] = self.expand(name).strip()
        return hit

    def expand(self, text: str) -> str:
        """``text`` macro-expanded with every macro the translation unit defined."""
        if not hasattr(self._expander, "expand_text"):
            self._expander = self._expander()
        return self._expander.expand_text(text)

    def __contains__(self, name) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
