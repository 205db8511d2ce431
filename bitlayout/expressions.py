"""The ``[[expect]]`` mini-language: C-flavoured boolean expressions over layout facts.

Examples (docs/spec.md has the full list)::

    alignof(struct anon_vma) >= 8
    sizeof(vma_flags_t) * 8 == BITS_PER_LONG
    tag_bits(struct vm_area_struct.anon_vma, slab) >= 2
    fits(VMA_SEALED_BIT, vma_flags_t) && !fits(44, vma_flags_t)

How it is parsed, without ever evaluating user code: the arguments of the
functions that take C types (``sizeof(struct X)``, ``offsetof(T, a.b)``,
``tag_bits(struct X.f, slab)``...) are cut out with a balanced-parenthesis
scan and replaced by string literals; C's ``&&``, ``||`` and ``!`` become
Python's ``and``, ``or``, ``not``; the result goes through ``ast.parse`` and
every node is checked against a whitelist.  Evaluation walks that checked
tree; names and functions are answered by an ``ExprContext`` (per arch, from
the layout engine and the tagging model), so this module has no I/O and no
knowledge of C layout itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import SpecError
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

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    # C integer division truncates toward zero; Python's // floors.
    ast.Div: lambda a, b: _c_div(a, b),
    ast.FloorDiv: lambda a, b: _c_div(a, b),
    ast.Mod: lambda a, b: a - b * _c_div(a, b),
    ast.LShift: lambda a, b: a << _shift_count(b),
    ast.RShift: lambda a, b: a >> _shift_count(b),
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}
_CMPOPS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


# C leaves shifts by a negative count or by the type's width or more undefined (C11 6.5.7p3);
# Python would build a huge integer instead (`1 << 100000000000` needs gigabytes) or raise.
MAX_SHIFT = 128


def _shift_count(b: int) -> int:
    if not 0 <= b <= MAX_SHIFT:
        raise ExprEvalError(f"shift count {b} out of range 0..{MAX_SHIFT}")
    return b


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise ExprEvalError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


class ExprEvalError(Exception):
    """Evaluation failed on one arch (unknown name there, division by zero, ...)."""


class UndefinedName(ExprEvalError):
    """A name the arch does not define (e.g. an enumerator behind an #if)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"{name!r} is not defined on this arch")


class ExprContext(Protocol):
    """Answers the questions an expression asks, for one arch."""

    def name(self, ident: str) -> int: ...
    def sizeof(self, ctype: str) -> int: ...
    def alignof(self, ctype: str) -> int: ...
    def gnu_alignof(self, ctype: str) -> int: ...
    def offsetof(self, ctype: str, member: str) -> int: ...
    def tag_bits(self, field: str, allocator: str) -> int: ...
    def fits(self, nr: int, ctype: str) -> bool: ...
    def bit_word(self, nr: int, ctype: str) -> int: ...
    def byte_offset(self, nr: int, ctype: str) -> int: ...


@dataclass(frozen=True)
class Expression:
    """A parsed, whitelisted expectation.  ``text`` is what the user wrote."""

    text: str
    tree: ast.Expression
    names: frozenset[str]            # identifiers used as values (enumerators, macros)
    type_args: tuple[tuple[str, int, str], ...]  # (function, argument index, C type/field text)

    def evaluate(self, ctx: ExprContext) -> Any:
        return _Evaluator(ctx).visit(self.tree.body)

    def explain(self, ctx: ExprContext) -> dict[str, Any]:
        """Values of every function call and name in the expression (the evidence)."""
        ev = _Evaluator(ctx, record=True)
        result = ev.visit(self.tree.body)
        return {"result": result, "terms": ev.terms}


_TYPE_WORD = re.compile(r"\b(struct|union|enum)\s+([A-Za-z_]\w*)")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def _split_args(text: str, start: int) -> tuple[list[str], int]:
    """Split the argument text of a call whose '(' is at text[start]; return (args, end)."""
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
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    raise ValueError("unbalanced parentheses")


def _rewrite(text: str, fail) -> tuple[str, list[tuple[str, int, str]]]:
    """C-ish text -> Python source with type arguments quoted; collect (func, type text)."""
    out: list[str] = []
    type_args: list[tuple[str, int, str]] = []
    i = 0
    while i < len(text):
        m = _IDENT.match(text, i)
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            word = m.group(0)
            j = m.end()
            while j < len(text) and text[j].isspace():
                j += 1
            if word in FUNCTIONS and j < len(text) and text[j] == "(":
                try:
                    args, end = _split_args(text, j)
                except ValueError:
                    fail("unbalanced parentheses")
                arity, type_positions = FUNCTIONS[word]
                if args == [""]:
                    args = []
                if len(args) != arity:
                    fail(f"{word}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}")
                fname = ALIASES.get(word, word)
                new_args = []
                for pos, arg in enumerate(args):
                    if pos in type_positions:
                        if not arg:
                            fail(f"{word}(): empty argument")
                        norm = " ".join(arg.split())
                        type_args.append((fname, pos, norm))
                        new_args.append(repr(norm))
                    else:
                        sub, sub_types = _rewrite(arg, fail)
                        type_args.extend(sub_types)
                        new_args.append(f"({sub})")
                out.append(f"{fname}({', '.join(new_args)})")
                i = end
                continue
            tm = _TYPE_WORD.match(text, i)
            if tm:
                fail(f"C type {tm.group(0)!r} outside sizeof/alignof/offsetof/tag_bits/fits")
            out.append(word)
            i = m.end()
            continue
        two = text[i:i + 2]
        if two == "&&":
            out.append(" and ")
            i += 2
        elif two == "||":
            out.append(" or ")
            i += 2
        elif text[i] == "!" and two != "!=":
            out.append(" not ")
            i += 1
        elif text[i] in "'\"":
            fail("string literals are not allowed")
        else:
            out.append(text[i])
            i += 1
    return "".join(out), type_args


def _strip_int_suffixes(src: str) -> str:
    # C literals: 8UL, 0x10ull, 1LL
    return re.sub(r"\b((?:0[xX][0-9a-fA-F]+)|\d+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU])\b", r"\1", src)


_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Invert, ast.BinOp, ast.Compare, ast.Call, ast.Name, ast.Load, ast.Constant,
    *_BINOPS, *_CMPOPS,
)


