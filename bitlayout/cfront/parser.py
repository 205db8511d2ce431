"""Preprocessed GNU C -> declaration table (``bitlayout.cfront.table``).

A hand-written recursive-descent parser for what GCC accepts at file scope.  It reads every
declaration a layout can depend on (tags, typedefs, file-scope objects, enumerators, static
assertions, pragmas) and jumps over what cannot change a layout without reading it: function
bodies, initializers, parameter lists, ``asm`` statements.  So statement expressions,
``_Generic``, ``asm goto``, ``__auto_type`` or nested functions inside a kernel inline function
cost one bracket scan and never an error.

GNU attributes are read where GCC allows them (``docs/cfront.md`` lists the positions) and kept
when they matter for layout (``packed``, ``aligned``, ``mode``, ``vector_size``,
``scalar_storage_order``, ``ms_struct``...).  Constant expressions become
``bitlayout.cfront.nodes`` trees that the layout engine evaluates per architecture.

Errors are ``CParseError`` with ``file:line:col`` first; semantic errors GCC reports at parse time
(redefinitions, a tag used as the wrong kind, duplicate enumerators, conflicting kinds of
symbol) are ``LayoutError`` with the position.
"""

from __future__ import annotations

import re

from ..errors import CParseError, LayoutError
from . import declmemo
from . import nodes as N
from .lexer import CHAR, EOF, ID, NUM, PRAGMA, PUNCT, STR, Lexer, Token
from .nodes import CType
from .table import (Attr, FieldDecl, StaticAssert, TagDef, TranslationUnit, TypedefAgain, TypedefDecl, Unparsed,
                    VarDecl)

# ---------------------------------------------------------------------------
# Vocabulary

# Spellings GCC accepts for one keyword.
_CANON = {
    "__signed__": "signed", "__signed": "signed",
    "__const__": "const", "__const": "const",
    "__volatile__": "volatile", "__volatile": "volatile",
    "__restrict__": "restrict", "__restrict": "restrict",
    "__inline__": "inline", "__inline": "inline",
    "__typeof__": "typeof", "__typeof": "typeof", "typeof_unqual": "typeof", "__typeof_unqual__": "typeof",
    "__typeof_unqual": "typeof",
    "__alignof__": "__alignof__", "__alignof": "__alignof__", "alignof": "_Alignof",
    "__attribute": "__attribute__",
    "__asm__": "asm", "__asm": "asm",
    "__complex__": "_Complex", "__complex": "_Complex",
    "__real__": "__real__", "__real": "__real__", "__imag__": "__imag__", "__imag": "__imag__",
    "static_assert": "_Static_assert",
    "__thread": "_Thread_local",
    "__extension__": "__extension__",
    "__builtin_offsetof": "offsetof",
}

_STORAGE = {"typedef", "extern", "static", "auto", "register", "_Thread_local"}
_FUNC_SPEC = {"inline", "_Noreturn"}
_QUALIFIERS = {"const", "volatile", "restrict", "__seg_fs", "__seg_gs", "__ptr32", "__ptr64"}
_INT_WORDS = {"void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool",
              "_Complex", "__int128", "__int128_t", "__uint128_t", "_Float16", "_Float32", "_Float64", "_Float128",
              "_Float32x", "_Float64x", "_Float128x", "__float128", "__float80", "__ibm128", "__ieee128", "__bf16",
              "__fp16", "_Decimal32", "_Decimal64", "_Decimal128", "_Imaginary"}
# Type keywords a compiler has only on some targets; elsewhere they are ordinary identifiers.
_EXTENSION_FLOATS = {"_Float16", "_Float32", "_Float64", "_Float128", "_Float32x", "_Float64x", "_Float128x",
                     "__float128", "__float80", "__ibm128", "__ieee128", "__bf16", "__fp16"}
_TYPE_START = _INT_WORDS | _QUALIFIERS | {"struct", "union", "enum", "typeof", "_Atomic", "_Alignas",
                                          "__attribute__", "__builtin_va_list", "_BitInt", "__auto_type",
                                          "__extension__"}
_DECL_START = _TYPE_START | _STORAGE | _FUNC_SPEC


def _last_char_before(text: str, at: int) -> str:
    """The character before ``at`` past blanks ('' at the start)."""
    at -= 1
    while at >= 0 and text[at] in " \t\r\n":
        at -= 1
    return text[at] if at >= 0 else ""


# A parameter list read from its text (Parser._first_words_of_parameters): its brackets, commas and
# literals (a comma inside one splits nothing); the first two tokens of a parameter, past blanks
# and the line markers the preprocessor may put inside a list that spans lines.
_PARAM_PUNCT_RE = re.compile(r"""[][(){},]|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'""")
_PARAM_WORDS_RE = re.compile(r"(?:\s|^[ \t]*#[^\n]*\n)*([A-Za-z_]\w*)(?:\s|^[ \t]*#[^\n]*\n)*([A-Za-z_]\w*|[*,)])?",
                             re.MULTILINE)

# Scalar words -> profile scalar key (``int`` words are handled apart).
_FLOAT_KEYS = {
    ("float",): "float", ("double",): "double", ("double", "long"): "long_double",
    ("_Float16",): "float16", ("__fp16",): "fp16", ("_Float32",): "float", ("_Float64",): "double",
    ("_Float32x",): "double", ("_Float64x",): "float64x", ("_Float128",): "float128", ("__float128",): "gnu_float128",
    ("__ieee128",): "gnu_float128", ("__float80",): "float80", ("__ibm128",): "ibm128", ("__bf16",): "bf16",
    ("_Decimal32",): "decimal32", ("_Decimal64",): "decimal64", ("_Decimal128",): "decimal128",
}

# Attributes with a layout effect the engine does not model: the types they touch are reported
# unsupported (never guessed).
_UNMODELLED_ATTRS = {"ms_struct"}
# Attributes read for layout; everything else (section, format, deprecated, nonnull, ...) has none.
_LAYOUT_ATTRS = {"packed", "aligned", "mode", "vector_size", "scalar_storage_order", "ms_struct", "gcc_struct"}


def _attr_name(text: str) -> str:
    if text.startswith("__") and text.endswith("__") and len(text) > 4:
        return text[2:-2]
    return text


class _Specs:
    """What a declaration-specifier sequence said."""

    __slots__ = ("storage", "base", "groups", "alignas", "defined_tag", "words", "where", "qualified")

    def __init__(self):
        self.storage: str | None = None
        self.base: CType | None = None
        self.groups: list[list[Attr]] = []  # the specifiers' __attribute__ groups, in source order
        self.alignas: list = []
        self.defined_tag: str | None = None  # a tag defined (with a body) in these specifiers
        self.words: list[str] = []
        self.where = ""
        self.qualified = False  # const, volatile, restrict, an address space or the _Atomic qualifier


    @property
    def attrs(self) -> list[Attr]:
        """The specifiers' attributes in the order GCC handles them: c-decl.cc declspecs_add_attrs
        prepends each group (``specs->attrs = chainon (attrs, specs->attrs)``), so the last group
        comes first."""
        return [a for g in reversed(self.groups) for a in g]


class _Declarator:
    """A declarator: its name, how it derives the declared type from the base, its attributes."""

    __slots__ = ("name", "derive", "attrs", "function", "offset", "unsized_array")

    def __init__(self):
        self.name: str | None = None
        self.derive: list = []  # ("ptr", attrs) | ("array", count) | ("func",) applied outside-in
        self.attrs: list[Attr] = []
        self.function = False  # the declared entity is a function
        self.offset = 0
        self.unsized_array = False

    def apply(self, base: CType) -> CType:
        t = base
        for op in reversed(self.derive):
            if op[0] == "ptr":
                t = CType("pointer", of=t)
                if op[1] is not None:
                    t = CType("unsupported", name=op[1])
            elif op[0] == "array":
                t = CType("array", of=t, count=op[1])
            else:
                t = CType("func", of=t)
        return t


