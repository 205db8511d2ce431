"""The ``[[expect]]`` language: C constant expressions over layout facts, evaluated as C per arch.

Examples (docs/spec.md has the full list)::

    alignof(struct anon_vma) >= 8
    sizeof(vma_flags_t) * 8 == BITS_PER_LONG
    tag_bits(struct vm_area_struct.anon_vma, slab) >= 2
    fits(VMA_SEALED_BIT, vma_flags_t) && !fits(44, vma_flags_t)
    (unsigned long)-1 > 0

An expectation is C: its arithmetic follows C11 6.3.1 (integer promotions, the usual
arithmetic conversions) with each arch's integer widths, as that arch's compiler folds it
(``-1 < 0U`` is false everywhere, ``~0UL == 4294967295`` only where long has 32 bits).
The layout engine's constant-expression evaluator does the arithmetic
(``LayoutSet.eval``, ``bitlayout/layout/constexpr.py``); this module adds the spec's own
functions on top of C.

How it is parsed, without evaluating anything:

1. the calls of the spec's functions (``sizeof(T)``, ``offsetof(T, a.b)``, ``tag_bits(struct
   X.f, slab)``, ``fits(NR, T)`` ...) are cut out of the text with a balanced-parenthesis scan
   and become *terms*, each replaced by a placeholder identifier; ``min``/``max`` become C
   conditionals; the ``<iso646.h>`` words ``and``, ``or``, ``not`` become ``&&``, ``||``, ``!``;
2. what remains must be tokens of an integer constant expression (identifiers, integer
   literals, operators, parentheses, casts to built-in integer types) and parses as C with
   the front end's parser (``cfront.parse_expression``); its nesting is bounded.

Evaluation, per arch: every term is answered by an ``ExprContext`` (the layout engine, the
bitmap and tagging models, or a compiler's DWARF) and put back as a literal of its C type
(``size_t`` for ``sizeof``/``alignof``/``offsetof``, ``int`` for the others); the resulting C
text is evaluated by the context.  So this module has no I/O and no knowledge of C layout.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .errors import BitlayoutError, SpecError
from .tagging import ALLOCATORS

# function name -> (arity, which arguments are C type/field text, not expressions)
FUNCTIONS: dict[str, tuple[int, tuple[int, ...]]] = {
    "sizeof": (1, (0,)),
    "alignof": (1, (0,)),
    "_Alignof": (1, (0,)),
    "__alignof__": (1, (0,)),        # GCC's preferred alignment (8 for long long on i386)
    "gnu_alignof": (1, (0,)),
    "offsetof": (2, (0, 1)),
    "tag_bits": (2, (0, 1)),         # tag_bits(struct X.field, allocator)
    "fits": (2, (1,)),               # fits(flag number expression, bitmap type)
    "bit_word": (2, (1,)),           # which word of the bitmap type holds bit nr
    "byte_offset": (2, (1,)),        # which byte of the bitmap type holds bit nr
    "min": (2, ()),
    "max": (2, ()),
}
ALIASES = {"_Alignof": "alignof", "__alignof__": "gnu_alignof"}
# Their values have C's type size_t (C11 6.5.3.4p5, 7.19p3); the others are int.
SIZE_T_FUNCTIONS = frozenset(("sizeof", "alignof", "gnu_alignof", "offsetof"))

# How deeply one expectation may nest operators (and spec functions inside each other's
# arguments).  People write a handful of levels; the bound keeps evaluation far from Python's
# recursion limit, so a pathological expectation is one SpecError, never a RecursionError.
MAX_DEPTH = 64
MAX_CALL_NESTING = 8

# The words a cast may use: C's built-in integer types (a typedef name in a cast is not
# supported: the expression is parsed before any header is read).
CAST_WORDS = frozenset(("unsigned", "signed", "char", "short", "int", "long", "_Bool", "__int128"))
ISO646 = {"and": "&&", "or": "||", "not": "!"}  # C11 7.9 <iso646.h>
_PLACEHOLDER = "__bl_term{}"
_RESERVED = re.compile(r"\b__bl_")

# C11 6.4.6 punctuators, longest first; the ones an integer constant expression may use.
_PUNCTUATORS = sorted("""<<= >>= ... -> ++ -- << >> <= >= == != && || *= /= %= += -= &= ^= |= ## <: :> <% %>
    %: [ ] ( ) { } . & * + - ~ ! / % < > ^ | ? : ; = , #""".split(), key=len, reverse=True)
