"""Macro definitions: ``#define`` parsed as GCC's cpplib does (``macro.cc``
``create_iso_definition``), with its errors, and the built-in macros whose value the
preprocessor computes (``__LINE__``, ``_Pragma``, ``__has_include``...).

A body is kept as text and turned into tokens on first use (a header set defines thousands of
macros and expands a few hundred); bodies with ``#`` or ``##`` are checked at once, because
misusing them is an error where the macro is defined.  ``Macro`` objects never change after
creation, so one object serves every preprocessor run that reads the same file.
"""

from __future__ import annotations

import re

from ..errors import CParseError
from .pplex import CHAR, ID, PAD, PASTE_LEFT, PUNCT, STR, STRINGIFY, Tok, tokenize

_NAME_RE = re.compile(r"[ \t\f\v\r\n]*([A-Za-z_$\x80-\U0010ffff][\w$\x80-\U0010ffff]*)")
_HASH = ("#", "%:")
_PASTE = ("##", "%:%:")


class Macro:
    """A user macro.  ``params`` is None for an object-like macro, else the parameter names
    (the variadic one last, ``__VA_ARGS__`` unless named as in ``args...``); ``file`` and
    ``line`` say where it was defined (``<built-in>``, ``<command-line>`` or a path)."""

    __slots__ = ("name", "params", "variadic", "text", "file", "line", "_body", "_definition")

    def __init__(self, name: str, params: tuple[str, ...] | None, variadic: bool, text: str, file: str,
                 line: int = 0):
        self.name = name
        self.params = params
        self.variadic = variadic
        self.text = text
        self.file = file
        self.line = line
        self._body: list[Tok] | None = None
        self._definition: str | None = None

    @property
    def body(self) -> list[Tok]:
        """The replacement list: parameters as tokens with ``arg`` set, ``#`` and ``##`` folded
        into STRINGIFY / PASTE_LEFT flags of their operands."""
        if self._body is None:
            self._body = _compile_body(self, f"{self.file}:{self.line}")
        return self._body

    @property
    def definition(self) -> str:
        """The definition as ``-dM`` prints it (what two arches must agree on to share a run)."""
        if self._definition is None:
            head = self.name if self.params is None else f"{self.name}({','.join(self._param_spelling())})"
            self._definition = f"{head} {self.text.strip()}"
        return self._definition

    def _param_spelling(self):
        for k, p in enumerate(self.params or ()):
            if self.variadic and k == len(self.params) - 1:
                yield "..." if p == "__VA_ARGS__" else p + "..."
            else:
                yield p


class Builtin:
    """A macro the preprocessor computes: ``kind`` is its name (``__LINE__``, ``_Pragma``,
    ``__has_attribute``...) or ``poisoned`` for a ``#pragma GCC poison`` name."""

    __slots__ = ("name", "kind")
    params = None

    def __init__(self, name: str, kind: str | None = None):
        self.name = name
        self.kind = kind or name

    @property
    def definition(self) -> str:
        return f"<builtin {self.kind}>"


DYNAMIC = ("__FILE__", "__LINE__", "__COUNTER__", "__INCLUDE_LEVEL__", "__BASE_FILE__", "__FILE_NAME__",
           "__DATE__", "__TIME__", "__TIMESTAMP__", "_Pragma")
# operators taking an include operand or a name; which exist depends on the compiler (data)
OPERATORS = ("__has_include", "__has_include_next", "__has_attribute", "__has_c_attribute", "__has_cpp_attribute",
             "__has_builtin", "__has_feature", "__has_extension", "__has_warning", "__has_declspec_attribute",
             "__is_identifier", "__has_embed", "__is_target_arch", "__is_target_vendor", "__is_target_os",
             "__is_target_environment", "__is_target_variant_os", "__is_target_variant_environment",
             "__building_module", "__has_constexpr_builtin")


def parse_define(rest: str, file: str, line: int) -> Macro:
    """A ``#define`` directive's text after the directive name -> Macro (CParseError as GCC
    rejects it)."""
    where = f"{file}:{line}"
    m = _NAME_RE.match(rest)
    if not m:
        raise CParseError(f"{where}: macro names must be identifiers" if rest.strip()
                          else f"{where}: no macro name given in #define directive")
    name = m.group(1)
    if name == "defined":
        raise CParseError(f'{where}: "defined" cannot be used as a macro name')
    pos = m.end()
    if rest[pos:pos + 1] != "(":
        macro = Macro(name, None, False, rest[pos:], file, line)
    else:
        params, variadic, pos = _parse_params(rest, pos + 1, where)
        macro = Macro(name, params, variadic, rest[pos:], file, line)
    if "#" in macro.text or "%:" in macro.text:
        macro.body  # misplaced # and ## are errors at the definition
    return macro


