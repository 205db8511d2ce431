"""The object-like macros a header defines, as the layout engine reads them (``LayoutSet.macros``,
``LayoutSet.eval``): names with fully expanded bodies, expanded on first use."""

from __future__ import annotations

import re
from collections import abc
from typing import Mapping

_DEFINE_RE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*)(?!\()\s*(.*)")
_FUNC_DEFINE_RE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*\([^)]*\).*)")
_UNDEF_RE = re.compile(r"\s*#\s*undef\s+(\w+)")
_MARKER_RE = re.compile(r'\s*#\s*(?:line\s+)?\d+\s+"((?:\\.|[^"\\])*)"')


def collect_macros(text: str) -> "LazyMacros":
    """Object-like ``#define``s left in ``-dD`` output from real files (the inputs and what they
    include; not the compiler's predefined ones), bodies fully expanded."""
    from .cpp import Preprocessor

    cur = None
    out: dict[str, str] = {}
    pp = Preprocessor()
    for line in text.splitlines():
        if not line.lstrip().startswith("#"):
            continue
        m = _MARKER_RE.match(line)
        if m:
            cur = m.group(1)
            continue
        m = _DEFINE_RE.match(line)
        if m:
            pp.define_text(line.split("define", 1)[1], "<-dD>")
            # not <built-in>/<command-line>, nor the stdc-predef.h GCC includes implicitly
            if cur is not None and not cur.startswith("<") and not cur.endswith("stdc-predef.h"):
                body = m.group(2).strip()
                if body:
                    out[m.group(1)] = body
            continue
        m = _FUNC_DEFINE_RE.match(line)
        if m:
            pp.define_text(m.group(1), "<-dD>")
            out.pop(m.group(1).split("(", 1)[0], None)
            continue
        m = _UNDEF_RE.match(line)
        if m:
            out.pop(m.group(1), None)
            pp.macros.pop(m.group(1), None)
    return LazyMacros(pp, out)


class LazyMacros(abc.Mapping):
    """name -> fully expanded body of the object-like macros the input files define, expanded on
    first lookup (UAPI headers define thousands and a LayoutSet reads a handful)."""

    def __init__(self, pp, bodies: Mapping[str, str]):
        self._pp = pp
        self._bodies = dict(bodies)
        self._done: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        hit = self._done.get(name)
        if hit is None:
            body = self._bodies[name]  # KeyError for a name that is not a macro
            hit = self._done[name] = self.expand(name).strip()
        return hit

    def expand(self, text: str) -> str:
        """``text`` macro-expanded with every macro the translation unit defined."""
        return self._pp.expand_text(text)

    def __contains__(self, name) -> bool:
        return name in self._bodies

    def __iter__(self):
        return iter(self._bodies)

    def __len__(self) -> int:
        return len(self._bodies)