_ALLOWED_PUNCTUATORS = frozenset("<< >> <= >= == != && || & * + - ~ ! / % < > ^ | ? : ( )".split())
_WHY_NOT = {"=": "assignment", "++": "increment", "--": "decrement", "->": "member access",
            ".": "member access", ",": "the comma operator", "[": "subscripts", ";": "statements",
            "{": "braces", "#": "preprocessor operators"}
_COMPARISONS = frozenset(("<", ">", "<=", ">=", "==", "!="))
_SEGMENT_ENDS = frozenset(("&&", "||", "?", ":"))
_IDENT = re.compile(r"[A-Za-z_]\w*")
_NUMBER = re.compile(r"[0-9][\w]*")
# C11 6.4.4.1 integer constants (and GNU 0b binary), with their suffixes
_INTEGER = re.compile(r"(?:0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)"
                      r"(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?")
_MEMBER_PATH = re.compile(r"[A-Za-z_]\w*(?:\s*(?:\.\s*[A-Za-z_]\w*|\[[^\[\]]+\]))*")


class ExprEvalError(Exception):
    """Evaluation failed on one arch (division by zero, a type the engine cannot lay out...)."""


class UndefinedName(ExprEvalError):
    """A name the arch does not define (an enumerator behind an #if): the expectation skips there."""

    def __init__(self, name: str, message: str | None = None):
        self.name = name
        super().__init__(message or f"{name!r} is not defined on this arch")


class UnknownMember(UndefinedName):
    """``offsetof(T, m)`` where T exists on the arch but has no member m (a typo when no arch has it)."""

    def __init__(self, ctype: str, member: str):
        self.ctype = ctype
        super().__init__(member, f"{ctype!r} has no member {member!r}")


class ExprContext(Protocol):
    """Answers the questions an expression asks, for one arch."""

    def name(self, ident: str) -> int: ...
    def c_value(self, text: str) -> int: ...  # a C integer constant expression on this arch
    def sizeof(self, ctype: str) -> int: ...
    def alignof(self, ctype: str) -> int: ...
    def gnu_alignof(self, ctype: str) -> int: ...
    def offsetof(self, ctype: str, member: str) -> int: ...
    def tag_bits(self, field: str, allocator: str) -> int: ...
    def fits(self, nr: int, ctype: str) -> bool: ...
    def bit_word(self, nr: int, ctype: str) -> int: ...
    def byte_offset(self, nr: int, ctype: str) -> int: ...


@dataclass(frozen=True)
class Term:
    """One call of a spec function: answered by the context, put back as a C literal."""

    func: str  # canonical name (alignof for _Alignof, gnu_alignof for __alignof__)
    args: tuple[tuple[str, str], ...]  # ("type", C type/field/member text) or ("expr", C text)
    label: str  # how the evidence names it: "fits(VMA_SEALED_BIT, vma_flags_t)"
    placeholder: str


