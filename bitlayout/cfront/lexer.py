"""Tokens of preprocessed C, produced on demand.

The parser asks for one token at a time (``Lexer.next``) and can jump over a function body or
an initializer without tokenizing it (``Lexer.skip_balanced``): a kernel translation unit is
mostly the bodies of ~4,000 static inline functions, which never change a layout.

Positions are byte offsets into the text; ``Lexer.where(offset)`` turns one into
``file:line:col`` from the ``# N "file"`` line markers only when a message or a type needs it.

Directive lines that survive preprocessing are handled here: line markers and ``#define`` /
``#undef`` (``-dD`` output) are skipped, ``#pragma`` lines become one ``pragma`` token, anything
else is an error.
"""

from __future__ import annotations

import bisect
import re

from ..errors import CParseError

# kinds
ID, NUM, CHAR, STR, PUNCT, PRAGMA, EOF = "id", "num", "char", "str", "punct", "pragma", "eof"

_SKIP = r"(?:[ \t\r\f\v\n]+|/\*.*?\*/|//[^\n]*)*"
_TOKEN_RE = re.compile(
    _SKIP + r"""(?:
      (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<num>\.?[0-9](?:[eEpP][+-]|[0-9a-zA-Z_.])*)
    | (?P<str>(?:u8|[LuU])?"(?:\\.|[^"\\\n])*")
    | (?P<char>(?:[LuU]|u8)?'(?:\\.|[^'\\\n])*')
    | (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|<:|:>|<%|%>|[][(){};:,.?~!%&*+\-/<=>^|@])
    | (?P<directive>\#[^\n]*)
    | (?P<eof>\Z)
    | (?P<bad>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
_DIGRAPHS = {"<:": "[", ":>": "]", "<%": "{", "%>": "}"}

# What a balanced skip has to see: brackets, and what may hide one (strings, comments, directives).
_SKIP_RE = re.compile(r"""[][(){}]|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|/\*.*?\*/|//[^\n]*|(?m:^)[ \t]*\#[^\n]*""",
                      re.DOTALL)
_PAIRS = {"(": ")", "[": "]", "{": "}"}

_MARKER_RE = re.compile(r'[ \t]*#[ \t]*(?:line[ \t]+)?(\d+)(?:[ \t]+"((?:\\.|[^"\\])*)")?')
_DIRECTIVE_RE = re.compile(r"[ \t]*#[ \t]*(\w*)")
_ALL_MARKERS_RE = re.compile(r'^[ \t]*#[ \t]*(?:line[ \t]+)?(\d+)(?:[ \t]+"((?:\\.|[^"\\])*)")?((?:[ \t]+\d+)*)[^\n]*\n?',
                             re.M)


class Token:
    """One token: kind, text and the offset where it starts."""

    __slots__ = ("kind", "text", "offset")

    def __init__(self, kind: str, text: str, offset: int):
        self.kind = kind
        self.text = text
        self.offset = offset

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r}, @{self.offset})"


