"""The front end's data: C types as written (``CType``) and constant-expression nodes.

Both are plain immutable values: the parser builds them, the layout engine
(``bitlayout.layout``) evaluates them per architecture, nothing mutates them afterwards.
Expression nodes carry no position; errors name the declaration they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CType:
    """A C type as written.

    kind:
      ``scalar``   name = profile scalar key (``int``, ``long_long``, ``float128`` ...) or ``void``
      ``complex``  ``of`` = the component scalar (``_Complex double``, GNU ``_Complex int``)
      ``bitint``   ``count`` = width expression (``_BitInt(N)``)
      ``vector``   ``of`` = element type, ``count`` = ``vector_size`` in bytes (an expression)
      ``mode``     ``of`` = the declared scalar, ``name`` = GCC machine mode (``DI``, ``word`` ...)
      ``va_list``  ``__builtin_va_list`` (its layout is per ABI: a profile scalar)
      ``pointer``  ``of`` = pointee
      ``array``    ``of`` = element, ``count`` = length expression or None (``[]``)
      ``func``     a function type (parameters are never needed for a layout)
      ``tag``      name = tag key (``struct s``, ``union <anonymous at f.h:3:5>``)
      ``typedef``  name = typedef name
      ``typeof``   ``of`` = a type, or ``expr`` = an expression whose type it is
      ``atomic``   ``of`` = the ``_Atomic`` qualified type
      ``unsupported`` name = why the front end cannot model it
    """

    kind: str
    name: str = ""
    unsigned: bool = False
    of: "CType | None" = None
    count: "Expr | None" = None
    expr: "Expr | None" = None
    spelled: str = ""

    def describe(self) -> str:
        """C-like spelling for messages and the table view (``struct mm_struct *``)."""
        k = self.kind
        if k in ("scalar", "bitint", "va_list"):
            return self.spelled or self.name
        if k in ("tag", "typedef"):
            return self.name
        if k == "complex":
            return f"_Complex {self.of.describe()}"
        if k == "pointer":
            inner = self.of.describe() if self.of is not None else "void"
            return f"{inner} *" if not inner.endswith("*") else f"{inner}*"
        if k == "array":
            return f"{self.of.describe()}[]" if self.count is None else f"{self.of.describe()}[N]"
        if k == "atomic":
            return f"_Atomic({self.of.describe()})"
        if k == "vector":
            return f"{self.of.describe()} __attribute__((vector_size))"
        if k == "mode":
            return f"{self.of.describe()} __attribute__((mode({self.name})))"
        if k == "typeof":
            return f"typeof({self.of.describe()})" if self.of is not None else "typeof(expr)"
        if k == "func":
            return "function"
        return self.spelled or k


VOID = CType("scalar", "void", spelled="void")
INT = CType("scalar", "int", spelled="int")


# ---------------------------------------------------------------------------
# Expressions

class Expr:
    """Base class of the expression nodes below (frozen dataclasses: compared and hashed by value)."""

    __slots__ = ()


def _node(name: str, fields: tuple[str, ...], doc: str) -> type:
    cls = type(name, (Expr,), {"__annotations__": {f: object for f in fields}, "__doc__": doc})
    return dataclass(frozen=True, slots=True)(cls)


Num = _node("Num", ("text",), "An integer or floating constant as written (``0x10UL``).")
Char = _node("Char", ("text",), "A character constant as written (``'a'``, ``L'\\0'``).")
Str = _node("Str", ("text",), "A string literal (adjacent literals already joined).")
Name = _node("Name", ("name",), "An identifier: enumerator, variable, function or macro.")
Unary = _node("Unary", ("op", "operand"), "Prefix ``- + ~ ! * & ++ --``.")
Postfix = _node("Postfix", ("op", "operand"), "Postfix ``++``/``--``.")
Binary = _node("Binary", ("op", "left", "right"), "Binary operators, ``,`` and assignments.")
Cond = _node("Cond", ("cond", "then", "other"), "``c ? a : b``; ``then`` is None for GNU ``c ?: b``.")
Cast = _node("Cast", ("ctype", "operand"), "``(T) x``.")
SizeOf = _node("SizeOf", ("ctype", "operand"), "``sizeof(T)`` (ctype) or ``sizeof x`` (operand).")
AlignOf = _node("AlignOf", ("ctype", "operand", "gnu"),
                "``_Alignof(T)`` (gnu False: the ABI alignment) or ``__alignof__`` (gnu True: GCC's "
                "preferred alignment, 8 for ``long long`` on i386).")
OffsetOf = _node("OffsetOf", ("ctype", "steps"),
                 "``offsetof(T, a.b[2])``: steps are ('m', name) and ('i', Expr).")
Member = _node("Member", ("base", "name", "arrow"), "``x.m`` / ``x->m``.")
Index = _node("Index", ("base", "index"), "``x[i]``.")
Call = _node("Call", ("func", "args"), "A call; ``__builtin_*`` calls are evaluated where constant.")
TypesCompatible = _node("TypesCompatible", ("a", "b"), "``__builtin_types_compatible_p(A, B)``.")
ChooseExpr = _node("ChooseExpr", ("cond", "then", "other"), "``__builtin_choose_expr(c, a, b)``.")
Generic = _node("Generic", ("control", "assocs"),
                "``_Generic(x, T: e, default: e)``: assocs are (CType or None, Expr).")
StmtExpr = _node("StmtExpr", ("where",), "A GNU statement expression ``({ ... })`` (never constant).")
CompoundLiteral = _node("CompoundLiteral", ("ctype",), "``(T){ ... }`` (the initializer is not kept).")
InitList = _node("InitList", ("count",), "A brace initializer, kept only as its element count (or None).")
Opaque = _node("Opaque", ("what",), "A construct the evaluator never needs (label address, va_arg...).")