@dataclass(frozen=True)
class Expression:
    """A parsed expectation.  ``text`` is what the user wrote, ``c_text`` the C expression
    evaluated once every term's placeholder is replaced by its value."""

    text: str
    c_text: str
    terms: tuple[Term, ...]
    names: frozenset[str]  # identifiers used as values (enumerators, macros)
    type_args: tuple[tuple[str, int, str], ...]  # (function, argument index, C type/field text)
    name_order: tuple[str, ...] = ()

    def evaluate(self, ctx: ExprContext) -> int:
        """The expression's C value on the context's arch (a comparison gives 0 or 1)."""
        return self._run(ctx, None)

    def explain(self, ctx: ExprContext) -> dict[str, Any]:
        """The value and every name's and term's value on the way (the evidence)."""
        terms: dict[str, Any] = {}
        return {"result": self._run(ctx, terms), "terms": terms}

    def _run(self, ctx: ExprContext, record: dict[str, Any] | None) -> int:
        for name in self.name_order:
            value = ctx.name(name)  # UndefinedName where the arch lacks it: the expectation skips
            if record is not None:
                record[name] = value
        literals: dict[str, str] = {}
        for term in self.terms:
            args = [text if kind == "type" else ctx.c_value(_substitute(text, literals)) for kind, text in term.args]
            value = getattr(ctx, term.func)(*args)
            literals[term.placeholder] = _literal(term.func, int(value))
            if record is not None:
                record[term.label] = value
        return ctx.c_value(_substitute(self.c_text, literals))


def _literal(func: str, value: int) -> str:
    if func in SIZE_T_FUNCTIONS:
        return f"((unsigned long){value})"  # size_t: unsigned long on every Linux ABI but x32 (same width)
    return str(value) if value >= 0 else f"({value})"


def _substitute(text: str, literals: dict[str, str]) -> str:
    if not literals:
        return text
    return re.sub(r"\b__bl_term\d+\b", lambda m: literals[m.group(0)], text)


# ---------------------------------------------------------------------------
# Parsing


def parse_expression(text: str, *, path: str | None = None, key: str | None = None) -> Expression:
    """Parse and check one expectation; raise SpecError naming file and key."""

    shown = text if not isinstance(text, str) or len(text) <= 100 else text[:100] + "..."

    def fail(why: str):
        raise SpecError(f"bad expression {shown!r}: {why}", path=path, key=key)

    if not isinstance(text, str) or not text.strip():
        fail("empty")
    if "//" in text or "/*" in text:
        fail("'//' and '/*' start comments in C (integer division is '/')")
    if "'" in text or '"' in text:
        fail("string and character literals are not allowed")
    if _RESERVED.search(text):
        fail("names starting with __bl_ are reserved")
    parser = _Parser(fail)
    raw = parser.cut_calls(text, 0)
    c_text = parser.tokens_to_c(raw)
    terms = tuple(parser.terms)
    type_args = tuple((t.func, pos, arg) for t in terms for pos, (kind, arg) in enumerate(t.args) if kind == "type")
    order = tuple(dict.fromkeys(parser.name_order))
    return Expression(text, c_text, terms, frozenset(order), type_args, order)