class Lexer:
    """On-demand tokens of one preprocessed text (``filename`` names it before any marker)."""

    def __init__(self, text: str, filename: str = "<input>"):
        self.text = text
        self.filename = filename
        self.pos = 0
        self._markers: list[tuple[int, str, int]] | None = None  # (offset after the marker line, file, line)
        self._marker_offsets: list[int] = []
        self._last_position = (-1, 0, 0)  # (marker offset, offset, its line): see ``position``
        self.lookahead: list[Token] = []

    # -- tokens -----------------------------------------------------------------------
    def next(self) -> Token:
        if self.lookahead:
            return self.lookahead.pop()
        return self._scan()

    def peek(self, k: int = 0) -> Token:
        """The token k places ahead (0: the next one), without consuming it."""
        la = self.lookahead
        if k < len(la):
            return la[-1 - k]
        while len(la) <= k:
            la.insert(0, self._scan())
        return la[-1 - k]

    def push_back(self, tok: Token) -> None:
        self.lookahead.append(tok)

    def _scan(self) -> Token:
        text = self.text
        while True:
            m = _TOKEN_RE.match(text, self.pos)
            kind = m.lastgroup
            start = m.start(kind)
            self.pos = m.end()
            if kind == "directive":
                line_start = text.rfind("\n", 0, start) + 1
                if text[line_start:start].strip():
                    # a `#` inside a line (a macro expanding to one) is no directive: a stray token
                    raise CParseError(f"{self.where(start)}: stray '#' in program")
                tok = self._directive(m.group(kind), start)
                if tok is None:
                    continue
                return tok
            if kind == "eof":
                return Token(EOF, "", start)
            if kind == "bad":
                raise CParseError(f"{self.where(start)}: stray {m.group(kind)!r} in program")
            t = m.group(kind)
            if kind == "punct" and t in _DIGRAPHS:
                t = _DIGRAPHS[t]
            return Token(kind, t, start)

    def _directive(self, line: str, start: int) -> Token | None:
        m = _DIRECTIVE_RE.match(line)
        name = m.group(1)
        if name.isdigit() or name == "line" or name in ("define", "undef", "") or name.startswith("ident"):
            return None  # line markers (read lazily by where()), -dD macro lines, `#`, #ident
        if name == "pragma":
            return Token(PRAGMA, line[m.end():].strip(), start)
        raise CParseError(f"{self.where(start)}: unexpected directive {line.strip()!r} after preprocessing")

    # -- skipping ---------------------------------------------------------------------
    def skip_balanced(self, opener: Token) -> Token:
        """Jump past the bracket group that ``opener`` (already consumed) opens; returns the
        closing token.  Nothing inside is tokenized (strings and comments are respected)."""
        stack = [_PAIRS[opener.text]]
        while self.lookahead:  # tokens already peeked at come first
            tok = self.lookahead.pop()
            if tok.kind == PUNCT and tok.text in _PAIRS:
                stack.append(_PAIRS[tok.text])
            elif tok.kind == PUNCT and tok.text in ")]}":
                if tok.text != stack[-1]:
                    raise CParseError(f"{self.where(tok.offset)}: expected {stack[-1]!r} before {tok.text!r}")
                stack.pop()
                if not stack:
                    return tok
            elif tok.kind == EOF:
                raise CParseError(f"{self.where(opener.offset)}: {opener.text!r} is never closed")
        text = self.text
        for m in _SKIP_RE.finditer(text, self.pos):
            c = m.group()
            if c in "([{":
                stack.append(_PAIRS[c])
            elif c in ")]}":
                if c != stack[-1]:
                    raise CParseError(f"{self.where(m.start())}: expected {stack[-1]!r} before {c!r}")
                stack.pop()
                if not stack:
                    self.pos = m.end()
                    return Token(PUNCT, c, m.start())
        raise CParseError(f"{self.where(opener.offset)}: {opener.text!r} is never closed")

    # -- positions --------------------------------------------------------------------
    def _read_markers(self) -> None:
        """Every line marker as (offset after it, presumed file, line, physical file).

        The presumed file is what GCC names in diagnostics (``#line 100 "foo.c"`` renames it);
        the physical file is the one the text really comes from: it changes only when a file is
        entered (flag 1) or returned to (flag 2), or at the top level's pseudo files
        (``<built-in>``, ``<command-line>``).  ``file_of`` answers the physical one, so a
        ``#line`` in a header does not move its types out of that header."""
        markers = []
        presumed = physical = self.filename
        for m in _ALL_MARKERS_RE.finditer(self.text):
            name, flags = m.group(2), m.group(3).split()
            if name is not None:
                if "1" in flags or "2" in flags or physical.startswith("<") or name.startswith("<") \
                        or name == self.filename:
                    physical = name
                presumed = name
            markers.append((m.end(), presumed, int(m.group(1)), physical))
        self._markers = markers
        self._marker_offsets = [e for e, *_rest in markers]

    def _marker_at(self, offset: int):
        if self._markers is None:
            self._read_markers()
        k = bisect.bisect_right(self._marker_offsets, offset) - 1
        return (0, self.filename, 1, self.filename) if k < 0 else self._markers[k]

    def where(self, offset: int) -> str:
        """``file:line:col`` of an offset (from the line markers before it)."""
        file, line, col, _physical = self.position(offset)
        return f"{file}:{line}:{col}"

    def position(self, offset: int) -> tuple[str, int, int, str]:
        """(presumed file, line, column, physical file) of an offset."""
        base, file, line, physical = self._marker_at(offset)
        # Lines are counted from the last position asked for when it is after the same marker
        # (the parser asks in text order): a long header between two markers is counted once.
        last_base, last_offset, last_line = self._last_position
        if last_base == base and last_offset <= offset:
            line = last_line + self.text.count("\n", last_offset, offset)
        else:
            line += self.text.count("\n", base, offset)
        self._last_position = (base, offset, line)
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return file, line, col, physical

    def file_of(self, offset: int) -> str:
        """The file the text at ``offset`` physically comes from (see ``_read_markers``)."""
        return self._marker_at(offset)[3]