def parse_expression(text: str, *, path: str | None = None, key: str | None = None) -> Expression:
    """Parse and whitelist one expectation; raise SpecError naming file and key."""

    def fail(why: str):
        raise SpecError(f"bad expression {text!r}: {why}", path=path, key=key)

    if not isinstance(text, str) or not text.strip():
        fail("empty")
    src, type_args = _rewrite(text, fail)
    src = _strip_int_suffixes(src)
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError as exc:
        fail(f"syntax error ({exc.msg})")
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            fail(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, str))):
            fail(f"constant {node.value!r} is not allowed")
        if isinstance(node, ast.Compare) and len(node.ops) > 1:
            fail("chained comparison (write a < b && b < c)")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in set(FUNCTIONS) | set(ALIASES.values()):
                fail(f"unknown function {ast.unparse(node.func)!r}")
            if node.keywords:
                fail("keyword arguments are not allowed")
        if isinstance(node, ast.Name) and not _is_call_target(tree, node):
            names.add(node.id)
    # The allocator of tag_bits() is a word, validated here so a typo is a SpecError.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.id == "tag_bits":
            alloc = node.args[1].value
            if alloc not in ALLOCATORS:
                fail(f"unknown allocator {alloc!r} (known: {', '.join(ALLOCATORS)})")
            if "." not in node.args[0].value:
                fail(f"tag_bits() wants a pointer field like 'struct X.field', got {node.args[0].value!r}")
    return Expression(text, tree, frozenset(names), tuple(type_args))


def _is_call_target(tree: ast.AST, name: ast.Name) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func is name:
            return True
    return False


class _Evaluator:
    def __init__(self, ctx: ExprContext, record: bool = False):
        self.ctx = ctx
        self.record = record
        self.terms: dict[str, Any] = {}

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            value = self.ctx.name(node.id)
            if self.record:
                self.terms[node.id] = value
            return value
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                result = True
                for v in node.values:
                    result = bool(self.visit(v))
                    if not result:
                        return False
                return True
            for v in node.values:
                if self.visit(v):
                    return True
            return False
        if isinstance(node, ast.UnaryOp):
            v = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return not v
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return +v
            return ~v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](_int(self.visit(node.left)), _int(self.visit(node.right)))
        if isinstance(node, ast.Compare):
            return _CMPOPS[type(node.ops[0])](self.visit(node.left), self.visit(node.comparators[0]))
        if isinstance(node, ast.Call):
            fname = node.func.id
            _, type_positions = FUNCTIONS[fname]
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else _int(self.visit(a))
                    for a in node.args]
            if fname == "min":
                value = min(args)
            elif fname == "max":
                value = max(args)
            else:
                value = getattr(self.ctx, fname)(*args)
            if self.record:
                self.terms[ast.unparse(node).replace("'", "")] = value
            return value
        raise AssertionError(f"unexpected node {node!r}")  # whitelist keeps us out of here


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, int):
        raise ExprEvalError(f"expected an integer, got {value!r}")
    return value