class _Parser:
    def __init__(self, fail: Callable[[str], None]):
        self.fail = fail
        self.terms: list[Term] = []
        self.name_order: list[str] = []

    def cut_calls(self, text: str, depth: int) -> str:
        """Replace every spec function call by a placeholder (or, for min/max, a conditional)."""
        if depth > MAX_CALL_NESTING:
            self.fail(f"functions nested more than {MAX_CALL_NESTING} deep")
        out: list[str] = []
        i = 0
        while i < len(text):
            m = _IDENT.match(text, i) or _NUMBER.match(text, i)
            if m is None:
                out.append(text[i])
                i += 1
                continue
            word = m.group(0)
            if word not in FUNCTIONS:
                out.append(word)
                i = m.end()
                continue
            j = m.end()
            while j < len(text) and text[j].isspace():
                j += 1
            if j >= len(text) or text[j] != "(":
                self.fail(f"{word} needs parentheses: {word}(...)")
            args, i = self.split_args(text, j)
            out.append(self.call(word, args, depth))
        return "".join(out)

    def split_args(self, text: str, start: int) -> tuple[list[str], int]:
        """The arguments of a call whose '(' is at text[start], and the index after its ')'."""
        depth = 0
        args: list[str] = []
        current: list[str] = []
        for i in range(start, len(text)):
            ch = text[i]
            if ch == "(":
                depth += 1
                if depth == 1:
                    continue
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    args.append("".join(current).strip())
                    return ([] if args == [""] else args), i + 1
            elif ch == "," and depth == 1:
                args.append("".join(current).strip())
                current = []
                continue
            current.append(ch)
        self.fail("unbalanced parentheses")
        raise AssertionError  # fail raises

    def call(self, word: str, args: list[str], depth: int) -> str:
        arity, type_positions = FUNCTIONS[word]
        if len(args) != arity:
            self.fail(f"{word}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}")
        func = ALIASES.get(word, word)
        if func in ("min", "max"):
            if not args[0] or not args[1]:
                self.fail(f"{word}(): empty argument")
            a, b = (f"({self.cut_calls(arg, depth + 1)})" for arg in args)
            # `x + 0 * y` has the type of the usual arithmetic conversions of x and y (C11 6.5.6),
            # the type the kernel's min()/max() compare in; the value is x.
            return f"({a} {'<' if func == 'min' else '>'} {b} ? {a} + 0 * {b} : {b} + 0 * {a})"
        parts: list[tuple[str, str]] = []
        for pos, arg in enumerate(args):
            if not arg:
                self.fail(f"{word}(): empty argument")
            if pos in type_positions:
                parts.append(("type", " ".join(arg.split())))
            else:
                parts.append(("expr", self.tokens_to_c(self.cut_calls(arg, depth + 1))))
        self.check_type_args(func, [a for k, a in parts if k == "type"])
        label = f"{func}({', '.join(' '.join(a.split()) for a in args)})"
        term = Term(func, tuple(parts), label, _PLACEHOLDER.format(len(self.terms)))
        self.terms.append(term)
        return f" {term.placeholder} "

    def check_type_args(self, func: str, texts: list[str]) -> None:
        for text in texts:
            if any(c in text for c in ";{}"):
                self.fail(f"{func}(): not a C type: {text!r}")
        if func == "tag_bits":
            fld, alloc = texts
            if alloc not in ALLOCATORS:
                self.fail(f"unknown allocator {alloc!r} (known: {', '.join(ALLOCATORS)})")
            if "." not in fld:
                self.fail(f"tag_bits() wants a pointer field like 'struct X.field', got {fld!r}")
        if func == "offsetof" and not _MEMBER_PATH.fullmatch(texts[1]):
            self.fail(f"offsetof(): not a member designator: {texts[1]!r}")

    def tokens_to_c(self, raw: str) -> str:
        """The C text of what is left once calls are cut out: checked token by token, then
        parsed as C (syntax, allowed operators, nesting depth)."""
        tokens = self.tokenize(raw)
        for k, tok in enumerate(tokens):
            if not _IDENT.fullmatch(tok) or tok.startswith("__bl_term"):
                continue
            following = tokens[k + 1] if k + 1 < len(tokens) else ""
            if tok in CAST_WORDS:
                continue
            if following == "(":
                self.fail(f"unknown function {tok!r} (known: {', '.join(sorted(set(FUNCTIONS) - set(ALIASES)))})")
            self.name_order.append(tok)
        self.check_chains(tokens)
        text = " ".join(tokens)
        _check_c_syntax(text, self.fail)
        return text

    def tokenize(self, raw: str) -> list[str]:
        tokens: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch.isspace():
                i += 1
                continue
            m = _IDENT.match(raw, i)
            if m:
                word = m.group(0)
                if word in ("struct", "union", "enum"):
                    self.fail(f"C type {word!r} outside sizeof/alignof/offsetof/tag_bits/fits")
                tokens.append(ISO646.get(word, word))
                i = m.end()
                continue
            m = _NUMBER.match(raw, i)
            if m or (ch == "." and raw[i + 1:i + 2].isdigit()):
                lit = m.group(0) if m else "."
                if not m or raw.startswith(".", m.end()) or (
                        not _INTEGER.fullmatch(lit) and re.fullmatch(r"[0-9]+[eE][0-9]*[fFlL]?", lit)):
                    self.fail("floating constants are not allowed (integer arithmetic only)")
                if not _INTEGER.fullmatch(lit):
                    self.fail(f"invalid integer constant {lit!r}")
                if _integer_value(lit) >= 1 << 64:
                    self.fail(f"integer constant {lit!r} is too large for any integer type")
                tokens.append(lit)
                i = m.end()
                continue
            p = next((p for p in _PUNCTUATORS if raw.startswith(p, i)), None)
            if p is None:
                self.fail(f"character {ch!r} is not allowed")
            if p not in _ALLOWED_PUNCTUATORS:
                why = _WHY_NOT.get(p) or _WHY_NOT.get(p[-1] if p.endswith("=") else p[0]) or "not in C constant expressions"
                self.fail(f"{p!r} is not allowed ({why})")
            tokens.append(p)
            i += len(p)
        if not tokens:
            self.fail("empty")
        return tokens

    def check_chains(self, tokens: list[str]) -> None:
        """``a < b < c`` is C, but compares a 0/1 result with c: almost always a mistake
        (GCC -Wparentheses); ask for the intended form."""
        counts = [0]
        for tok in tokens:
            if tok == "(":
                counts.append(0)
            elif tok == ")":
                if len(counts) > 1:
                    counts.pop()
            elif tok in _SEGMENT_ENDS:
                counts[-1] = 0
            elif tok in _COMPARISONS:
                counts[-1] += 1
                if counts[-1] > 1:
                    self.fail("chained comparison (write a < b && b < c, or parenthesise the comparison)")


