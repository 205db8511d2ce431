"""``#if`` expressions: C11 6.10.1 in intmax_t / uintmax_t (64 bits on every target here) with
the usual arithmetic conversions, as GCC's ``expr.cc`` evaluates them.

Each value is (int, unsigned): ``-1 > 0u`` converts -1 to 2**64 - 1 and is true; comparisons,
``!``, ``&&`` and ``||`` give a signed 0/1; shifts keep the left operand's type and shift the
other way for a negative count; signed overflow wraps.  Operands that are not evaluated
(``0 && X``, the other arm of ``?:``) are still expanded and parsed but raise no error, and the
operators that ask the compiler (``__has_attribute``...) may skip their lookup there
(``Evaluator.skip_eval``).  Character constants take the target's char and wchar_t signedness
and width; a narrow multi-character constant is a signed int with GCC and follows char's
signedness with clang (measured: ``'ab' - 'ac' < 0`` is false on armeb with clang, true with GCC).
"""

from __future__ import annotations

import re

from ..errors import CParseError
from .pplex import CHAR, EOF, ID, NUM, PUNCT, STR

MASK = (1 << 64) - 1
SIGN = 1 << 63

_INT_RE = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([a-zA-Z_]*)")
_SUFFIXES = {"", "u", "l", "ul", "lu", "ll", "ull", "llu"}

# binary operators by precedence, lowest first (',' and '?:' are handled above these)
_LEVELS = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="), ("<<", ">>"),
           ("+", "-"), ("*", "/", "%")]
_LEVEL_OF = {op: k for k, ops in enumerate(_LEVELS) for op in ops}
_NOT_IN_IF = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--", "->", ".", "[", "]",
              "{", "}", ";", "...", "#", "##", "%:", "%:%:", "<:", ":>", "<%", "%>"}


def _wrap(v: int, unsigned: bool) -> tuple[int, bool]:
    v &= MASK
    if not unsigned and v & SIGN:
        v -= 1 << 64
    return v, unsigned


class CharTarget:
    """What character constants need to know about the target."""

    __slots__ = ("char_unsigned", "wchar_bits", "wchar_unsigned", "multichar_follows_char")

    def __init__(self, char_unsigned: bool, wchar_bits: int, wchar_unsigned: bool, multichar_follows_char: bool):
        self.char_unsigned = char_unsigned
        self.wchar_bits = wchar_bits
        self.wchar_unsigned = wchar_unsigned
        self.multichar_follows_char = multichar_follows_char


