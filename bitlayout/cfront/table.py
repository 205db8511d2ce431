"""The declaration table: what one translation unit declares, in source order.

Built once by ``bitlayout.cfront.parser`` and never changed afterwards (every container is a tuple
or a read-only mapping): the layout engine lays the same table out for many arches, in several
threads or forked workers, so a table must not remember anything about one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .nodes import CType, Expr


@dataclass(frozen=True, slots=True)
class Attr:
    """One GNU attribute that matters for layout.

    ``packed``; ``aligned`` (arg: expression, or None for bare ``aligned`` = the target's biggest
    alignment); ``pack`` (``#pragma pack`` in force when a struct was completed; arg: its value
    as an expression); ``scalar_storage_order`` (arg: ``"big-endian"``/``"little-endian"``);
    ``unsupported`` (arg: why: ``ms_struct`` ...)."""

    name: str
    arg: object = None


@dataclass(frozen=True, slots=True)
class FieldDecl:
    name: str | None
    ctype: CType
    bits: Expr | None  # bit-field width, None for an ordinary member
    attrs: tuple[Attr, ...]
    alignas: tuple  # _Alignas arguments: Expr or CType each
    coord: str


@dataclass(frozen=True, slots=True)
class TagDef:
    kind: str  # struct union enum
    name: str | None
    key: str  # "struct s" or "struct <anonymous at file:line:col>"
    fields: tuple[FieldDecl, ...] | None  # None: declared only (incomplete)
    enumerators: tuple[tuple[str, Expr | None], ...] = ()
    attrs: tuple[Attr, ...] = ()
    coord: str = ""
    file: str = ""
    fixed_type: CType | None = None  # C23/clang `enum e : T`


@dataclass(frozen=True, slots=True)
class TypedefDecl:
    name: str
    ctype: CType
    attrs: tuple[Attr, ...]
    alignas: tuple
    coord: str
    file: str
    # The typedef's own type is qualified (`typedef const struct s cs_t;`; an _Atomic one shows in
    # ctype): GCC lays an array of it out from the unqualified, attribute-free type.
    qualified: bool = False


@dataclass(frozen=True, slots=True)
class VarDecl:
    """A file-scope object or function: its type answers ``typeof(x)`` and ``sizeof x``."""

    name: str
    ctype: CType
    attrs: tuple[Attr, ...]
    coord: str


@dataclass(frozen=True, slots=True)
class TypedefAgain:
    """A typedef declared a second time (C11 6.7p3 allows it if the type is the same, which the
    layout engine checks per arch: ``int[sizeof(long)]`` and ``int[8]`` agree on 64-bit only)."""

    first: TypedefDecl
    again: TypedefDecl


@dataclass(frozen=True, slots=True)
class StaticAssert:
    cond: Expr
    message: str
    coord: str


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A top-level declaration the parser could not read: the names it seems to declare are
    reported unsupported (with ``reason``), never guessed."""

    names: tuple[str, ...]
    reason: str
    coord: str


@dataclass(frozen=True)
class TranslationUnit:
    """Everything the layout engine needs, in declaration order."""

    items: tuple  # TagDef | TypedefDecl | TypedefAgain | VarDecl | StaticAssert | Unparsed, in source order
    tags: Mapping[str, TagDef]
    typedefs: Mapping[str, TypedefDecl]
    enum_constants: Mapping[str, tuple[str, int]]  # name -> (enum tag key, index)
    variables: Mapping[str, VarDecl]
    input_files: tuple[str, ...]
    unsupported_names: Mapping[str, str] = field(default_factory=dict)  # name -> reason at file:line

    def __post_init__(self):
        for name in ("tags", "typedefs", "enum_constants", "variables", "unsupported_names"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def __reduce__(self):
        return (TranslationUnit, (self.items, dict(self.tags), dict(self.typedefs), dict(self.enum_constants),
                                  dict(self.variables), self.input_files, dict(self.unsupported_names)))

    def _in_inputs(self, file: str) -> bool:
        return not self.input_files or file in self.input_files

    def defined_type_names(self, everything: bool = False) -> list[str]:
        """Contract names of every struct/union/enum/typedef defined in the input files (or in the
        whole translation unit with ``everything``), in declaration order."""
        return [name for name, _file in self.type_names_with_files(everything)]

    def type_names_with_files(self, everything: bool = True) -> list[tuple[str, str]]:
        """(name, file) of the named types defined in the input files (everything: in the TU)."""
        out: list[tuple[str, str]] = []
        seen = set()
        for item in self.items:
            if isinstance(item, TagDef):
                if item.name is None or item.fields is None and item.kind != "enum":
                    continue
                name = item.key
            elif isinstance(item, TypedefDecl):
                name = item.name
            elif isinstance(item, Unparsed):
                for nm in item.names:
                    if nm not in seen and (everything or self._in_inputs(item.coord.rsplit(":", 2)[0])):
                        seen.add(nm)
                        out.append((nm, item.coord.rsplit(":", 2)[0]))
                continue
            else:
                continue
            if not everything and not self._in_inputs(item.file):
                continue
            if name not in seen:
                seen.add(name)
                out.append((name, item.file))
        return out
