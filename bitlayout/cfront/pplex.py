"""Preprocessing tokens, and a source file cut into logical lines (C11 5.1.1.2 phases 1-3).

A file is read once per process and version (path, mtime, size) into ``SourceFile``: its logical
lines (backslash-newlines spliced, comments replaced), each classified as blank, text or a
directive, and for text lines the identifiers they contain, so that the preprocessor can pass a
line with no macro in it through untouched (it keeps its columns) without tokenizing it.

Comments become spaces; a block comment that spans lines keeps its newlines inside the logical
line (they are whitespace to the tokenizer), so a line passed through keeps every token on its
true line and column.  Only a backslash-newline moves text: a spliced line is emitted on its
first line, and empty lines follow so the next line is in place again.
"""

from __future__ import annotations

import os
import re
import stat

from ..errors import CParseError

# token kinds
ID, NUM, CHAR, STR, PUNCT, OTHER, PAD, EOF = range(8)

# token flags
NO_EXPAND = 1    # "painted blue": an identifier met while its macro was being expanded
PASTE_LEFT = 2   # in a macro body: the left operand of ##
STRINGIFY = 4    # in a macro body: a parameter operated on by #

_WS = " \t\f\v\r\n"
_ID_CHARS = r"A-Za-z0-9_$\x80-\U0010ffff"
_PUNCTUATORS = (r"%:%:|\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|[-+*/%&|^!=<>]=|&&|\|\||##|<:|:>|<%|%>|%:"
                r"|[][(){}.&*+\-~!/%<>^|?:;=,#]")
# One pp-token with the whitespace before it.  Encoding prefixes are tried before identifiers
# (L"x" is one token); u8'x' is not a character constant before C2x (GCC and clang, gnu11).
_TOKEN_RE = re.compile(
    r"([ \t\f\v\r\n]*)(?:"
    r'((?:u8|[LuU])?"(?:\\.|[^"\\\n])*")'             # 2 string literal
    r"|([LuU]?'(?:\\.|[^'\\\n])*')"                    # 3 character constant
    rf"|(\.?[0-9](?:[eEpP][+-]|[{_ID_CHARS}.])*)"      # 4 pp-number
    rf"|([A-Za-z_$\x80-\U0010ffff][{_ID_CHARS}]*)"     # 5 identifier
    rf"|({_PUNCTUATORS})"                               # 6 punctuator
    r"|((?:u8|[LuU])?[\"'][^\n]*)"                     # 7 unterminated literal: the rest of the line
    r"|([^ \t\f\v\r\n]))")                               # 8 any other character
_KIND_OF_GROUP = {2: STR, 3: CHAR, 4: NUM, 5: ID, 6: PUNCT, 7: OTHER, 8: OTHER}

# Identifiers of a text line (literals and pp-numbers are matched first so that what they
# contain is not taken for one): group 1 is empty for everything else.
_IDS_RE = re.compile(
    r'(?:u8|[LuU])?"(?:\\.|[^"\\\n])*"?|[LuU]?\'(?:\\.|[^\'\\\n])*\'?'
    rf"|\.?[0-9](?:[eEpP][+-]|[{_ID_CHARS}.])*|([A-Za-z_$\x80-\U0010ffff][{_ID_CHARS}]*)")
_SPLICE_RE = re.compile(r"\\[ \t\f\v]*\n")
# comments, and the literals inside which comment openers are text
_COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"?|\'(?:\\.|[^\'\\\n])*\'?|/\*.*', re.S)
_DIRECTIVE_RE = re.compile(r"[ \t\f\v\r\n]*(?:#|%:)[ \t\f\v\r\n]*([A-Za-z_$][\w$]*|[0-9]\S*)?")