# ---------------------------------------------------------------------------

class Parser:
    def __init__(self, text: str, filename: str = "<input>", input_files: tuple[str, ...] = ()):
        self.lx = Lexer(text, filename)
        self.filename = filename
        self.input_files = tuple(input_files)
        self.items: list = []
        self.tags: dict[str, TagDef] = {}
        self.tag_kinds: dict[str, str] = {}  # tag name -> struct/union/enum (one namespace)
        self.typedefs: dict[str, TypedefDecl] = {}
        self.enum_constants: dict[str, tuple[str, int]] = {}
        self.variables: dict[str, VarDecl] = {}
        self.ordinary: dict[str, str] = {}  # typedef / object / enumerator: one namespace in C
        self.unsupported_names: dict[str, str] = {}
        # While a top-level declaration is recorded for the memo (declmemo): what its parse asked
        # of the tables and what it wrote to them.
        self._reads: dict | None = None
        self._typedef_reads: dict | None = None
        self._writes: list | None = None
        self._written: set = set()
        self._body: tuple[int, int] | None = None  # a function definition's `{`: offset, end
        # #pragma pack state (GCC c-pragma.cc handle_pragma_pack): bytes, 0 = none
        self.pack = 0
        self.pack_default = 0
        self.pack_stack: list[tuple[int, str | None]] = []
        self.sso: str | None = None  # #pragma scalar_storage_order in force

    # -- token helpers ------------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        la = self.lx.lookahead
        if k < len(la):
            return la[-1 - k]
        return self.lx.peek(k)

    def next(self) -> Token:
        la = self.lx.lookahead
        return la.pop() if la else self.lx._scan()

    def at(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.text == text and t.kind in (PUNCT, ID)

    def accept(self, text: str) -> bool:
        t = self.peek()
        if t.text == text and t.kind in (PUNCT, ID):
            self.next()
            return True
        return False

    def expect(self, text: str, what: str = "") -> Token:
        t = self.lx.next()
        if t.text != text or t.kind not in (PUNCT, ID):
            self.fail(t, f"expected {text!r}{' ' + what if what else ''} before {self._show(t)}")
        return t

    def fail(self, tok: Token, msg: str):
        raise CParseError(f"{self.lx.where(tok.offset)}: {msg}")

    @staticmethod
    def _show(t: Token) -> str:
        return "end of input" if t.kind == EOF else repr(t.text)

    def where(self, tok: Token) -> str:
        return self.lx.where(tok.offset)

    def canon(self, t: Token) -> str:
        return _CANON.get(t.text, t.text) if t.kind == ID else t.text

    def is_typedef_name(self, name: str) -> bool:
        found = name in self.typedefs
        seen = self._typedef_reads  # the commonest question by far: kept apart, keyed by name
        if seen is not None and name not in seen and ("typedefs", name) not in self._written:
            seen[name] = found
        return found

    # -- the tables, as the declaration memo sees them (declmemo) ------------------------
    def _get(self, table: str, key: str):
        value = getattr(self, table).get(key)
        if self._reads is not None:
            self._read(table, key, False, value)
        return value

    def _has(self, table: str, key: str) -> bool:
        found = key in getattr(self, table)
        if self._reads is not None:
            self._read(table, key, True, found)
        return found

    def _read(self, table: str, key: str, presence_only: bool, answer) -> None:
        """Record what the declaration found in the tables before it: the first answer for a
        key it has not written itself (later ones follow from its own writes)."""
        if (table, key) not in self._written:
            self._reads.setdefault((table, key, presence_only), answer)

    def _put(self, table: str, key: str, value) -> None:
        getattr(self, table)[key] = value
        if self._writes is not None:
            self._writes.append((table, key, value))
            self._written.add((table, key))

    def _pragma_state(self) -> tuple:
        return self.pack, self.pack_default, tuple(self.pack_stack), self.sso

    # -- driver -------------------------------------------------------------------
    def parse(self, recover: bool = False) -> TranslationUnit:
        """The whole text.  ``recover``: a top-level declaration this parser cannot read is
        skipped and the names it seems to declare are reported unsupported (``Unparsed``) instead
        of failing the file (used once the compiler has said the file is valid C)."""
        memo = declmemo.enabled()
        context = (self.filename, self.input_files)
        tables = {name: getattr(self, name) for name in self._TABLES}
        while True:
            t = self.peek()
            if t.kind == EOF:
                break
            mark = self._mark() if recover else None
            try:
                if self._declaration_noise(t, self.items):
                    continue
                if self.canon(t) == "asm" and self.at("(", 1):
                    self.next()
                    self.lx.skip_balanced(self.next())
                    self.expect(";", "after top-level asm")
                    continue
                if memo:
                    self._memoised_declaration(t, context, tables)
                else:
                    self.external_declaration()
            except CParseError as exc:
                if not recover:
                    raise
                self._rewind(mark)  # nothing half-read is kept (a typedef seen before the error)
                self._skip_unparsed(t, str(exc))
        return TranslationUnit(tuple(self.items), self.tags, self.typedefs, self.enum_constants, self.variables,
                               self.input_files, self.unsupported_names)

    _TABLES = ("tags", "tag_kinds", "typedefs", "enum_constants", "variables", "ordinary")

    def _memoised_declaration(self, t: Token, context: tuple, tables: dict) -> None:
        """external_declaration, or the replay of the same declaration parsed before (declmemo)."""
        lx = self.lx
        start = t.offset
        state = self._pragma_state()
        presumed, line, col, physical = lx.position(start)
        files = (presumed, physical)
        prefix = lx.text[start:start + declmemo.PREFIX]
        brace = prefix.find("{")
        if brace >= 0:  # no part of a function body (an entry's text ends with its `{`)
            prefix = prefix[:brace + 1]
        key = (prefix, line, col, context, state)
        entry = declmemo.lookup(key, lx.text, start, tables, files, self._file_role)
        if entry is not None:
            lx.lookahead.clear()
            lx.pos = start + len(entry.text)
            if entry.body_at >= 0:  # a function body, skipped unread: this text's own, up to its end
                lx.skip_balanced(Token(PUNCT, "{", start + entry.body_at))
            self.items.extend(entry.items)
            for table, name, value in entry.writes:
                tables[table][name] = value
            if entry.state_after is not None:
                self.pack, self.pack_default, stack, self.sso = entry.state_after
                self.pack_stack = list(stack)
            return
        n_items = len(self.items)
        self._reads, self._typedef_reads, self._writes, self._written = {}, {}, [], set()
        self._body = None
        try:
            self.external_declaration()
            reads, typedef_reads, writes = self._reads, self._typedef_reads, self._writes
        finally:
            self._reads = self._typedef_reads = self._writes = None
        body_at = -1
        if self._body is not None:
            # A function definition: kept up to its body's `{`, which the replay skips in its own
            # text (kernel headers' static inline bodies differ per arch; the table never does).
            opener, end = self._body
            body_at = opener - start
        else:
            # Nothing peeked past the last token (the usual case): the lexer stands right after it.
            end = lx.pos if not lx.lookahead else self._declaration_end(start)
        after = self._pragma_state()
        declmemo.store(key, declmemo.Entry(lx.text[start:end], tuple(reads.items()),
                                           tuple(typedef_reads.items()), tuple(self.items[n_items:]),
                                           tuple(writes), after if after != state else None, files, body_at))

    def _file_role(self, path: str) -> tuple[bool, bool]:
        """What the parse asks of a file's name (declmemo moves entries between files alike)."""
        return path in self.input_files, path == self.filename

    def _declaration_end(self, start: int) -> int:
        """Where the declaration that began at ``start`` ends: after its last token, before the
        whitespace and directive lines (line markers, ``-dD`` macros) up to the next token."""
        text = self.lx.text
        end = self.peek().offset
        while True:
            while end > start and text[end - 1] in " \t\r\n\f\v":
                end -= 1
            line = text.rfind("\n", start, end) + 1
            if line > start and text[line:end].lstrip(" \t").startswith("#"):
                end = line
                continue
            return end

    def _mark(self) -> tuple:
        return len(self.items), tuple(len(getattr(self, name)) for name in self._TABLES)

    def _rewind(self, mark: tuple) -> None:
        """Forget the entries added since ``mark`` (dicts keep insertion order)."""
        del self.items[mark[0]:]
        for name, n in zip(self._TABLES, mark[1]):
            table = getattr(self, name)
            for key in list(table)[n:]:
                del table[key]

    def _skip_unparsed(self, start: Token, reason: str) -> None:
        """Jump from ``start`` to the end of its declaration (a `;` outside brackets, or a
        body's `}` not followed by a declarator) and record what it declares as unsupported."""
        self.lx.lookahead.clear()
        self.lx.pos = start.offset
        words: list[Token] = []
        while True:
            t = self.next()
            if t.kind == EOF:
                break
            if t.kind == PUNCT and t.text in "([{":
                close = self.lx.skip_balanced(t)
                words.append(t)
                words.append(close)
                if t.text == "{" and self.peek().kind != ID and not self.at(";") and not self.at("*"):
                    break  # a function body: the declaration ends with it
                continue
            words.append(t)
            if t.kind == PUNCT and t.text == ";":
                break
        names = []
        texts = [w.text for w in words]
        for i, w in enumerate(texts[:-1]):
            if w in ("struct", "union", "enum") and words[i + 1].kind == ID and i + 2 < len(texts) \
                    and texts[i + 2] == "{":
                names.append(f"{w} {texts[i + 1]}")
        if "typedef" in texts:
            ids = [w for w in words if w.kind == ID and w.text not in _DECL_START and not self.is_typedef_name(w.text)]
            if ids:
                names.append(ids[-1].text)
                self.typedefs.setdefault(ids[-1].text, TypedefDecl(
                    ids[-1].text, CType("unsupported", name=f"cannot parse: {reason}"), (), (),
                    self.where(start), self.lx.file_of(start.offset)))
        where = self.where(start)
        why = reason.split(": ", 1)[-1]
        for name in names:
            self.unsupported_names[name] = f"cannot parse the declaration ({why}) at {where.rsplit(':', 1)[0]}"
        self.items.append(Unparsed(tuple(names), f"cannot parse the declaration: {why}", where))

    def _declaration_noise(self, t: Token, asserts: list) -> bool:
        """Consume what may stand between declarations, at file scope and in a struct body:
        pragmas, stray `;`, `__extension__`, static assertions (into ``asserts``)."""
        if t.kind == PRAGMA:
            self.next()
            self.pragma(t)
            return True
        if t.kind == PUNCT and t.text == ";":
            self.next()
            return True
        word = self.canon(t)
        if word == "__extension__":
            self.next()
            return True
        if word == "_Static_assert":
            self.static_assert(into=asserts)
            return True
        return False

    # -- pragmas ------------------------------------------------------------------
    def pragma(self, t: Token) -> None:
        words = re.findall(r"[A-Za-z_]\w*|\d+|\S", t.text)
        if not words:
            return
        if words[0] == "pack":
            self._pragma_pack(words[1:])
        elif words[0] == "scalar_storage_order" and len(words) > 1:
            # GCC c-pragma.cc handle_pragma_scalar_storage_order: `big-endian` lexes as `big`
            self.sso = {"big": "big-endian", "little": "little-endian", "default": None}.get(words[1], self.sso)
        # every other pragma (GCC diagnostic, visibility, weak, redefine_extname ...) has no layout effect

    def _pragma_pack(self, words: list[str]) -> None:
        """GCC c-pragma.cc handle_pragma_pack: malformed forms are ignored (GCC only warns)."""
        if not words or words[0] != "(" or ")" not in words:
            return
        # tokens after the first `)` are "junk at end of #pragma pack": GCC warns and goes on
        inner = words[1:words.index(")")]
        if not inner:
            self._set_pack(self.pack_default_initial())
            return
        if inner[0].isdigit():
            if len(inner) != 1 or int(inner[0]) not in (0, 1, 2, 4, 8, 16):
                return
            self._set_pack(int(inner[0]))
            return
        action = inner[0]
        if action not in ("push", "pop"):
            return
        ident, align = None, None
        rest = inner[1:]
        while rest:
            if rest[0] != "," or len(rest) < 2:
                return
            tok = rest[1]
            if not tok.isdigit() and ident is None:
                ident = tok
            elif tok.isdigit() and action == "push" and align is None:
                align = int(tok)
            else:
                return
            rest = rest[2:]
        if action == "push":
            if align is None:
                align = self.pack
            elif align not in (0, 1, 2, 4, 8, 16):
                return
            if not self.pack_stack:
                self.pack_default = self.pack
            self.pack_stack.append((align, ident))
            self.pack = align
        else:
            if not self.pack_stack:
                return
            if ident is not None:
                for k in range(len(self.pack_stack) - 1, -1, -1):
                    if self.pack_stack[k][1] == ident:
                        del self.pack_stack[k + 1:]
                        break
            self.pack_stack.pop()
            self.pack = self.pack_stack[-1][0] if self.pack_stack else self.pack_default

    @staticmethod
    def pack_default_initial() -> int:
        return 0  # GCC initial_max_fld_align without -fpack-struct

    def _set_pack(self, value: int) -> None:
        self.pack = value
        if self.pack_stack:
            self.pack_stack[-1] = (value, self.pack_stack[-1][1])
        else:
            self.pack_default = value

    # -- static assertions --------------------------------------------------------
    def static_assert(self, into: list) -> None:
        t = self.next()
        self.expect("(")
        cond = self.assignment_expr()
        message = ""
        if self.accept(","):
            s = self.next()
            if s.kind != STR:
                self.fail(s, "expected string literal")
            parts = [s.text]
            while self.peek().kind == STR:
                parts.append(self.next().text)
            message = "".join(_string_body(p) for p in parts)
        self.expect(")")
        self.expect(";")
        into.append(StaticAssert(cond, message, self.where(t)))

    # -- declarations -------------------------------------------------------------
    def external_declaration(self) -> None:
        specs = self.decl_specifiers(file_scope=True)
        if specs.base is None and not specs.words:
            t = self.peek()
            if t.kind == ID and self.peek(1).kind == ID or t.kind == ID and self.at("*", 1) \
                    and specs.storage is None:
                self.fail(t, f"unknown type name {t.text!r}")
            if specs.storage is None and not specs.attrs and t.kind != ID:
                self.fail(t, f"expected declaration before {self._show(t)}")
            # GNU C89 implicit int (`static x;`): GCC accepts it with a warning
            specs.base = N.INT
        if self.accept(";"):
            return
        first = True
        while True:
            d = self.declarator(abstract=False)
            if d.name is None:
                self.fail(self.peek(), f"expected identifier before {self._show(self.peek())}")
            self.post_declarator_attrs(d)
            if d.function and first and (self.at("{") or self._kr_params_follow()):
                self._function_definition(specs, d)
                return
            first = False
            init_count = None
            if self.accept("="):
                init_count = self.skip_initializer(counting=d.unsized_array)
            self.declare(specs, d, init_count)
            if self.accept(","):
                continue
            self.expect(";", "after declaration")
            return

    def _kr_params_follow(self) -> bool:
        t = self.peek()
        return t.kind == ID and (self.canon(t) in _DECL_START or self.is_typedef_name(t.text))

    def _function_definition(self, specs: _Specs, d: _Declarator) -> None:
        while not self.at("{"):  # K&R parameter declarations
            t = self.next()
            if t.kind == EOF:
                self.fail(t, "expected '{' of a function body")
            if t.kind == PUNCT and t.text in "([":
                self.lx.skip_balanced(t)
        opener = self.next()
        if self._reads is not None and not self.lx.lookahead:
            self._body = (opener.offset, self.lx.pos)  # for the declaration memo: the body's `{`
        self.lx.skip_balanced(opener)
        self.declare(specs, d, None)

    def declare(self, specs: _Specs, d: _Declarator, init_count: int | None) -> None:
        # GCC handles a declarator's attributes before the specifiers' ones
        ctype, attrs = _typed(d.apply(specs.base), tuple(d.attrs) + tuple(specs.attrs))
        name = d.name
        where = self.lx.where(d.offset)
        if specs.storage == "typedef":
            self._check_ordinary(name, "typedef", where)
            td = TypedefDecl(name, ctype, attrs, tuple(specs.alignas), where, self.lx.file_of(d.offset),
                             specs.qualified and not d.derive)
            old = self._get("typedefs", name)
            if old is not None:
                # C11 allows the same typedef again; a different type is checked per arch by layout
                self.items.append(TypedefAgain(old, td))
                return
            self._put("typedefs", name, td)
            self.items.append(td)
            return
        self._check_ordinary(name, "object", where)
        if init_count is not None and ctype.kind == "array" and ctype.count is None:
            ctype = CType("array", of=ctype.of, count=N.Num(str(init_count)))
        var = VarDecl(name, ctype, attrs, where)
        if ctype.kind != "func":
            self.items.append(var)  # its type is checked where it stands (`int v[-1];` is an error)
        old = self._get("variables", name)
        if old is not None and not (ctype.kind == "array" and ctype.count is not None):
            return  # a redeclaration adds nothing the layout needs (the first complete type wins)
        self._put("variables", name, var)

    def _check_ordinary(self, name: str, kind: str, where: str) -> None:
        old = self._get("ordinary", name)
        if old is not None and old != kind:
            raise LayoutError(f"{name!r} redeclared as a different kind of symbol (was {old})", path=where)
        self._put("ordinary", name, kind)

    # -- specifiers -----------------------------------------------------------------
    def decl_specifiers(self, file_scope: bool = False, member: bool = False) -> _Specs:
        sp = _Specs()
        words = sp.words
        while True:
            t = self.peek()
            if t.kind == PUNCT and t.text == "[" and self.at("[", 1):
                self.next()
                self.lx.skip_balanced(self.next())  # C2x [[attribute]]
                self.expect("]")
                continue
            if t.kind != ID:
                break
            w = self.canon(t)
            if w in _STORAGE:
                self.next()
                if w != "_Thread_local":
                    if sp.storage == w:
                        self.fail(t, f"duplicate {w!r}")
                    if sp.storage is not None:
                        self.fail(t, f"multiple storage classes in declaration specifiers ({sp.storage}, {w})")
                    sp.storage = w
                continue
            if w in _FUNC_SPEC or w == "__extension__":
                self.next()
                continue
            if w == "_Atomic":
                self.next()
                if self.at("("):
                    self.next()
                    inner = self.type_name()
                    self.expect(")")
                    self._set_base(sp, t, CType("atomic", of=inner))
                else:
                    sp.qualified = True
                    if "_Atomic" not in words:
                        words.append("_Atomic")  # a qualifier: repeating it is allowed (C11 6.7.3p5)
                continue
            if w in _QUALIFIERS:
                self.next()
                sp.qualified = True
                continue
            if w == "__attribute__":
                sp.groups.append(self.attributes())
                continue
            if w == "_Alignas":
                self.next()
                self.expect("(")
                if self.starts_type_name():
                    sp.alignas.append(self.type_name())
                else:
                    sp.alignas.append(self.assignment_expr())
                self.expect(")")
                continue
            if w in ("struct", "union", "enum"):
                self._set_base(sp, t, self.tag_specifier(w, sp))
                continue
            if w == "typeof":
                self.next()
                self.expect("(")
                if self.starts_type_name():
                    inner = CType("typeof", of=self.type_name())
                else:
                    inner = CType("typeof", expr=self.expression())
                self.expect(")")
                self._set_base(sp, t, inner)
                continue
            if w == "__auto_type":
                self.next()
                self._set_base(sp, t, CType("unsupported", name="__auto_type"))
                continue
            if w == "__builtin_va_list":
                self.next()
                self._set_base(sp, t, CType("va_list", spelled="__builtin_va_list"))
                continue
            if w == "_BitInt":
                self.next()
                self.expect("(")
                width = self.assignment_expr()
                self.expect(")")
                words.append(("_BitInt", width))
                continue
            if w in _EXTENSION_FLOATS and (self.is_typedef_name(t.text) or (words or sp.base is not None)
                                           and self.peek(1).text in (";", ",", ")", "[", "=")):
                # a keyword only where the compiler has the type: glibc's bits/floatn.h typedefs
                # `_Float128` itself for compilers that do not (clang on sparc)
                if self.is_typedef_name(t.text) and sp.base is None and not words:
                    self.next()
                    self._set_base(sp, t, CType("typedef", t.text, spelled=t.text))
                    continue
                break
            if w in _INT_WORDS:
                self.next()
                words.append(w)
                continue
            if sp.base is None and not any(x for x in words if x != "_Atomic") and self.is_typedef_name(t.text):
                self.next()
                self._set_base(sp, t, CType("typedef", t.text, spelled=t.text))
                continue
            break
        if words and words != ["_Atomic"]:
            if sp.base is not None:
                self.fail(t, f"two or more data types in declaration specifiers ({' '.join(map(str, words))} "
                             f"and {sp.base.describe()})")
            sp.base = scalar_from_words(words, self.lx.where(t.offset))
        elif "_Atomic" in words and sp.base is None and len(words) == 1:
            pass  # `_Atomic x;` : implicit int, below
        if "_Atomic" in words and sp.base is not None:
            sp.base = CType("atomic", of=sp.base)
        return sp

    def _set_base(self, sp: _Specs, t: Token, ctype: CType) -> None:
        if sp.base is not None or any(w for w in sp.words if w != "_Atomic"):
            self.fail(t, "two or more data types in declaration specifiers")
        sp.base = ctype

    # -- struct / union / enum ------------------------------------------------------
    def tag_specifier(self, kind: str, sp: _Specs) -> CType:
        kw = self.next()
        type_attrs: list[Attr] = []
        while self.canon(self.peek()) == "__attribute__":
            type_attrs.extend(self.attributes())
        name = None
        if self.peek().kind == ID and self.canon(self.peek()) != "__attribute__":
            name = self.next().text
        fixed = None
        if kind == "enum" and self.at(":") and self.starts_type_name(1):
            self.next()  # `enum e : T` (C23; clang accepts it in C11 too)
            fixed = self.type_name()
        if not self.at("{"):
            if name is None:
                self.fail(self.peek(), f"expected '{{' before {self._show(self.peek())}")
            key = f"{kind} {name}"
            self._check_tag_kind(name, kind, kw)
            if not self._has("tags", key):
                self._put("tags", key, TagDef(kind, name, key, None, coord=self.where(kw),
                                              file=self.lx.file_of(kw.offset)))
            sp.groups.append(type_attrs)  # `struct s __attribute__((x)) v;`: on the declaration
            return CType("tag", key)
        if name is not None:
            self._check_tag_kind(name, kind, kw)
            key = f"{kind} {name}"
            old = self._get("tags", key)
            if old is not None and (old.fields is not None or kind == "enum" and old.enumerators):
                raise LayoutError(f"redefinition of {key!r}", path=self.where(kw))
        else:
            # Named by where it stands, as clang does: the same anonymous type gets the same key on
            # every arch, so the declarations that use it can be replayed (declmemo).
            coord = self.where(kw)
            key = f"{kind} <anonymous at {coord}>"
            again = 1
            while self._has("tags", key):  # the same place once more: a header included twice
                again += 1
                key = f"{kind} <anonymous at {coord} #{again}>"
        lbrace = self.next()
        asserts: list[StaticAssert] = []  # _Static_assert inside the body: checked once it is complete
        if kind == "enum":
            enumerators = self.enum_body(key)
            fields: tuple = ()
        else:
            fields = self.struct_body(lbrace, asserts)
            enumerators = ()
        while self.canon(self.peek()) == "__attribute__":
            type_attrs.extend(self.attributes())
        if kind != "enum":
            if self.pack:
                type_attrs.append(Attr("pack", N.Num(str(self.pack))))
            if self.sso is not None and not any(a.name == "scalar_storage_order" for a in type_attrs):
                type_attrs.append(Attr("scalar_storage_order", self.sso))
        td = TagDef(kind, name, key, fields, tuple(enumerators), tuple(type_attrs), self.where(kw),
                    self.lx.file_of(kw.offset), fixed)
        self._put("tags", key, td)
        self.items.append(td)
        self.items.extend(asserts)
        sp.defined_tag = key
        return CType("tag", key)

    def _check_tag_kind(self, name: str, kind: str, tok: Token) -> None:
        old = self._get("tag_kinds", name)
        if old is not None and old != kind:
            raise LayoutError(f"{name!r} defined as wrong kind of tag ({old}, then {kind})", path=self.where(tok))
        self._put("tag_kinds", name, kind)

    def struct_body(self, lbrace: Token, asserts: list) -> tuple[FieldDecl, ...]:
        fields: list[FieldDecl] = []
        while True:
            t = self.peek()
            if t.kind == PUNCT and t.text == "}":
                self.next()
                return tuple(fields)
            if t.kind == EOF:
                self.fail(lbrace, "'{' is never closed")
            if self._declaration_noise(t, asserts):
                continue
            specs = self.decl_specifiers(member=True)
            if specs.base is None:
                if specs.words == ["_Atomic"]:
                    specs.base = CType("atomic", of=N.INT)
                elif self.peek().kind == ID:
                    self.fail(self.peek(), f"unknown type name {self.peek().text!r}")
                else:
                    self.fail(self.peek(), f"expected specifier-qualifier-list before {self._show(self.peek())}")
            if specs.storage is not None:
                self.fail(t, f"storage class {specs.storage!r} in a member declaration")
            if self.at(";"):
                self.next()
                base = specs.base
                tag = base.of if base.kind == "atomic" else base  # `_Atomic struct { ... };` too
                if tag.kind == "tag" and "<anonymous" in tag.name and not tag.name.startswith("enum"):
                    fields.append(FieldDecl(None, base, None, tuple(specs.attrs), tuple(specs.alignas),
                                            self.where(t)))
                # `struct named;` or `int;` inside a struct declares nothing (GCC warns)
                continue
            while True:
                if self.at(":"):
                    colon = self.next()
                    width = self.conditional_expr()
                    attrs = []
                    while self.canon(self.peek()) == "__attribute__":
                        attrs.extend(self.attributes())
                    ctype, attrs = _typed(specs.base, tuple(attrs) + tuple(specs.attrs))
                    fields.append(FieldDecl(None, ctype, width, attrs, tuple(specs.alignas), self.where(colon)))
                else:
                    d = self.declarator(abstract=False)
                    if d.name is None:
                        self.fail(self.peek(), f"expected identifier before {self._show(self.peek())}")
                    self.post_declarator_attrs(d)
                    width = None
                    if self.accept(":"):
                        width = self.conditional_expr()
                        while self.canon(self.peek()) == "__attribute__":
                            d.attrs.extend(self.attributes())
                    # GCC handles a declarator's attributes before the specifiers' ones
                    ctype, attrs = _typed(d.apply(specs.base), tuple(d.attrs) + tuple(specs.attrs))
                    fields.append(FieldDecl(d.name, ctype, width, attrs, tuple(specs.alignas),
                                            self.lx.where(d.offset)))
                if self.accept(","):
                    continue
                if self.at("}"):
                    break  # GCC: "no semicolon at end of struct or union" is a pedantic warning
                self.expect(";", "at end of member declaration")
                break

    def enum_body(self, key: str) -> list[tuple[str, N.Expr | None]]:
        enumerators: list[tuple[str, N.Expr | None]] = []
        while not self.accept("}"):
            t = self.next()
            if t.kind != ID:
                self.fail(t, f"expected identifier before {self._show(t)}")
            while self.canon(self.peek()) == "__attribute__":
                self.attributes()
            value = self.conditional_expr() if self.accept("=") else None
            where = self.where(t)
            if self._has("enum_constants", t.text):
                raise LayoutError(f"redeclaration of enumerator {t.text!r}", path=where)
            self._check_ordinary(t.text, "enumerator", where)
            self._put("enum_constants", t.text, (key, len(enumerators)))
            enumerators.append((t.text, value))
            if not self.accept(","):
                self.expect("}", "at end of enumerator list")
                break
        return enumerators

    # -- attributes -------------------------------------------------------------------
    def attributes(self) -> list[Attr]:
        """``__attribute__((a, b(x)))`` -> the attributes that matter for layout."""
        self.next()
        self.expect("(")
        self.expect("(")
        out: list[Attr] = []
        first = True
        while not self.at(")"):
            if self.accept(","):
                first = True
                continue
            if not first:
                self.fail(self.peek(), f"expected ')' before {self._show(self.peek())}")
            first = False
            t = self.next()
            if t.kind != ID:
                self.fail(t, f"expected attribute name before {self._show(t)}")
            name = _attr_name(t.text)
            if name not in _LAYOUT_ATTRS:
                if self.at("("):
                    self.lx.skip_balanced(self.next())
                continue
            args: list = []
            if self.accept("("):
                if name == "mode":
                    m = self.next()
                    args.append(_attr_name(m.text))
                    self.expect(")")
                elif name == "scalar_storage_order":
                    s = self.next()
                    args.append(_string_body(s.text) if s.kind == STR else s.text)
                    self.expect(")")
                elif not self.accept(")"):
                    args.append(self.assignment_expr())
                    while self.accept(","):
                        args.append(self.assignment_expr())
                    self.expect(")", "after the attribute's arguments")
            if name == "aligned":
                out.append(Attr("aligned", args[0] if args else None))
            elif name == "packed":
                out.append(Attr("packed"))
            elif name == "mode":
                out.append(Attr("mode", args[0]))
            elif name == "vector_size":
                out.append(Attr("vector_size", args[0] if args else None))
            elif name == "scalar_storage_order":
                out.append(Attr("scalar_storage_order", args[0] if args else None))
            elif name in _UNMODELLED_ATTRS:
                out.append(Attr("unsupported", f"attribute {name!r}"))
        self.expect(")")
        self.expect(")")
        return out

    def post_declarator_attrs(self, d: _Declarator) -> None:
        """Attributes and an ``asm("name")`` label after a declarator."""
        while True:
            w = self.canon(self.peek())
            if w == "__attribute__":
                d.attrs.extend(self.attributes())
            elif w == "asm" and self.at("(", 1):
                self.next()
                self.lx.skip_balanced(self.next())
            else:
                return

    # -- declarators ------------------------------------------------------------------
    def declarator(self, abstract: bool) -> _Declarator:
        d = _Declarator()
        d.offset = self.peek().offset
        self._declarator_into(d, abstract)
        return d

    def _declarator_into(self, d: _Declarator, abstract: bool) -> None:
        ptrs: list = []
        while True:
            t = self.peek()
            w = self.canon(t)
            if t.kind == PUNCT and t.text in ("*", "^"):
                self.next()
                bad = None
                while True:
                    q = self.peek()
                    qw = self.canon(q)
                    if qw in _QUALIFIERS or qw == "_Atomic" and not self.at("(", 1):
                        if qw == "_Atomic":
                            bad = "_Atomic pointer"
                        self.next()
                    elif qw == "__attribute__":
                        for a in self.attributes():
                            if a.name in ("aligned", "mode", "vector_size"):
                                bad = f"attribute {a.name!r} on a pointer declarator"
                    else:
                        break
                ptrs.append(("ptr", bad))
                continue
            if w == "__attribute__":
                d.attrs.extend(self.attributes())
                continue
            break
        inner: _Declarator | None = None
        t = self.peek()
        if t.kind == ID and self.canon(t) not in ("__attribute__",) and not (abstract and self.starts_type_name()):
            self.next()
            d.name = t.text
            d.offset = t.offset
        elif t.kind == PUNCT and t.text == "(" and self._nested_declarator_follows(abstract):
            self.next()
            inner = _Declarator()
            inner.offset = self.peek().offset
            self._declarator_into(inner, abstract)
            self.expect(")")
            d.name, d.offset = inner.name, inner.offset
            d.attrs.extend(inner.attrs)
        suffixes: list = []
        while True:
            t = self.peek()
            if t.kind == PUNCT and t.text == "[":
                self.next()
                while self.canon(self.peek()) in _QUALIFIERS or self.canon(self.peek()) == "static":
                    self.next()
                if self.accept("]"):
                    suffixes.append(("array", None))
                elif self.at("*") and self.at("]", 1):
                    self.next()
                    self.next()
                    suffixes.append(("array", N.Opaque("[*]")))
                else:
                    count = self.assignment_expr()
                    self.expect("]")
                    suffixes.append(("array", count))
                continue
            if t.kind == PUNCT and t.text == "(":
                lparen = self.next()
                if self._check_parameters(lparen):
                    self.parameters()
                else:  # a system header's prototype: never a layout input
                    self._first_words_of_parameters(lparen, self.lx.skip_balanced(lparen))
                suffixes.append(("func",))
                continue
            break
        # d.derive lists type constructors from the outermost inward
        outer = (inner.derive if inner is not None else []) + suffixes + list(reversed(ptrs))
        d.derive = outer
        d.function = bool(outer) and outer[0][0] == "func"
        d.unsized_array = bool(outer) and outer[0] == ("array", None)

    def _check_parameters(self, lparen: Token) -> bool:
        """Parameter lists are read (an unknown type name in a prototype is an error, as in GCC)
        in the input files; elsewhere (the libc, a kernel tree: thousands of prototypes) they
        are jumped over: no parameter changes a layout."""
        return not self.input_files or self.lx.file_of(lparen.offset) in self.input_files

    def _first_words_of_parameters(self, lparen: Token, close: Token) -> None:
        """The check of ``parameters`` on a list jumped over, from its text: a parameter whose first
        word past its qualifiers is an identifier that names no type (nor a storage class or
        attribute) and is followed by a name or ``*`` is an unknown type name, as GCC says (one
        followed by ``,`` or ``)`` is a K&R name, or an implicit int after a qualifier).  The lists
        of function-pointer parameters inside it are checked the same way.  A header included
        without the one that declares its types (``Display`` before <X11/Xlib.h>, ``FILE``
        before <stdio.h>) is refused as GCC refuses it."""
        text, end = self.lx.text, close.offset
        depth, starts, nested, opened = 0, [lparen.offset + 1], [], []
        for m in _PARAM_PUNCT_RE.finditer(text, lparen.offset + 1, end):
            c = m.group()
            if c in "([{":
                if depth == 0 and c == "(" and _last_char_before(text, m.start()) == ")":
                    opened.append(m.start())  # `(*cb)(...)`: a function pointer's own list
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0 and opened and c == ")":
                    nested.append((opened.pop(), m.start()))
            elif c == "," and depth == 0:
                starts.append(m.end())
        for at in starts:
            self._first_word_of_parameter(text, at, end)
        for open_at, close_at in nested:
            self._first_words_of_parameters(Token(PUNCT, "(", open_at), Token(PUNCT, ")", close_at))

    def _first_word_of_parameter(self, text: str, at: int, end: int) -> None:
        while True:
            m = _PARAM_WORDS_RE.match(text, at, end + 1)
            if m is None:
                return
            word, following = m.group(1), m.group(2)
            canon = _CANON.get(word, word)
            if canon not in _QUALIFIERS or following is None or not (following[0].isalpha() or following[0] == "_"):
                break
            at = m.start(2)  # `const T x`: T is the word to check
        if canon in _TYPE_START or canon in _STORAGE or canon in _FUNC_SPEC or canon == "__attribute__" \
                or following in (None, ",", ")") or self.is_typedef_name(word):
            return
        if following == "*" or following[0].isalpha() or following[0] == "_":
            self.fail(Token(ID, word, m.start(1)), f"unknown type name {word!r}")

    def parameters(self) -> None:
        """A parameter list, after its ``(``: read for its type names (an unknown one is an
        error, as in GCC) and thrown away: no parameter changes a layout."""
        if self.accept(")"):
            return
        while True:
            t = self.peek()
            if t.kind == PUNCT and t.text == "...":
                self.next()
                self.expect(")")
                return
            if t.kind == ID and not self.starts_type_name() and self.canon(t) not in _STORAGE \
                    and self.canon(t) not in _FUNC_SPEC and self.canon(t) != "__attribute__":
                nxt = self.peek(1)
                if nxt.kind == PUNCT and nxt.text in (",", ")"):
                    self.next()  # K&R identifier list (a definition's parameter names)
                else:
                    self.fail(t, f"unknown type name {t.text!r}")
            else:
                sp = self.decl_specifiers()
                if sp.base is None and sp.words != ["_Atomic"]:
                    self.fail(self.peek(), f"expected declaration specifiers before {self._show(self.peek())}")
                self.declarator(abstract=True)
                while self.canon(self.peek()) == "__attribute__":
                    self.attributes()
            if self.accept(","):
                continue
            self.expect(")", "after the parameters")
            return

    def _nested_declarator_follows(self, abstract: bool) -> bool:
        nxt = self.peek(1)
        if nxt.kind == PUNCT:
            return nxt.text in ("*", "^", "(", "[") if abstract else nxt.text != ")"
        w = self.canon(nxt)
        if w == "__attribute__":
            return True
        if abstract:
            return False
        return not (w in _DECL_START or self.is_typedef_name(nxt.text))

    # -- type names ---------------------------------------------------------------------
    def starts_type_name(self, k: int = 0) -> bool:
        t = self.peek(k)
        if t.kind != ID:
            return False
        w = self.canon(t)
        return w in _TYPE_START or self.is_typedef_name(t.text)

    def type_name(self) -> CType:
        sp = self.decl_specifiers()
        if sp.base is None:
            if sp.words == ["_Atomic"]:
                sp.base = CType("atomic", of=N.INT)
            else:
                self.fail(self.peek(), f"expected type name before {self._show(self.peek())}")
        d = self.declarator(abstract=True)
        if d.name is not None:
            self.fail(self.peek(), f"unexpected identifier {d.name!r} in a type name")
        t = d.apply(sp.base)
        if sp.attrs or d.attrs:
            t = _with_type_attrs(t, sp.attrs + d.attrs)
        return t

    # -- initializers -------------------------------------------------------------------
    def skip_initializer(self, counting: bool = False) -> int | None:
        """Jump over an initializer; with ``counting``, the number of elements it gives an
        array of unknown size (None when that takes more than counting top-level entries)."""
        t = self.peek()
        if t.kind == STR and counting:
            parts = []
            while self.peek().kind == STR:
                parts.append(self.next().text)
            return _string_length(parts)
        if t.kind == PUNCT and t.text == "{":
            self.next()
            if counting:
                return self._count_braced(t)
            self.lx.skip_balanced(t)
            return None
        depth = 0
        while True:
            t = self.peek()
            if t.kind == EOF:
                self.fail(t, "unterminated initializer")
            if depth == 0 and t.kind == PUNCT and t.text in (",", ";"):
                return None
            self.next()
            if t.kind == PUNCT and t.text in ("(", "[", "{"):
                self.lx.skip_balanced(t)

    def _count_braced(self, lbrace: Token) -> int | None:
        count = 0
        expecting = True
        designated = False
        while True:
            t = self.next()
            if t.kind == EOF:
                self.fail(lbrace, "'{' is never closed")
            if t.kind == PUNCT and t.text == "}":
                return None if designated else count
            if expecting:
                count += 1
                expecting = False
                if t.kind == PUNCT and t.text in ("[", "."):
                    designated = True
            if t.kind == PUNCT and t.text == ",":
                expecting = True
            elif t.kind == PUNCT and t.text in ("(", "[", "{"):
                self.lx.skip_balanced(t)

    # -- expressions --------------------------------------------------------------------
    def expression(self) -> N.Expr:
        e = self.assignment_expr()
        while self.at(","):
            self.next()
            e = N.Binary(",", e, self.assignment_expr())
        return e

    _ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="}

    def assignment_expr(self) -> N.Expr:
        e = self.conditional_expr()
        t = self.peek()
        if t.kind == PUNCT and t.text in self._ASSIGN:
            self.next()
            return N.Binary(t.text, e, self.assignment_expr())
        return e

    def conditional_expr(self) -> N.Expr:
        c = self.binary_expr(0)
        if self.at("?"):
            self.next()
            then = None if self.at(":") else self.expression()
            self.expect(":")
            other = self.conditional_expr()
            return N.Cond(c, then, other)
        return c

    _BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="), ("<<", ">>"),
               ("+", "-"), ("*", "/", "%")]
    _PREC = {op: level for level, ops in enumerate(_BINARY) for op in ops}

    def binary_expr(self, min_level: int) -> N.Expr:
        # precedence climbing: iterative on the operator loop, recursive only per level
        left = self.cast_expr()
        while True:
            t = self.peek()
            level = self._PREC.get(t.text) if t.kind == PUNCT else None
            if level is None or level < min_level:
                return left
            self.next()
            right = self.binary_expr(level + 1)
            left = N.Binary(t.text, left, right)

    def cast_expr(self) -> N.Expr:
        t = self.peek()
        if t.kind == PUNCT and t.text == "(" and self.starts_type_name(1):
            self.next()
            ctype = self.type_name()
            self.expect(")")
            if self.at("{"):
                self.lx.skip_balanced(self.next())
                return self.postfix(N.CompoundLiteral(ctype))
            return N.Cast(ctype, self.cast_expr())
        return self.unary_expr()

    def unary_expr(self) -> N.Expr:
        t = self.peek()
        if t.kind == PUNCT:
            if t.text in ("-", "+", "~", "!", "*", "&"):
                self.next()
                return N.Unary(t.text, self.cast_expr())
            if t.text in ("++", "--"):
                self.next()
                return N.Unary(t.text, self.unary_expr())
            if t.text == "&&":  # GNU label address
                self.next()
                self.next()
                return N.Opaque("&&label")
        if t.kind == ID:
            w = self.canon(t)
            if w == "sizeof":
                self.next()
                if self.at("(") and self.starts_type_name(1):
                    self.next()
                    ctype = self.type_name()
                    self.expect(")")
                    if self.at("{"):
                        self.lx.skip_balanced(self.next())
                        return N.SizeOf(None, self.postfix(N.CompoundLiteral(ctype)))
                    return N.SizeOf(ctype, None)
                return N.SizeOf(None, self.unary_expr())
            if w in ("_Alignof", "__alignof__"):
                self.next()
                gnu = w == "__alignof__"
                if self.at("(") and self.starts_type_name(1):
                    self.next()
                    ctype = self.type_name()
                    self.expect(")")
                    return N.AlignOf(ctype, None, gnu)
                return N.AlignOf(None, self.unary_expr(), gnu)
            if w in ("__extension__",):
                self.next()
                return self.cast_expr()
            if w in ("__real__", "__imag__"):
                self.next()
                return N.Unary(w, self.cast_expr())
        return self.postfix(self.primary())

    def postfix(self, e: N.Expr) -> N.Expr:
        while True:
            t = self.peek()
            if t.kind != PUNCT:
                return e
            if t.text == "[":
                self.next()
                idx = self.expression()
                self.expect("]")
                e = N.Index(e, idx)
            elif t.text == "(":
                self.next()
                args = []
                while not self.accept(")"):
                    args.append(self.assignment_expr())
                    if not self.accept(","):
                        self.expect(")")
                        break
                e = N.Call(e, tuple(args))
            elif t.text in (".", "->"):
                self.next()
                m = self.next()
                if m.kind != ID:
                    self.fail(m, f"expected identifier before {self._show(m)}")
                e = N.Member(e, m.text, t.text == "->")
            elif t.text in ("++", "--"):
                self.next()
                e = N.Postfix(t.text, e)
            else:
                return e

    def primary(self) -> N.Expr:
        t = self.next()
        if t.kind == NUM:
            return N.Num(t.text)
        if t.kind == CHAR:
            return N.Char(t.text)
        if t.kind == STR:
            parts = [t.text]
            while self.peek().kind == STR:
                parts.append(self.next().text)
            return N.Str(tuple(parts))
        if t.kind == PUNCT and t.text == "(":
            if self.at("{"):
                self.lx.skip_balanced(self.next())  # GNU statement expression
                self.expect(")")
                return N.StmtExpr(self.where(t))
            e = self.expression()
            self.expect(")")
            return e
        if t.kind == ID:
            w = self.canon(t)
            if w == "offsetof" and self.at("("):
                return self._offsetof()
            if w == "_Generic":
                return self._generic()
            if w == "__builtin_types_compatible_p":
                self.expect("(")
                a = self.type_name()
                self.expect(",")
                b = self.type_name()
                self.expect(")")
                return N.TypesCompatible(a, b)
            if w == "__builtin_choose_expr":
                self.expect("(")
                c = self.assignment_expr()
                self.expect(",")
                a = self.assignment_expr()
                self.expect(",")
                b = self.assignment_expr()
                self.expect(")")
                return N.ChooseExpr(c, a, b)
            if w in ("__builtin_va_arg", "__builtin_convertvector", "__builtin_bit_cast"):
                self.lx.skip_balanced(self.expect("("))
                return N.Opaque(w)
            if w in _TYPE_START or w in _STORAGE or w in ("sizeof", "_Alignof", "__alignof__") \
                    or w == "__attribute__":
                self.fail(t, f"expected expression before {t.text!r}")
            return N.Name(t.text)
        self.fail(t, f"expected expression before {self._show(t)}")

    def _offsetof(self) -> N.Expr:
        self.expect("(")
        ctype = self.type_name()
        self.expect(",")
        steps: list = []
        first = self.next()
        if first.kind != ID:
            self.fail(first, f"expected identifier before {self._show(first)}")
        steps.append(("m", first.text))
        while not self.accept(")"):
            t = self.next()
            if t.text == ".":
                m = self.next()
                if m.kind != ID:
                    self.fail(m, f"expected identifier before {self._show(m)}")
                steps.append(("m", m.text))
            elif t.text == "[":
                steps.append(("i", self.expression()))
                self.expect("]")
            else:
                self.fail(t, f"expected ')' before {self._show(t)}")
        return N.OffsetOf(ctype, tuple(steps))

    def _generic(self) -> N.Expr:
        self.expect("(")
        control = self.assignment_expr()
        assocs = []
        while self.accept(","):
            if self.accept("default"):
                ctype = None
            else:
                ctype = self.type_name()
            self.expect(":")
            assocs.append((ctype, self.assignment_expr()))
        self.expect(")")
        return N.Generic(control, tuple(assocs))