class Evaluator:
    """Parses one ``#if`` expression from ``source.if_token()`` (expanded tokens, EOF at the end
    of the line); ``source.read_defined()`` reads the operand of ``defined`` unexpanded;
    ``source.char_target()`` gives a CharTarget.  ``where`` prefixes errors."""

    def __init__(self, source, where: str):
        self.src = source
        self.where = where
        self.skip_eval = 0
        self.tok = None

    def evaluate(self) -> bool:
        self._next()
        if self.tok.kind == EOF:
            raise CParseError(f"{self.where}: #if with no expression")
        v, _u = self._comma()
        if self.tok.kind != EOF:
            self._fail_unexpected()
        return v != 0

    # -- tokens ------------------------------------------------------------------------------
    def _next(self):
        self.tok = self.src.if_token()
        return self.tok

    def _is(self, text: str) -> bool:
        return self.tok.kind == PUNCT and self.tok.text == text

    def _fail_unexpected(self):
        t = self.tok
        if t.kind == PUNCT and t.text == ")":
            raise CParseError(f"{self.where}: missing '(' in expression")
        if t.kind == PUNCT and t.text == ":":
            raise CParseError(f"{self.where}: ':' without preceding '?'")
        raise CParseError(f'{self.where}: missing binary operator before token "{t.text}"')

    def _err(self, msg: str):
        raise CParseError(f"{self.where}: {msg}")

    # -- grammar -----------------------------------------------------------------------------
    def _comma(self):
        v = self._cond()
        while self._is(","):
            self._next()
            v = self._cond()
        return v

    def _cond(self):
        c = self._binary(0)
        if not self._is("?"):
            return c
        taken = c[0] != 0
        # an operand that is not evaluated is skipped from its first token on: operators that
        # ask the compiler (__has_attribute...) read it as soon as it is expanded
        self.skip_eval += not taken
        self._next()
        a = self._comma()
        self.skip_eval -= not taken
        if not self._is(":"):
            self._err("'?' without following ':'")
        self.skip_eval += taken
        self._next()
        b = self._cond()
        self.skip_eval -= taken
        unsigned = a[1] or b[1]
        return _wrap(a[0] if taken else b[0], unsigned)

    def _binary(self, min_level: int):
        """Binary operators of precedence ``min_level`` and above, left to right (precedence
        climbing: one call per operand, not one per level)."""
        lhs = self._unary()
        while True:
            t = self.tok
            if t.kind != PUNCT:
                return lhs
            level = _LEVEL_OF.get(t.text)
            if level is None or level < min_level:
                return lhs
            op = t.text
            if op in ("&&", "||"):
                short = (lhs[0] == 0) if op == "&&" else (lhs[0] != 0)
                # an operand that is not evaluated is skipped from its first token on
                self.skip_eval += short
                self._next()
                rhs = self._binary(level + 1)
                self.skip_eval -= short
                lhs = (int(op == "||"), False) if short else (int(rhs[0] != 0), False)
            else:
                self._next()
                lhs = self._apply(op, lhs, self._binary(level + 1))

    def _apply(self, op: str, lhs, rhs):
        a, au = lhs
        b, bu = rhs
        if op in ("<<", ">>"):
            n = b
            left = op == "<<"
            if not bu and n < 0:
                left, n = not left, -n
            if au:
                a &= MASK
            if left:
                return _wrap(a << n if n < 128 else 0, au)
            return _wrap(a >> n if n < 128 else (-1 if a < 0 else 0), au)
        unsigned = au or bu
        if unsigned:
            a &= MASK
            b &= MASK
        if op in ("==", "!="):
            return (int((a == b) == (op == "==")), False)
        if op in ("<", ">", "<=", ">="):
            r = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
            return (int(r), False)
        if op in ("/", "%"):
            if b == 0:
                if self.skip_eval:
                    return (0, unsigned)
                self._err("division by zero in #if")
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
            return _wrap(q if op == "/" else a - q * b, unsigned)
        r = {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b}[op]
        return _wrap(r, unsigned)

    def _unary(self):
        t = self.tok
        if t.kind == PUNCT and t.text in ("+", "-", "~", "!"):
            self._next()
            v, u = self._unary()
            if t.text == "+":
                return v, u
            if t.text == "-":
                return _wrap(-v, u)
            if t.text == "~":
                return _wrap(~v, u)
            return (int(v == 0), False)
        return self._primary()

    def _primary(self):
        t = self.tok
        if t.kind == PUNCT and t.text == "(":
            self._next()
            if self._is(")"):
                self._err("missing expression between '(' and ')'")
            v = self._comma()
            if not self._is(")"):
                if self.tok.kind == EOF:
                    self._err("missing ')' in expression")
                self._fail_unexpected()
            self._next()
            return v
        if t.kind == NUM:
            self._next()
            return self._number(t.text)
        if t.kind == CHAR:
            self._next()
            return self._char(t.text)
        if t.kind == ID:
            if t.text == "defined":
                v = self.src.read_defined(self.where)
                self._next()
                return (int(v), False)
            self._next()
            return (0, False)  # an identifier that is not a macro
        if t.kind == EOF:
            self._err("operator has no right operand")
        if t.kind == STR:
            self._err(f'token "{t.text}" is not valid in preprocessor expressions')
        if t.kind == PUNCT and (t.text in _NOT_IN_IF or t.text in _LEVEL_OF or t.text in (")", ":", "?", ",")):
            if t.text in _NOT_IN_IF:
                self._err(f'token "{t.text}" is not valid in preprocessor expressions')
            self._err(f"operator '{t.text}' has no left operand")
        self._err(f'token "{t.text}" is not valid in preprocessor expressions')

    # -- literals ----------------------------------------------------------------------------
    def _number(self, text: str):
        m = _INT_RE.fullmatch(text)
        if not m:
            if re.fullmatch(r"[0-9.]+([eE][+-]?[0-9]*)?[a-zA-Z]*|0[xX][0-9a-fA-F.]*[pP][+-]?[0-9]+[a-zA-Z]*|"
                            r"\.[0-9][0-9a-zA-Z.+-]*", text):
                self._err("floating constant in preprocessor expression")
            self._err(f'invalid integer constant "{text}" in #if' if not text[:1].isdigit()
                      else f'invalid suffix "{text.lstrip("0123456789")}" on integer constant')
        digits, suffix = m.groups()
        low = suffix.lower()
        if low not in _SUFFIXES or ("ll" in low and "ll" not in suffix and "LL" not in suffix):
            if ("i" in low or "j" in low) and low.replace("i", "").replace("j", "") in _SUFFIXES:
                self._err("imaginary number in preprocessor expression")
            self._err(f'invalid suffix "{suffix}" on integer constant')
        if digits[:2] in ("0x", "0X"):
            value = int(digits[2:], 16)
        elif digits[:2] in ("0b", "0B"):
            value = int(digits[2:], 2)
        elif digits[0] == "0" and len(digits) > 1:
            bad = re.search(r"[89]", digits)
            if bad:
                self._err(f'invalid digit "{bad.group()}" in octal constant')
            value = int(digits, 8)
        else:
            value = int(digits)
        value &= MASK  # GCC: "integer constant is too large for its type" (a pedwarn), truncated
        unsigned = "u" in low or value > (SIGN - 1)
        return _wrap(value, unsigned)

    def _char(self, text: str):
        prefix = text[:text.index("'")]
        body = text[len(prefix) + 1:-1]
        if not body:
            self._err("empty character constant")
        target = self.src.char_target()
        if prefix == "":
            units = _narrow_units(body)
            if len(units) > 4:  # "character constant too long for its type": the last int's worth
                units = units[-4:]
            value = 0
            for u in units:
                value = (value << 8) | (u & 0xFF)
            if len(units) > 1 and not target.multichar_follows_char:
                width, unsigned = 32, False
            else:
                width, unsigned = 8 * len(units), target.char_unsigned
        else:
            if prefix == "u":
                width, unsigned = 16, True
            elif prefix == "U":
                width, unsigned = 32, True
            else:
                width, unsigned = target.wchar_bits, target.wchar_unsigned
            units = _wide_units(body, width)
            value = units[-1] & ((1 << width) - 1)  # GCC keeps the last of several (a warning)
        if not unsigned and value & (1 << (width - 1)):
            value -= 1 << width
        return _wrap(value, unsigned)