class Tok:
    """One preprocessing token.  ``white``: whitespace before it; ``line``: its physical line in
    its file (0 for tokens of a macro body); ``src``: for PAD tokens, the token whose spacing the
    padding stands for (GCC's padding tokens: they decide spacing in ``#`` stringification);
    ``arg``: for a macro body, the parameter index it stands for (-1: none)."""

    __slots__ = ("kind", "text", "white", "flags", "line", "src", "arg")

    def __init__(self, kind: int, text: str, white: bool = False, flags: int = 0, line: int = 0,
                 src: "Tok | None" = None, arg: int = -1):
        self.kind = kind
        self.text = text
        self.white = white
        self.flags = flags
        self.line = line
        self.src = src
        self.arg = arg

    def copy(self, **changes) -> "Tok":
        t = Tok(self.kind, self.text, self.white, self.flags, self.line, self.src, self.arg)
        for k, v in changes.items():
            setattr(t, k, v)
        return t

    def __repr__(self) -> str:
        return f"Tok({self.kind}, {self.text!r}{', white' if self.white else ''})"


def tokenize(text: str, line: int = 0, first_white: bool = False) -> list[Tok]:
    """The pp-tokens of ``text`` (one logical line); ``line``: the physical line it starts on
    (each token gets its own line from the newlines of comments before it)."""
    out = []
    nl = "\n" in text
    for m in _TOKEN_RE.finditer(text):
        k = m.lastindex
        if k == 1:  # trailing whitespace only
            break
        ws = m.group(1)
        tline = line + text.count("\n", 0, m.start(k)) if nl and line else line
        out.append(Tok(_KIND_OF_GROUP[k], m.group(k), bool(ws), 0, tline))
    if out and first_white:
        out[0].white = True
    return out


def identifiers(text: str) -> tuple[str, ...]:
    """The distinct identifiers of a text line (a tuple: smaller than a set, and the
    preprocessor only iterates over it)."""
    found = set(_IDS_RE.findall(text))
    found.discard("")
    return tuple(found)


def spell(tokens) -> str:
    """Tokens as text: one space where the source had whitespace."""
    parts = []
    for t in tokens:
        if t.kind == PAD:
            continue
        if t.white and parts:
            parts.append(" ")
        parts.append(t.text)
    return "".join(parts)


# -- source files -------------------------------------------------------------------------------

BLANK, TEXT, DIRECTIVE = 0, 1, 2


class Line:
    """One logical line: its first physical line, the number of physical lines it spans, its
    kind and what the preprocessor needs of it (``ids`` for text, ``name``/``rest`` for a
    directive: ``rest`` is the text after the name)."""

    __slots__ = ("lineno", "nphys", "kind", "text", "ids", "name", "rest", "tail", "macro", "_tokens")

    def __init__(self, lineno, nphys, kind, text, ids=(), name="", rest=""):
        self.lineno = lineno
        self.nphys = nphys
        self.kind = kind
        self.text = text
        self.ids = ids
        self.name = name
        self.rest = rest
        self.macro = None  # a #define line's Macro, made once per file version
        self._tokens = None
        # a text line without macros is emitted as its text and this many newlines (its comments
        # keep theirs inside the text)
        self.tail = nphys - text.count("\n") if kind == TEXT else nphys


    @property
    def tokens(self) -> list[Tok]:
        """The line's tokens (a directive's: those after its name), made once per file version;
        shared by every run, so never changed (the expander copies a token it alters)."""
        if self._tokens is None:
            self._tokens = tokenize(self.text, self.lineno) if self.kind == TEXT else tokenize(self.rest)
        return self._tokens


class SourceFile:
    """A file as logical lines, with its include guard (``guard``: the macro X when every line
    outside one ``#ifndef X`` ... ``#endif`` group is blank and the group has no ``#else`` or
    ``#elif`` of its own: GCC's multiple-include optimisation skips such a file once X is
    defined), and the number of physical lines."""

    __slots__ = ("path", "lines", "guard", "nphys", "stamp")

    def __init__(self, path, lines, stamp):
        self.path = path
        self.lines = lines
        self.stamp = stamp
        self.nphys = sum(ln.nphys for ln in lines)
        self.guard = include_guard(lines)


_FILES: dict[str, SourceFile] = {}


def clear_caches() -> None:
    _FILES.clear()


