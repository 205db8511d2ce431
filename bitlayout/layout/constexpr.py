"""C constant expressions evaluated for one architecture, as that arch's GCC folds them.

Integer arithmetic follows C11 6.3.1 (integer promotions, usual arithmetic conversions) with
the profile's integer widths; ``sizeof``/``_Alignof``/``__alignof__``/``offsetof`` ask the layout
engine.  ``Evaluator.type_of`` types an expression without evaluating it (``sizeof x``,
``typeof``, ``_Generic``, ``__builtin_types_compatible_p``), including the kernel's
``__is_constexpr`` trick (the type of ``c ? (void *)((long)(x) * 0l) : (int *)8`` depends on
whether ``x`` is an integer constant expression).

Two kinds of failure: ``NotConstant`` (a LayoutError: GCC rejects such a file-scope
declaration too, "variably modified at file scope") and ``UnsupportedError`` (a construct
bitlayout does not evaluate: the types that need it are reported unsupported, never guessed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..cfront import nodes as N
from ..errors import LayoutError, UnsupportedError
from .typelayout import TypeLayout, find_member


class NotConstant(LayoutError):
    """Not an integer constant expression (GCC rejects it where a constant is required)."""


@dataclass(frozen=True)
class IntType:
    """An integer type for arithmetic: conversion rank (0 below int, 1 int, 2 long, 3 long long,
    4 __int128), width and signedness."""

    rank: int
    bits: int
    unsigned: bool

    def wrap(self, v: int) -> int:
        v &= (1 << self.bits) - 1
        if not self.unsigned and v >> (self.bits - 1):
            v -= 1 << self.bits
        return v


FLOAT = "float"  # the type tag of a floating value (only ever cast back to an integer)
POINTER = "pointer"

_BUILTIN_BITS = {
    "__builtin_clz": ("int", "clz"), "__builtin_clzl": ("long", "clz"), "__builtin_clzll": ("long_long", "clz"),
    "__builtin_ctz": ("int", "ctz"), "__builtin_ctzl": ("long", "ctz"), "__builtin_ctzll": ("long_long", "ctz"),
    "__builtin_popcount": ("int", "pop"), "__builtin_popcountl": ("long", "pop"),
    "__builtin_popcountll": ("long_long", "pop"),
    "__builtin_ffs": ("int", "ffs"), "__builtin_ffsl": ("long", "ffs"), "__builtin_ffsll": ("long_long", "ffs"),
    "__builtin_parity": ("int", "parity"), "__builtin_parityl": ("long", "parity"),
    "__builtin_parityll": ("long_long", "parity"),
    "__builtin_bswap16": ("short", "bswap"), "__builtin_bswap32": ("int", "bswap"),
    "__builtin_bswap64": ("long_long", "bswap"),
}


class Evaluator:
    """Constant expressions for one LayoutSet (``ls``: types, enumerators, the profile)."""

    def __init__(self, ls):
        self.ls = ls
        s = ls.profile.scalars
        b = {k: 8 * s[k].size_bytes for k in ("short", "int", "long", "long_long")}
        self.int = IntType(1, b["int"], False)
        self.uint = IntType(1, b["int"], True)
        self.long = IntType(2, b["long"], False)
        self.ulong = IntType(2, b["long"], True)
        self.llong = IntType(3, b["long_long"], False)
        self.ullong = IntType(3, b["long_long"], True)
        self.size_t = self.ulong
        self.depth = 0
        self.shift_overflow = False

    # -- entry points -----------------------------------------------------------------
    def value(self, node: N.Expr, where: str, strict: bool = False) -> int:
        """The integer value of an integer constant expression.  ``strict``: where GCC wants a
        true constant (an array size, a bit-field width), a shift that overflowed on the way is
        not one (GCC: "variably modified at file scope"); elsewhere (an enumerator) GCC only warns."""
        self.shift_overflow = False
        v, t = self.eval(node, where)
        if t is FLOAT or isinstance(v, float):
            raise NotConstant("not an integer constant expression (floating value)", path=where)
        if strict and self.shift_overflow:
            raise NotConstant("not an integer constant expression (a shift count >= the width of its type)",
                              path=where)
        return v

    def eval(self, node: N.Expr, where: str):
        """(value, IntType | FLOAT | POINTER)."""
        return self._nested(self._eval, node, where)

    def _nested(self, fn, node, where):
        # a bound on the recursion: a deep expression is one error, never a RecursionError
        self.depth += 1
        try:
            if self.depth > 400:
                raise UnsupportedError("expression nested too deeply", path=where)
            return fn(node, where)
        finally:
            self.depth -= 1

    # -- integers -----------------------------------------------------------------------
    def promote(self, t):
        if isinstance(t, IntType) and t.rank < 1:
            if t.bits < self.int.bits or not t.unsigned:
                return self.int
            return self.uint
        return t

    def common(self, a, b):
        """C11 6.3.1.8 usual arithmetic conversions for integer operands."""
        if a is FLOAT or b is FLOAT:
            return FLOAT
        if a is POINTER or b is POINTER:
            return self.ulong
        a, b = self.promote(a), self.promote(b)
        if a.unsigned == b.unsigned:
            return a if (a.rank, a.bits) >= (b.rank, b.bits) else b
        u, s = (a, b) if a.unsigned else (b, a)
        if (u.rank, u.bits) >= (s.rank, s.bits):
            return u
        if s.bits > u.bits:
            return s
        return IntType(s.rank, s.bits, True)

    def int_type_of(self, t: TypeLayout):
        """The arithmetic type of a laid-out type (None: not arithmetic)."""
        r = t.resolved()
        if r.kind == "pointer":
            return POINTER
        if r.kind == "enum" and r.element is not None:
            r = r.element
        if r.kind == "atomic" and r.element is not None:
            return self.int_type_of(r.element)
        if r.kind != "scalar":
            return None
        key = r.canon[1] if len(r.canon) > 1 else ""
        if key in ("float", "double", "long_double", "float16", "fp16", "float128", "gnu_float128", "float64x",
                   "float80", "ibm128", "bf16", "decimal32", "decimal64", "decimal128"):
            return FLOAT
        rank = {"_Bool": 0, "char": 0, "short": 0, "int": 1, "long": 2, "long_long": 3, "int128": 4}.get(key)
        if rank is None:
            return None
        return IntType(rank, 8 * r.size_bytes, r.unsigned)

    def type_layout(self, it) -> TypeLayout:
        if it is FLOAT:
            return self.ls.scalar("double")
        if it is POINTER:
            return self.ls.scalar("long", unsigned=True)
        key = {0: "int", 1: "int", 2: "long", 3: "long_long", 4: "int128"}[it.rank]
        return self.ls.scalar(key, unsigned=it.unsigned)

    # -- the evaluator --------------------------------------------------------------------
    def _eval(self, node, where):
        k = type(node)
        if k is N.Num:
            return self.number(node.text, where)
        if k is N.Char:
            return self.char(node.text, where)
        if k is N.Name:
            return self.name(node.name, where)
        if k is N.Binary:
            return self.binary(node, where)
        if k is N.Unary:
            return self.unary(node, where)
        if k is N.Cond:
            c, _ = self.eval(node.cond, where)
            if c:
                if node.then is None:
                    return c, _
                return self.eval(node.then, where)
            return self.eval(node.other, where)
        if k is N.Cast:
            return self.cast(node, where)
        if k is N.SizeOf:
            t = self.ls.ctype(node.ctype, where) if node.ctype is not None else self.type_of(node.operand, where)
            r = t.resolved()
            if r.kind in ("void", "func"):
                return 1, self.size_t  # GNU: sizeof(void) and sizeof(function) are 1
            if not t.complete:
                raise LayoutError(f"invalid application of 'sizeof' to incomplete type {t.c_type!r}", path=where)
            return t.size_bytes, self.size_t
        if k is N.AlignOf:
            t = self.ls.ctype(node.ctype, where) if node.ctype is not None else self.type_of(node.operand, where)
            if not t.complete and t.resolved().kind not in ("void", "func"):
                raise LayoutError(f"invalid application of '_Alignof' to incomplete type {t.c_type!r}", path=where)
            return (t.gnu_align_bytes if node.gnu else t.align_bytes), self.size_t
        if k is N.OffsetOf:
            t = self.ls.ctype(node.ctype, where)
            return self.offsetof(t, node.steps, where), self.size_t
        if k is N.ChooseExpr:
            c = self.value(node.cond, where)
            return self.eval(node.then if c else node.other, where)
        if k is N.TypesCompatible:
            a = self.ls.ctype(node.a, where)
            b = self.ls.ctype(node.b, where)
            return int(self.ls.compatible(a, b)), self.int
        if k is N.Generic:
            return self.eval(self.generic_choice(node, where), where)
        if k is N.Call:
            return self.call(node, where)
        if k in (N.StmtExpr, N.CompoundLiteral, N.Str, N.Member, N.Index, N.Postfix, N.InitList, N.Opaque):
            raise NotConstant("not an integer constant expression", path=where)
        raise UnsupportedError(f"constant expression node {k.__name__}", path=where)

    def number(self, text: str, where: str):
        t = text.lower()
        is_hex = t.startswith("0x")
        if not is_hex and any(c in t for c in ".e") or is_hex and "p" in t:
            return self.floating(text, where)
        suffix = ""
        while t and t[-1] in "ul":
            suffix = t[-1] + suffix
            t = t[:-1]
        try:
            if t.startswith("0x"):
                v = int(t, 16)
            elif t.startswith("0b"):
                v = int(t[2:], 2)
            elif t.startswith("0") and len(t) > 1:
                v = int(t, 8)
            else:
                v = int(t, 10)
        except ValueError:
            raise LayoutError(f"invalid integer constant {text!r}", path=where) from None
        decimal = not t.startswith("0") or t == "0"
        u = "u" in suffix
        nl = suffix.count("l")
        if nl > 2 or suffix.count("u") > 1:
            raise LayoutError(f"invalid suffix on integer constant {text!r}", path=where)
        # C11 6.4.4.1p5: the first type of the list that can represent the value
        cands = []
        if nl == 0:
            cands += [self.uint] if u else ([self.int] if decimal else [self.int, self.uint])
        if nl <= 1:
            cands += [self.ulong] if u else ([self.long] if decimal else [self.long, self.ulong])
        cands += [self.ullong] if u else ([self.llong] if decimal else [self.llong, self.ullong])
        for c in cands:
            if v < (1 << (c.bits - (0 if c.unsigned else 1))):
                return v, c
        if not decimal or u:
            raise LayoutError(f"integer constant {text!r} is too large for its type", path=where)
        # GCC: a decimal constant too large for long long is `unsigned long long` (with a warning),
        # or __int128 where it exists
        if v < (1 << self.ullong.bits):
            return v, self.ullong
        raise LayoutError(f"integer constant {text!r} is too large for its type", path=where)

    def floating(self, text: str, where: str):
        t = text.lower().rstrip("flfd")
        try:
            v = float.fromhex(t) if t.startswith("0x") else float(t)
        except ValueError:
            raise LayoutError(f"invalid floating constant {text!r}", path=where) from None
        return v, FLOAT

    def char(self, text: str, where: str):
        prefix = text[:text.index("'")]
        body = text[len(prefix) + 1:-1]
        values = _char_values(body)
        if not values:
            raise LayoutError("empty character constant", path=where)
        if prefix in ("L", "u", "U"):
            return values[-1], self.int
        if len(values) > 1:
            # GCC: multi-character constants combine byte by byte (implementation-defined)
            v = 0
            for c in values:
                v = (v << 8) | (c & 0xFF)
            return self.int.wrap(v), self.int
        v = values[0] & 0xFF
        if v > 127 and self.ls.profile.char_signed:
            v -= 256
        return v, self.int

    def name(self, name: str, where: str):
        hit = self.ls.enumerator(name, where)
        if hit is not None:
            v = hit
            it = self.int if -(1 << (self.int.bits - 1)) <= v < (1 << (self.int.bits - 1)) else \
                (self.ullong if v >= (1 << (self.llong.bits - 1)) else self.llong)
            return v, it
        if name in self.ls.tu.variables:
            raise NotConstant(f"{name!r} is not constant", path=where)
        if name.startswith("__builtin_"):
            raise UnsupportedError(f"builtin {name!r} in a constant expression", path=where)
        raise LayoutError(f"{name!r} undeclared", path=where)

    def unary(self, node, where):
        op = node.op
        if op == "&":
            return self.address(node.operand, where)
        if op == "*":
            raise NotConstant("dereference in a constant expression", path=where)
        if op in ("++", "--"):
            raise NotConstant(f"{op} in a constant expression", path=where)
        if op in ("__real__", "__imag__"):
            v, t = self.eval(node.operand, where)
            return (v if op == "__real__" else 0), t
        v, t = self.eval(node.operand, where)
        if op == "!":
            return int(not v), self.int
        t = self.promote(t)
        if t is FLOAT:
            if op == "~":
                raise LayoutError("wrong type argument to bit-complement", path=where)
            return (-v if op == "-" else v), FLOAT
        if t is POINTER:
            raise NotConstant(f"unary {op} on a pointer", path=where)
        if op == "-":
            return t.wrap(-v), t
        if op == "+":
            return v, t
        if op == "~":
            return t.wrap(~v), t
        raise UnsupportedError(f"operator {op!r} in a constant expression", path=where)

    def binary(self, node, where):
        op = node.op
        if op == "&&":
            a, _ = self.eval(node.left, where)
            if not a:
                self.type_of(node.right, where)
                return 0, self.int
            return int(bool(self.eval(node.right, where)[0])), self.int
        if op == "||":
            a, _ = self.eval(node.left, where)
            if a:
                self.type_of(node.right, where)
                return 1, self.int
            return int(bool(self.eval(node.right, where)[0])), self.int
        if op == ",":
            self.eval(node.left, where)
            return self.eval(node.right, where)
        if op.endswith("=") and op not in ("==", "!=", "<=", ">="):
            raise NotConstant("assignment in a constant expression", path=where)
        a, ta = self.eval(node.left, where)
        b, tb = self.eval(node.right, where)
        if op in ("<<", ">>"):
            it = self.promote(ta)
            if it is FLOAT or self.promote(tb) is FLOAT:
                raise LayoutError("invalid operands to shift", path=where)
            if it is POINTER:
                raise NotConstant("shift of a pointer", path=where)
            if b < 0:
                # GCC: "shift count is negative", and the value is no integer constant
                raise NotConstant(f"{op} by a negative count ({b})", path=where)
            if b >= it.bits:
                # GCC folds it with a warning (-Wshift-count-overflow): every bit shifted out, the
                # sign bit shifted in for a negative left operand of >>
                self.shift_overflow = True
                return (-1 if op == ">>" and it.wrap(a) < 0 else 0), it
            if op == "<<":
                return it.wrap(a << b), it
            return it.wrap(a >> b), it
        it = self.common(ta, tb)
        if it is FLOAT:
            a, b = float(a), float(b)
            if op in ("==", "!=", "<", ">", "<=", ">="):
                return int(_compare(op, a, b)), self.int
            if op == "/":
                if b == 0:
                    raise NotConstant("division by zero", path=where)
                return a / b, FLOAT
            fn = {"+": a + b, "-": a - b, "*": a * b}.get(op) if op in "+-*" else None
            if fn is None:
                raise LayoutError(f"invalid operands to binary {op}", path=where)
            return fn, FLOAT
        a, b = it.wrap(a), it.wrap(b)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            return int(_compare(op, a, b)), self.int
        if op in ("/", "%"):
            if b == 0:
                raise NotConstant("division by zero in a constant expression", path=where)
            q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates toward zero
            return it.wrap(q if op == "/" else a - q * b), it
        if op == "+":
            return it.wrap(a + b), it
        if op == "-":
            return it.wrap(a - b), it
        if op == "*":
            return it.wrap(a * b), it
        if op == "&":
            return it.wrap(a & b), it
        if op == "|":
            return it.wrap(a | b), it
        if op == "^":
            return it.wrap(a ^ b), it
        raise UnsupportedError(f"operator {op!r} in a constant expression", path=where)

    def cast(self, node, where):
        t = self.ls.ctype(node.ctype, where)
        v, vt = self.eval(node.operand, where)
        r = t.resolved()
        if r.kind == "pointer":
            if vt is FLOAT:
                raise LayoutError("cannot convert a floating value to a pointer", path=where)
            return v & ((1 << (8 * r.size_bytes)) - 1), POINTER
        if r.kind == "void":
            return 0, self.int
        it = self.int_type_of(t)
        if it is None:
            raise LayoutError(f"cast to {t.c_type!r} in a constant expression", path=where)
        if it is FLOAT:
            return float(v), FLOAT
        if r.c_type == "_Bool" or r.canon[:2] == ("int", "_Bool"):
            return int(bool(v)), self.int
        if vt is FLOAT:
            if math.isnan(v) or math.isinf(v):
                raise UnsupportedError("conversion of a non-finite floating value", path=where)
            v = int(v)
        return it.wrap(v), it

    def call(self, node, where):
        fn = node.func.name if isinstance(node.func, N.Name) else None
        if fn == "__builtin_constant_p":
            try:
                self.value(node.args[0], where)
                return 1, self.int
            except LayoutError:
                return 0, self.int  # GCC: 0 for what it cannot fold at parse time
        if fn == "__builtin_expect" and len(node.args) == 2:
            return self.eval(node.args[0], where)
        if fn in _BUILTIN_BITS and len(node.args) == 1:
            key, what = _BUILTIN_BITS[fn]
            bits = 8 * self.ls.profile.scalars[key].size_bytes
            v = self.value(node.args[0], where) & ((1 << bits) - 1)
            if what == "clz":
                if v == 0:
                    raise NotConstant(f"{fn}(0) is undefined", path=where)
                return bits - v.bit_length(), self.int
            if what == "ctz":
                if v == 0:
                    raise NotConstant(f"{fn}(0) is undefined", path=where)
                return (v & -v).bit_length() - 1, self.int
            if what == "pop":
                return bin(v).count("1"), self.int
            if what == "ffs":
                return (v & -v).bit_length(), self.int
            if what == "parity":
                return bin(v).count("1") & 1, self.int
            out = int.from_bytes(v.to_bytes(bits // 8, "little"), "big")
            return out, IntType(1 if bits <= 32 else 3, bits, True)
        if fn is not None and (fn.startswith("__builtin_") or fn.startswith("__sync_") or fn.startswith("__atomic_")):
            raise UnsupportedError(f"{fn}() in a constant expression", path=where)
        raise NotConstant("function call in a constant expression", path=where)

    # -- addresses and offsets ------------------------------------------------------------
    def offsetof(self, t: TypeLayout, steps, where: str) -> int:
        """offsetof(T, a.b[2].c) in bytes."""
        bits = 0
        cur = t
        for kind, v in steps:
            if kind == "m":
                found = find_member(cur.resolved(), v)
                if found is None:
                    raise LayoutError(f"{cur.c_type!r} has no member named {v!r}", path=where)
                off, m = found
                if m.bitfield:
                    raise LayoutError(f"attempt to take address of bit-field {v!r}", path=where)
                bits += off
                cur = m.type
            else:
                el = cur.resolved().element if cur.resolved().kind == "array" else None
                if el is None:
                    raise LayoutError("subscripted value is neither array nor pointer", path=where)
                bits += 8 * el.size_bytes * self.value(v, where)
                cur = el
        return bits // 8

    def address(self, node, where):
        """``&((T *)0)->a.b[1]``: the classic offsetof spelling folds to a constant."""
        steps: list = []
        n = node
        while True:
            if isinstance(n, N.Member):
                steps.append(("m", n.name))
                if n.arrow:
                    base = n.base
                    break
                n = n.base
            elif isinstance(n, N.Index):
                steps.append(("i", n.index))
                n = n.base
            else:
                raise NotConstant("address of a non-constant object", path=where)
        if not isinstance(base, N.Cast):
            raise NotConstant("address of a non-constant object", path=where)
        ptr = self.ls.ctype(base.ctype, where)
        pointee = self.ls.deref(ptr, where)
        start = self.value(base.operand, where)
        return start + self.offsetof(pointee, list(reversed(steps)), where), POINTER

    # -- types of expressions ------------------------------------------------------------
    def type_of(self, node, where: str) -> TypeLayout:
        """The type of an expression (C11 6.5), without evaluating it."""
        return self._nested(self._type_of, node, where)

    def _type_of(self, node, where) -> TypeLayout:
        ls = self.ls
        k = type(node)
        if k is N.Num:
            v, t = self.number(node.text, where)
            if t is FLOAT:
                text = node.text.lower()
                if text.endswith("f") and not text.startswith("0x") or text.startswith("0x") and text.endswith("f"):
                    return ls.scalar("float")
                if text.endswith("l"):
                    return ls.scalar("long_double")
                return ls.scalar("double")
            return self.type_layout(t)
        if k is N.Char:
            return ls.scalar("int")
        if k is N.Str:
            n = _string_elements(node.text)
            return ls.array_of(ls.scalar("char"), n)
        if k is N.Name:
            var = ls.tu.variables.get(node.name)
            if var is not None:
                return ls.ctype(var.ctype, var.coord)
            return self.type_layout(self.name(node.name, where)[1])
        if k is N.Cast:
            return ls.ctype(node.ctype, where)
        if k is N.CompoundLiteral:
            return ls.ctype(node.ctype, where)
        if k in (N.SizeOf, N.AlignOf, N.OffsetOf):
            return self.type_layout(self.size_t)
        if k is N.TypesCompatible:
            return ls.scalar("int")
        if k is N.ChooseExpr:
            c = self.value(node.cond, where)
            return self.type_of(node.then if c else node.other, where)
        if k is N.Generic:
            return self.type_of(self.generic_choice(node, where), where)
        if k is N.Member:
            base = self.type_of(node.base, where)
            if node.arrow:
                base = ls.deref(base, where)
            found = find_member(base.resolved(), node.name)
            if found is None:
                raise LayoutError(f"{base.c_type!r} has no member named {node.name!r}", path=where)
            return found[1].type
        if k is N.Index:
            base = self.type_of(node.base, where)
            if base.resolved().kind not in ("pointer", "array"):
                base = self.type_of(node.index, where)  # i[p]
            return ls.deref(base, where)
        if k is N.Unary:
            op = node.op
            if op == "*":
                return ls.deref(self.type_of(node.operand, where), where)
            if op == "&":
                return ls.pointer_to(self.type_of(node.operand, where))
            if op == "!":
                return ls.scalar("int")
            if op in ("__real__", "__imag__"):
                t = self.type_of(node.operand, where).resolved()
                return t.element if t.kind == "complex" and t.element is not None else t
            t = self.type_of(node.operand, where)
            if op in ("++", "--"):
                return t
            it = self.int_type_of(t)
            if it is None or it is FLOAT or it is POINTER:
                return t
            return self.type_layout(self.promote(it))
        if k is N.Postfix:
            return self.type_of(node.operand, where)
        if k is N.Binary:
            return self.binary_type(node, where)
        if k is N.Cond:
            return self.cond_type(node, where)
        if k is N.Call:
            fn = node.func.name if isinstance(node.func, N.Name) else None
            if fn == "__builtin_constant_p":
                return ls.scalar("int")
            if fn == "__builtin_expect":
                return ls.scalar("long")
            if fn in _BUILTIN_BITS:
                return self.type_layout(self.call(node, where)[1])
            ft = self.type_of(node.func, where).resolved()
            if ft.kind == "pointer":
                ft = ls.deref(ft, where).resolved()
            if ft.kind == "func" and ft.element is not None:
                return ft.element
            raise UnsupportedError(f"type of a call to {fn or 'an expression'}", path=where)
        if k is N.StmtExpr:
            raise UnsupportedError("the type of a statement expression", path=where)
        raise UnsupportedError(f"the type of a {k.__name__} expression", path=where)

    def binary_type(self, node, where) -> TypeLayout:
        ls = self.ls
        op = node.op
        if op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
            return ls.scalar("int")
        if op == ",":
            return self.decay(self.type_of(node.right, where))
        if op.endswith("=") and op not in ("==", "!=", "<=", ">="):
            return self.type_of(node.left, where)
        ta = self.decay(self.type_of(node.left, where))
        tb = self.decay(self.type_of(node.right, where))
        pa, pb = ta.resolved().kind == "pointer", tb.resolved().kind == "pointer"
        if op in ("+", "-") and (pa or pb):
            if pa and pb:
                return ls.scalar("long")  # ptrdiff_t
            return ta if pa else tb
        ia, ib = self.int_type_of(ta), self.int_type_of(tb)
        if ia is None or ib is None:
            raise LayoutError(f"invalid operands to binary {op}", path=where)
        if op in ("<<", ">>"):
            return self.type_layout(self.promote(ia))
        if ia is FLOAT or ib is FLOAT:
            return self._float_common(ta, tb)
        return self.type_layout(self.common(ia, ib))

    def _float_common(self, a: TypeLayout, b: TypeLayout) -> TypeLayout:
        order = ["float16", "bf16", "float", "double", "float80", "long_double", "float64x", "float128"]
        ka = a.resolved().canon[1] if a.resolved().kind == "scalar" else "int"
        kb = b.resolved().canon[1] if b.resolved().kind == "scalar" else "int"
        best = max((ka, kb), key=lambda x: order.index(x) if x in order else -1)
        return self.ls.scalar(best if best in order else "double")

    def cond_type(self, node, where) -> TypeLayout:
        """C11 6.5.15p6: the type of ``c ? a : b`` (null pointer constants matter)."""
        ls = self.ls
        a_node = node.then if node.then is not None else node.cond
        ta = self.decay(self.type_of(a_node, where))
        tb = self.decay(self.type_of(node.other, where))
        ra, rb = ta.resolved(), tb.resolved()
        if ra.kind == "pointer" or rb.kind == "pointer":
            a_null, b_null = self.null_pointer_constant(a_node, where), self.null_pointer_constant(node.other, where)
            if ra.kind == "pointer" and rb.kind == "pointer":
                if b_null:
                    return ta
                if a_null:
                    return tb
                if ls.is_void_pointer(ra):
                    return ta
                if ls.is_void_pointer(rb):
                    return tb
                return ta
            return ta if ra.kind == "pointer" else tb
        ia, ib = self.int_type_of(ta), self.int_type_of(tb)
        if ia is not None and ib is not None:
            if ia is FLOAT or ib is FLOAT:
                return self._float_common(ta, tb)
            return self.type_layout(self.common(ia, ib))
        return ta

    def null_pointer_constant(self, node, where) -> bool:
        """An integer constant expression of value 0, or one cast to ``void *`` (C11 6.3.2.3p3)."""
        if isinstance(node, N.Cast):
            t = self.ls.ctype(node.ctype, where).resolved()
            if t.kind == "pointer" and self.ls.is_void_pointer(t):
                node = node.operand
            elif t.kind == "pointer":
                return False
        try:
            t = self.decay(self.type_of(node, where))
            if self.int_type_of(t) in (None, FLOAT, POINTER):
                return False
            return self.value(node, where) == 0
        except LayoutError:
            return False

    def decay(self, t: TypeLayout) -> TypeLayout:
        """Array-to-pointer and function-to-pointer conversion (C11 6.3.2.1)."""
        r = t.resolved()
        if r.kind == "array" and r.element is not None:
            return self.ls.pointer_to(r.element)
        if r.kind == "func":
            return self.ls.pointer_to(r)
        return t

    def generic_choice(self, node, where) -> N.Expr:
        control = self.decay(self.type_of(node.control, where))
        default = None
        for ctype, expr in node.assocs:
            if ctype is None:
                default = expr
                continue
            if self.ls.compatible(self.ls.ctype(ctype, where), control):
                return expr
        if default is None:
            raise LayoutError("_Generic selector matches no association", path=where)
        return default


def _compare(op: str, a, b) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    return a >= b


_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39, '"': 34,
                   "?": 63, "e": 27}


def _char_values(body: str) -> list[int]:
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.extend(c.encode("utf-8"))
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 2:j] or "0", 16))
            i = j
        elif nxt.isdigit() and nxt < "8":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j].isdigit() and body[j] < "8":
                j += 1
            out.append(int(body[i + 1:j], 8))
            i = j
        else:
            out.append(_SIMPLE_ESCAPES.get(nxt, ord(nxt) if nxt else 0))
            i += 2
    return out


def _string_elements(parts: tuple[str, ...]) -> int:
    """Elements of the char array (adjacent) string literals make, NUL included."""
    return sum(len(_char_values(p[p.index('"') + 1:-1])) for p in parts) + 1