def _integer_value(lit: str) -> int:
    digits = lit.rstrip("uUlL").lower()
    if digits.startswith("0x"):
        return int(digits, 16)
    if digits.startswith("0b"):
        return int(digits[2:], 2)
    return int(digits, 8) if digits.startswith("0") and len(digits) > 1 else int(digits)


@functools.cache
def _empty_tu():
    from .cfront import build_table

    return build_table("", "<expect>", ())


# What an expectation may contain once its terms are placeholders (cfront.nodes kinds).
_UNARY_OPS = frozenset(("-", "+", "~", "!"))
_BINARY_OPS = frozenset(("+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "&&", "||") + tuple(_COMPARISONS))


def _check_c_syntax(text: str, fail: Callable[[str], None]) -> None:
    """Parse as C (no header is needed: only built-in type names appear) and walk the tree
    iteratively: allowed node kinds only, nesting at most MAX_DEPTH."""
    from .cfront import nodes as N

    from .cfront import parse_expression as parse_c

    try:
        tree, _ = parse_c(text, _empty_tu())
    except RecursionError:
        fail(f"nested more than {MAX_DEPTH} levels deep")
    except BitlayoutError as exc:
        fail(f"syntax error ({re.sub(r'^<expression>:[0-9:]+ ', '', str(exc))})")
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            fail(f"nested more than {MAX_DEPTH} levels deep")
        kind = type(node)
        if kind in (N.Num, N.Name):
            continue
        if kind is N.Unary and node.op in _UNARY_OPS:
            stack.append((node.operand, depth + 1))
        elif kind is N.Binary and node.op in _BINARY_OPS:
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif kind is N.Cond and node.then is not None:
            stack += [(node.cond, depth + 1), (node.then, depth + 1), (node.other, depth + 1)]
        elif kind is N.Cast and node.ctype.kind == "scalar" and node.ctype.name in _CAST_KEYS:
            stack.append((node.operand, depth + 1))
        else:
            op = getattr(node, "op", "")
            fail(f"{kind.__name__}{' ' + repr(op) if op else ''} is not allowed in an expectation")


_CAST_KEYS = frozenset(("_Bool", "char", "short", "int", "long", "long_long", "int128"))