def _parse_params(rest: str, pos: int, where: str) -> tuple[tuple[str, ...], bool, int]:
    close = rest.find(")", pos)
    if close < 0:
        raise CParseError(f"{where}: missing ')' in macro parameter list")
    inner = rest[pos:close].replace("\n", " ")
    params: list[str] = []
    variadic = False
    items = inner.split(",")
    if len(items) == 1 and not items[0].strip():
        return (), False, close + 1
    for k, item in enumerate(items):
        item = item.strip(" \t\f\v\r")
        if variadic:
            raise CParseError(f"{where}: missing ')' in macro parameter list")
        if item == "...":
            params.append("__VA_ARGS__")
            variadic = True
        elif item.endswith("..."):
            pname = item[:-3].rstrip()
            if not re.fullmatch(r"[A-Za-z_$][\w$]*", pname):
                raise CParseError(f"{where}: expected parameter name, found \"{item}\"")
            params.append(pname)
            variadic = True
        elif re.fullmatch(r"[A-Za-z_$][\w$]*", item):
            if item == "__VA_ARGS__":
                raise CParseError(f"{where}: __VA_ARGS__ can not be used as a parameter name")
            if item in params:
                raise CParseError(f'{where}: duplicate macro parameter "{item}"')
            params.append(item)
        else:
            found = item.split()[0] if item.split() else ("," if k < len(items) - 1 else ")")
            raise CParseError(f'{where}: expected parameter name, found "{found}"')
    return tuple(params), variadic, close + 1


def _compile_body(m: Macro, where: str) -> list[Tok]:
    toks = tokenize(m.text)
    if toks:
        toks[0].white = False  # GCC clears it: the expansion starts where the name was
    params = {p: k for k, p in enumerate(m.params)} if m.params else {}
    funlike = m.params is not None
    shape = VaOptShape(where) if m.variadic else None
    out: list[Tok] = []
    last_was_paste = False
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if t.kind == ID and t.text in params:
            t.arg = params[t.text]
        if funlike and t.kind == PUNCT and t.text in _HASH:
            nxt = toks[i + 1] if i + 1 < n else None
            if nxt is not None and nxt.kind == ID and (nxt.text in params or
                                                        (m.variadic and nxt.text == "__VA_OPT__")):
                nxt.arg = params.get(nxt.text, -1)
                nxt.flags |= STRINGIFY
                nxt.white = t.white
                t = nxt
                i += 1
            else:
                raise CParseError(f"{where}: '#' is not followed by a macro parameter")
        is_paste = t.kind == PUNCT and t.text in _PASTE
        if shape is not None:
            shape.update(t, is_paste)
        i += 1
        if is_paste:
            if not out:
                raise CParseError(f"{where}: '##' cannot appear at either end of a macro expansion")
            if not last_was_paste:  # `a ## ## b` pastes once (GCC moves the extra ## past the end)
                out[-1] = out[-1].copy(flags=out[-1].flags | PASTE_LEFT)
            last_was_paste = True
            continue
        last_was_paste = False
        out.append(t)
    if last_was_paste:
        raise CParseError(f"{where}: '##' cannot appear at either end of a macro expansion")
    if shape is not None and shape.state:
        raise CParseError(f"{where}: unterminated __VA_OPT__")
    return out


class VaOptShape:
    """Where a token stands relative to __VA_OPT__ (GCC ``vaopt_state``), as a variadic macro's
    body is compiled (with its ## tokens: misplaced ones are errors) and as it is substituted.
    ``update`` returns ``OUTSIDE``, ``BEGIN`` (the __VA_OPT__ name), ``OPEN`` (its '('),
    ``INSIDE`` or ``END`` (its ')')."""

    def __init__(self, where: str = ""):
        self.where = where
        self.state = 0  # 0 outside, 1 after __VA_OPT__, 2 after its '(', 3+ inside (paren depth + 2)
        self.last_was_paste = False

    def update(self, t: Tok, is_paste: bool = False) -> int:
        where = self.where
        if t.kind == ID and t.text == "__VA_OPT__":
            if self.state:
                raise CParseError(f"{where}: __VA_OPT__ may not appear in a __VA_OPT__")
            self.state = 1
            return BEGIN
        if self.state == 1:
            if not (t.kind == PUNCT and t.text == "("):
                raise CParseError(f"{where}: __VA_OPT__ must be followed by an open parenthesis")
            self.state = 2
            return OPEN
        if self.state == 0:
            return OUTSIDE
        if self.state == 2:
            if is_paste:
                raise CParseError(f"{where}: '##' cannot appear at either end of __VA_OPT__")
            self.state = 3
        was_paste = self.last_was_paste
        self.last_was_paste = is_paste
        if t.kind == PUNCT and t.text == "(":
            self.state += 1
        elif t.kind == PUNCT and t.text == ")":
            self.state -= 1
            if self.state == 2:
                self.state = 0
                if was_paste:
                    raise CParseError(f"{where}: '##' cannot appear at either end of __VA_OPT__")
                return END
        return INSIDE


OUTSIDE, BEGIN, OPEN, INSIDE, END = range(5)


def stringify(tokens: list[Tok]) -> Tok:
    """The ``#`` operator on an argument's tokens (GCC ``stringify_arg``): one space where the
    source, or the padding a macro expansion left, had whitespace; string and character
    literals escaped."""
    parts = ['"']
    source = None
    started = False
    backslashes = 0
    for t in tokens:
        if t.kind == PAD:
            if source is None or (not source.white and t.src is None):
                source = t.src
            continue
        if started:
            if source is None:
                source = t
            if source.white:
                parts.append(" ")
        source = None
        started = True
        if t.kind in (STR, CHAR):
            parts.append(t.text.replace("\\", "\\\\").replace('"', '\\"'))
        else:
            parts.append(t.text)
        backslashes = backslashes + 1 if t.text == "\\" else 0
    text = "".join(parts)
    if backslashes & 1:  # GCC: "invalid string literal, ignoring final '\'"
        text = text[:-1]
    return Tok(STR, text + '"')