# ---------------------------------------------------------------------------
# Helpers

def _typed(ctype: CType, attrs: tuple[Attr, ...]) -> tuple[CType, tuple[Attr, ...]]:
    """A declaration's type after its type-changing attributes (``mode``, ``vector_size``, in
    order), and the attributes left for the declaration itself."""
    rest = []
    for a in attrs:
        if a.name in ("mode", "vector_size"):
            ctype = apply_type_attr(ctype, a)
        elif a.name == "packed":
            # GCC's packed handler looks at the type as it is at that point: it ignores packing a
            # byte-aligned field (c-attribs.cc handle_packed_attribute), even one a later
            # vector_size makes wider; the layout engine decides with the type kept here
            rest.append(Attr("packed", ctype))
        else:
            rest.append(a)
    return ctype, tuple(rest)


def _with_type_attrs(t: CType, attrs: list[Attr]) -> CType:
    """Attributes written inside a type name (``(int __attribute__((vector_size(16))))``)."""
    for a in attrs:
        if a.name == "mode":
            t = apply_type_attr(t, a, in_type_name=True)
        elif a.name == "vector_size":
            t = apply_type_attr(t, a)
        elif a.name == "aligned":
            t = CType("unsupported", name="attribute 'aligned' inside a type name")
    return t


def apply_type_attr(t: CType, a: Attr, in_type_name: bool = False) -> CType:
    """``mode``/``vector_size`` replace the innermost base type of a declaration (GCC
    c-common.cc handle_mode_attribute / handle_vector_size_attribute: through pointers, arrays
    and function return types).  A ``mode`` inside a type name is marked: clang ignores it there
    ("'mode' attribute ignored when parsing type"), GCC applies it."""
    if t.kind in ("pointer", "array", "func"):
        return CType(t.kind, t.name, t.unsigned, apply_type_attr(t.of, a, in_type_name), t.count, t.expr, t.spelled)
    if a.name == "mode":
        return CType("mode", a.arg, of=t, spelled="in a type name" if in_type_name else "")
    return CType("vector", of=t, count=a.arg)