_SIMPLE_ESCAPES = {"n": 10, "t": 9, "v": 11, "b": 8, "r": 13, "f": 12, "a": 7, "\\": 92, "'": 39, '"': 34,
                   "?": 63, "e": 27, "E": 27}


def _code_points(body: str):
    """(value, is_byte) for each character or escape of a literal's body: escapes \\ooo and
    \\x.. give a code unit, the rest a code point."""
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            yield ord(c), False
            i += 1
            continue
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            yield _SIMPLE_ESCAPES[e], True
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            yield int(body[i + 1:j], 8), True
            i = j
        elif e == "x":
            j = i + 2
            while j < n and body[j] in "0123456789abcdefABCDEF":
                j += 1
            yield (int(body[i + 2:j], 16) if j > i + 2 else 0), True
            i = j
        elif e in "uU":
            k = 4 if e == "u" else 8
            hexdigits = body[i + 2:i + 2 + k]
            yield (int(hexdigits, 16) if re.fullmatch(r"[0-9a-fA-F]+", hexdigits or "") else 0), False
            i += 2 + k
        else:  # unknown escape: GCC warns and takes the character
            yield ord(e), False
            i += 2


def _narrow_units(body: str) -> list[int]:
    out = []
    for v, is_byte in _code_points(body):
        if is_byte or v < 0x80:
            out.append(v & 0xFF)
        else:
            out.extend(chr(v).encode("utf-8", errors="replace"))
    return out


def _wide_units(body: str, width: int) -> list[int]:
    out = []
    for v, _is_byte in _code_points(body):
        if width == 16 and v > 0xFFFF:
            v -= 0x10000
            out.extend((0xD800 | (v >> 10), 0xDC00 | (v & 0x3FF)))
        else:
            out.append(v)
    return out