def file_stamp(path: str) -> tuple[int, int, int, int] | None:
    """(device, inode, mtime_ns, size) of a regular file, or None when there is none."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def read_source(path: str, stamp=None) -> SourceFile:
    """The logical lines of a file, memoised per process on its path and stamp."""
    if stamp is None:
        stamp = file_stamp(path)
        if stamp is None:
            raise CParseError(f"{path}: cannot read: No such file or directory")
    hit = _FILES.get(path)
    if hit is not None and hit.stamp == stamp:
        return hit
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CParseError(f"{path}: cannot read: {exc.strerror}") from None
    sf = SourceFile(path, split_lines(data.decode("utf-8", errors="replace")), stamp)
    if len(_FILES) > 8192:
        _FILES.clear()
    _FILES[path] = sf
    return sf


def _blank_comment(m: re.Match) -> str:
    s = m.group()
    if s[0] in "\"'" or s[:2] not in ("/*", "//"):
        return s
    if s.startswith("//"):
        return ""
    # keep the comment's newlines (and so every later token's line); \0 marks them as inside
    # the logical line, and spaces keep the columns of what follows on its last line
    if "\n" not in s:
        return " " * len(s)
    last = s.rsplit("\n", 1)[1]
    return "\0" * s.count("\n") + " " * len(last)


def split_lines(text: str) -> list[Line]:
    """Translation phases 1-3 on a whole file: logical lines."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if "\0" in text:
        text = text.replace("\0", " ")  # GCC: null characters are ignored (whitespace)
    splice_lines: list[int] = []  # for each backslash-newline, the line (counted without them) it ends
    if "\\" in text and _SPLICE_RE.search(text):
        parts = _SPLICE_RE.split(text)
        nl = 0
        for p in parts[:-1]:
            nl += p.count("\n")
            splice_lines.append(nl)
        text = "".join(parts)
    if "/" in text:
        text = _COMMENT_RE.sub(_blank_comment, text)
    segments = text.split("\n")
    if segments and segments[-1] == "":
        segments.pop()
    lines: list[Line] = []
    lineno = 1
    spliced_line = 0  # index of the segment's first line in the spliced text
    k = 0
    for seg in segments:
        inner = seg.count("\0") if "\0" in seg else 0
        if inner:
            seg = seg.replace("\0", "\n")
        nsplice = 0
        while k < len(splice_lines) and splice_lines[k] <= spliced_line + inner:
            nsplice += 1
            k += 1
        nphys = 1 + inner + nsplice
        lines.append(_classify(seg, lineno, nphys))
        lineno += nphys
        spliced_line += inner + 1
    return lines


def _classify(text: str, lineno: int, nphys: int) -> Line:
    stripped = text.lstrip(_WS)
    if not stripped:
        return Line(lineno, nphys, BLANK, "")
    if stripped[0] == "#" or stripped.startswith("%:"):
        m = _DIRECTIVE_RE.match(text)
        name = m.group(1) or ""
        if name[:1].isdigit():  # `# 33 "file"`: a line marker, read as #line
            return Line(lineno, nphys, DIRECTIVE, text, name="<linemarker>", rest=text[m.start(1):])
        return Line(lineno, nphys, DIRECTIVE, text, name=name, rest=text[m.end():])
    return Line(lineno, nphys, TEXT, text, identifiers(text))


_CONDITIONALS = {"if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif"}


def include_guard(lines: list[Line]) -> str | None:
    first = next((k for k, ln in enumerate(lines) if ln.kind != BLANK), None)
    if first is None or lines[first].kind != DIRECTIVE or lines[first].name != "ifndef":
        return None
    words = lines[first].rest.split()
    if not words or not re.fullmatch(r"[A-Za-z_$][\w$]*", words[0]):
        return None
    depth = 0
    for k in range(first, len(lines)):
        ln = lines[k]
        if ln.kind != DIRECTIVE or ln.name not in _CONDITIONALS:
            continue
        d = ln.name
        if d in ("if", "ifdef", "ifndef"):
            depth += 1
        elif d in ("else", "elif", "elifdef", "elifndef") and depth == 1:
            return None
        elif d == "endif":
            depth -= 1
            if depth == 0:
                if any(x.kind != BLANK for x in lines[k + 1:]):
                    return None
                return words[0]
    return None