def scalar_from_words(words: list, where: str) -> CType:
    """Type-specifier words (``unsigned long long int``) -> a scalar/complex/bitint CType."""
    words = [w for w in words if w != "_Atomic"]
    bitint = [w for w in words if isinstance(w, tuple)]
    plain = [w for w in words if not isinstance(w, tuple)]
    spelled = " ".join(w if isinstance(w, str) else "_BitInt(N)" for w in words)
    unsigned = "unsigned" in plain
    if "signed" in plain and unsigned:
        raise LayoutError(f"both 'signed' and 'unsigned' in declaration specifiers ({spelled})", path=where)
    if bitint:
        if len(bitint) > 1 or [w for w in plain if w not in ("signed", "unsigned")]:
            raise LayoutError(f"two or more data types in declaration specifiers ({spelled})", path=where)
        return CType("bitint", "bitint", unsigned, count=bitint[0][1], spelled=spelled)
    for w in set(plain):
        if plain.count(w) > (2 if w == "long" else 1):
            raise LayoutError(f"duplicate {w!r} in declaration specifiers ({spelled})", path=where)
    complex_ = plain.count("_Complex")
    if complex_ > 1 or "_Imaginary" in plain:
        raise LayoutError(f"unsupported type {spelled!r}", path=where)
    core = sorted(w for w in plain if w not in ("signed", "unsigned", "_Complex"))
    if complex_:
        if not core:
            core = ["double"]  # GNU: a bare _Complex is _Complex double
        inner = scalar_from_words([w for w in plain if w != "_Complex"] or ["double"], where)
        if inner.kind != "scalar" or inner.name in ("void", "_Bool"):
            raise LayoutError(f"invalid type {spelled!r}", path=where)
        return CType("complex", of=inner, spelled=spelled)
    if core == ["void"] and not ("signed" in plain or unsigned):
        return CType("scalar", "void", spelled="void")
    if core == ["_Bool"] and not ("signed" in plain or unsigned):
        return CType("scalar", "_Bool", True, spelled="_Bool")
    if core == ["char"]:
        if "signed" in plain or unsigned:
            return CType("scalar", "char", unsigned, spelled=spelled)
        return CType("scalar", "char", False, spelled="char")  # plain char: the profile decides
    if core in (["__int128"], ["__int128", "int"]):
        return CType("scalar", "int128", unsigned, spelled=spelled)
    if core == ["__int128_t"] and len(plain) == 1:
        return CType("scalar", "int128", False, spelled="__int128_t")
    if core == ["__uint128_t"] and len(plain) == 1:
        return CType("scalar", "int128", True, spelled="__uint128_t")
    key = _FLOAT_KEYS.get(tuple(core))
    if key is not None and not ("signed" in plain or unsigned):
        return CType("scalar", key, spelled=spelled)
    nlong = core.count("long")
    rest = [w for w in core if w not in ("long", "int")]
    if core.count("int") <= 1:
        if rest == ["short"] and not nlong:
            return CType("scalar", "short", unsigned, spelled=spelled)
        if not rest:
            if nlong == 0:
                return CType("scalar", "int", unsigned, spelled=spelled)
            if nlong == 1:
                return CType("scalar", "long", unsigned, spelled=spelled)
            if nlong == 2:
                return CType("scalar", "long_long", unsigned, spelled=spelled)
    raise LayoutError(f"two or more data types in declaration specifiers ({spelled})", path=where)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"', "?": "?", "e": "\x1b"}


def _string_body(text: str) -> str:
    body = text[text.index('"') + 1:-1]
    return re.sub(r"\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)", lambda m: _unescape(m.group(1)), body)


def _unescape(esc: str) -> str:
    if esc[0] == "x":
        return chr(int(esc[1:], 16) & 0xFF)
    if esc[0].isdigit() and esc[0] < "8":
        return chr(int(esc, 8) & 0xFF)
    return _ESCAPES.get(esc, esc)


def _string_length(parts: list[str]) -> int | None:
    """Elements of an array initialized by (adjacent) string literals, with the terminating NUL."""
    if any(p[0] != '"' for p in parts) and len({p[:p.index('"')] for p in parts} - {""}) > 0:
        prefix = next(p[:p.index('"')] for p in parts if p[0] != '"')
        if prefix != "u8":
            return None  # wide strings: the element count needs the encoding, left unknown
    return sum(len(_string_body(p).encode("utf-8")) for p in parts) + 1


def parse(text: str, filename: str = "<input>", input_files: tuple[str, ...] = (), *,
          recover: bool = False) -> TranslationUnit:
    """Preprocessed C -> TranslationUnit (see the module docstring; ``recover``: Parser.parse)."""
    return Parser(text, filename, input_files).parse(recover=recover)


def _scoped_parser(text: str, tu: TranslationUnit, filename: str) -> Parser:
    """A parser that sees ``tu``'s names (read-only: it works on copies)."""
    p = Parser(text, filename)
    p.typedefs = dict(tu.typedefs)
    p.tags = dict(tu.tags)
    p.tag_kinds = {t.name: t.kind for t in tu.tags.values() if t.name}
    p.enum_constants = dict(tu.enum_constants)
    return p


def parse_expression(text: str, tu: TranslationUnit) -> tuple[N.Expr, dict[str, TagDef]]:
    """A C expression (``sizeof(struct s) > 8``) in the scope of ``tu``; returns the expression and
    the tags defined inside it (``sizeof(struct { int a; })``), which the table does not hold."""
    p = _scoped_parser(text, tu, "<expression>")
    e = p.expression()
    t = p.peek()
    if t.kind != EOF:
        p.fail(t, f"unexpected {p._show(t)} after the expression")
    return e, {k: v for k, v in p.tags.items() if k not in tu.tags}


def parse_type_name(text: str, tu: TranslationUnit) -> CType:
    """A type name (``unsigned long``, ``struct s *``, ``uint64_t[2]``) in the scope of ``tu``."""
    p = _scoped_parser(text, tu, "<type name>")
    try:
        t = p.type_name()
    except CParseError:
        raise LayoutError(f"no type {text!r}") from None
    if p.peek().kind != EOF:
        raise LayoutError(f"no type {text!r}")
    if any(k not in tu.tags for k in p.tags):
        raise LayoutError(f"no type {text!r} (a type name may not define a tag here)")
    return t
