"""Macro expansion, token by token, as GCC's cpplib does it (``macro.cc``).

A stack of contexts holds the replacement lists being rescanned; a macro is disabled while its
context is on the stack, and an identifier met while its macro is disabled is painted
(``NO_EXPAND``) for good: that is the per-token hide set of Prosser's algorithm, in the form
GCC implements (a context is left only when a read goes past its end, so
``#define f(a) a*g`` / ``#define g(a) f(a)`` / ``f(2)(9)`` gives ``2*9*g`` as with GCC).
Arguments are collected unexpanded, expanded once before substitution unless an operand of
``#`` or ``##``, and the padding tokens GCC inserts around macro expansions and arguments are
kept, since ``#`` turns the whitespace they stand for into spaces of a string literal.
``, ## __VA_ARGS__``, ``__VA_OPT__`` and ``#__VA_OPT__`` follow GCC 12 (clang agrees on them).

The bottom of the stack is the ``base``: the tokens of the source line being expanded; a
function-like macro whose arguments, or whose '(', are on later lines pulls more lines through
``Expander.pull_line`` (the preprocessor supplies it, processing directives met inside
arguments as GCC does).  Built-in macros are computed by ``Expander.builtin`` (also supplied).
"""

from __future__ import annotations

from ..errors import CParseError
from .pplex import EOF, ID, NO_EXPAND, PAD, PASTE_LEFT, PUNCT, STRINGIFY, Tok, tokenize
from .ppmacro import BEGIN, END, OPEN, OUTSIDE, Builtin, Macro, VaOptShape, stringify

ARG_END = Tok(EOF, "")    # ends an argument being expanded (read back by a failed '(' search)
BASE_END = Tok(EOF, "")   # the end of the base: the line (or directive) being expanded
AVOID_PASTE = Tok(PAD, "")  # GCC's avoid_paste: padding with no source

# One source line whose expansion goes on past this many tokens is left to the compiler (it
# expands such lines in C; in Python one would take seconds, or forever: A40 below 2**40).
MAX_LINE_TOKENS = 1_000_000
MAX_CONTEXTS = 20_000


class CompilerNeeded(CParseError):
    """The built-in preprocessor cannot be exact here (an operator the measured facts do not
    answer, a GCC extension it does not implement, an expansion too big or too deep for it):
    the compiler must preprocess this input."""


class _Ctx:
    __slots__ = ("toks", "pos", "macro", "line")

    def __init__(self, toks, macro, line):
        self.toks = toks
        self.pos = 0
        self.macro = macro  # name of the macro whose expansion this is, or None
        self.line = line    # physical line its tokens count as (the outermost expansion point)


class _Arg:
    __slots__ = ("first", "expanded", "stringified", "absent")

    def __init__(self, first, absent=False):
        self.first = first
        self.expanded = None
        self.stringified = None
        self.absent = absent  # a variadic argument left out entirely (GCC's first == NULL)


class Expander:
    """The expansion engine.  Subclasses provide ``pull_line(mode)`` (tokens of the next
    source line, or None), ``builtin(macro, token)`` (the text a built-in macro expands to,
    or None when it leaves the token alone), ``where()`` (``file:line`` for messages)."""

    def __init__(self):
        self.macros: dict = {}
        self.queried: set[str] = set()
        self.ctxs: list[_Ctx] = []
        self.disabled: set[str] = set()
        self.base: list[Tok] = []
        self.base_pos = 0
        self.base_pullable = False
        self.prevent = 0
        self.in_directive = False
        self.parsing_args = 0       # 1: looking for '(' after a macro name, 2: collecting arguments
        self.ignore_pragma = False  # _Pragma is left alone while arguments are pre-expanded
        self.from_line = 0          # line of the context the last token came from
        self.top_end_line = 0       # line where the outermost macro invocation ends
        self.budget = MAX_LINE_TOKENS  # tokens the line being expanded may still push
        # GCC's context-sensitive macros (PowerPC AltiVec: `vector`, `pixel`, `bool`, `_Bool`,
        # predefined as themselves): name -> the predefined Macro object
        self.conditional: dict = {}

    # -- hooks -----------------------------------------------------------------------------
    def pull_line(self, mode: int):
        return None

    def builtin(self, macro: Builtin, tok: Tok):
        return None

    def where(self) -> str:
        return "<input>"

    # -- reading -----------------------------------------------------------------------------
    def _base_token(self) -> Tok:
        while True:
            pos = self.base_pos
            if pos < len(self.base):
                self.base_pos = pos + 1
                return self.base[pos]
            if self.parsing_args and self.base_pullable:
                more = self.pull_line(self.parsing_args)
                if more:
                    self.base = more
                    self.base_pos = 0
                    continue
            return BASE_END

    def get(self) -> Tok:
        """The next token after macro expansion (PAD tokens included, outside directives)."""
        ctxs = self.ctxs
        while True:
            if ctxs:
                c = ctxs[-1]
                if c.pos < len(c.toks):
                    t = c.toks[c.pos]
                    c.pos += 1
                    self.from_line = c.line
                    if t.flags & PASTE_LEFT:
                        self._paste_all(t, c)
                        if self.in_directive:
                            continue
                        return Tok(PAD, "", False, 0, 0, t)
                else:
                    ctxs.pop()
                    m = c.macro
                    if m is not None and (not ctxs or ctxs[-1].macro != m):
                        self.disabled.discard(m)
                    if self.in_directive:
                        continue
                    return AVOID_PASTE
            else:
                t = self._base_token()
                self.from_line = t.line
            if t.kind != ID or t.flags & NO_EXPAND:
                return t
            name = t.text
            self.queried.add(name)
            m = self.macros.get(name)
            if m is None:
                return t
            if name in self.disabled:
                return t.copy(flags=t.flags | NO_EXPAND)
            if self.prevent:
                return t
            if name in self.conditional and self.conditional[name] is m:
                self._conditional_macro(t)
                return t
            ret = self._enter(m, t)
            if ret:
                if self.in_directive or ret == 2:
                    continue
                return Tok(PAD, "", False, 0, 0, t)
            return t

    def _conditional_macro(self, t: Tok) -> None:
        """GCC expands AltiVec's `vector` to `__vector` before a type keyword, and `bool` or
        `pixel` after it (rs6000-c.cc ``rs6000_macro_to_expand``); alone they stay names.  A
        `vector` followed by a name (or by what cannot be seen from here) is left to the
        compiler rather than guessed."""
        if t.text != "vector":
            return  # `bool`, `_Bool`, `pixel` expand only after an expanded `vector`
        toks, pos = (self.ctxs[-1].toks, self.ctxs[-1].pos) if self.ctxs else (self.base, self.base_pos)
        while pos < len(toks) and toks[pos].kind == PAD:
            pos += 1
        if pos >= len(toks) or toks[pos].kind == ID:
            raise CompilerNeeded(f"{self.where()}: AltiVec's context-sensitive `vector` is left to the compiler")

    def get_nonpad(self) -> Tok:
        while True:
            t = self.get()
            if t.kind != PAD:
                return t

    def _push(self, toks, macro, line) -> None:
        ctxs = self.ctxs
        if len(ctxs) >= MAX_CONTEXTS:
            raise CParseError(f"{self.where()}: macro expansion nested more than {MAX_CONTEXTS} deep")
        self.budget -= len(toks)
        if self.budget < 0:
            raise CompilerNeeded(f"{self.where()}: the expansion of one line exceeds {MAX_LINE_TOKENS:,} tokens")
        ctxs.append(_Ctx(toks, macro, line))

    def _push_inherit(self, toks) -> None:
        """A context that continues the current macro's expansion (GCC: push with macro NULL)."""
        top = self.ctxs[-1] if self.ctxs else None
        self._push(toks, top.macro if top else None, top.line if top else self.from_line)

    def _backup(self, t: Tok) -> None:
        """Read ``t`` again next time (it came from the top context, or the base)."""
        if self.ctxs:
            self.ctxs[-1].pos -= 1
        elif t is not BASE_END:
            self.base_pos -= 1

    # -- entering a macro ---------------------------------------------------------------------
    def _enter(self, m, t: Tok) -> int:
        if isinstance(m, Builtin):
            return self._enter_builtin(m, t)
        line = t.line or self.from_line
        outermost = not self.ctxs
        if m.params is not None:
            self.prevent += 1
            self.parsing_args = 1
            try:
                args = self._invocation(m)
            finally:
                self.parsing_args = 0
                self.prevent -= 1
            if args is None:
                return 0
            if outermost:
                self.top_end_line = self.from_line  # the line of its ')'
            toks = self._replace_args(m, args) if m.params else m.body
        else:
            if outermost:
                self.top_end_line = line
            toks = m.body
        self.disabled.add(m.name)
        self._push(toks, m.name, line)
        return 1

    def _enter_builtin(self, m: Builtin, t: Tok) -> int:
        line = t.line or self.from_line
        text = self.builtin(m, t.copy(line=line))
        if text is None:
            return 0
        if text == "":
            return 1  # _Pragma: done, nothing to read (GCC returns a padding token)
        toks = tokenize(text)
        for x in toks:
            x.white = False
            x.line = 0
        self._push_inherit(toks)
        return 1

    def _invocation(self, m: Macro):
        """Arguments of a function-like macro invocation, or None when the name is not followed
        by '(' (GCC ``funlike_invocation_p``): the token read is put back, and the padding
        skipped on the way too."""
        padding = None
        while True:
            t = self.get()
            if t.kind != PAD:
                break
            if padding is None or padding.src is None or (not padding.src.white and t.src is None):
                padding = t
        if t.kind == PUNCT and t.text == "(":
            self.parsing_args = 2
            return self._collect_args(m)
        if t is not BASE_END:
            self._backup(t)
            if padding is not None:
                self._push_inherit([padding])
        return None

    def _collect_args(self, m: Macro) -> list[_Arg]:
        nparams = len(m.params)
        variadic = m.variadic
        args: list[list[Tok]] = []
        cur: list[Tok] = []
        depth = 0
        while True:
            t = self.get()
            k = t.kind
            if k == PAD:
                if cur:
                    cur.append(t)
                continue
            if k == PUNCT:
                x = t.text
                if x == "(":
                    depth += 1
                elif x == ")":
                    if depth == 0:
                        break
                    depth -= 1
                elif x == "," and depth == 0 and not (variadic and len(args) + 1 == nparams):
                    while cur and cur[-1].kind == PAD:
                        cur.pop()
                    args.append(cur)
                    cur = []
                    continue
            elif k == EOF:
                raise CParseError(f'{self.where()}: unterminated argument list invoking macro "{m.name}"')
            elif k == ID and not t.line and t.text == "__LINE__":
                t = t.copy(line=self.from_line)  # __LINE__ counts where its macro was expanded
            cur.append(t)
        while cur and cur[-1].kind == PAD:
            cur.pop()
        args.append(cur)
        argc = len(args)
        if argc == 1 and nparams == 0 and not args[0]:
            argc = 0
            args = []
        if argc != nparams:
            if argc < nparams and argc + 1 == nparams and variadic:
                args.append([])
            elif argc < nparams:
                raise CParseError(f'{self.where()}: macro "{m.name}" requires {nparams} arguments, '
                                  f'but only {argc} given')
            else:
                raise CParseError(f'{self.where()}: macro "{m.name}" passed {argc} arguments, '
                                  f'but takes just {nparams}')
        out = [_Arg(a) for a in args]
        # GCC: `, ## __VA_ARGS__` drops the comma when the variadic argument is left out, or is
        # the only (and empty) argument outside strict ISO mode
        if variadic and (argc < nparams or (argc == 1 and not args[0])):
            out[-1].absent = True
        return out

    def _expand_arg(self, arg: _Arg) -> list[Tok]:
        if arg.expanded is None:
            if not arg.first:
                arg.expanded = []
            else:
                saved_ignore = self.ignore_pragma
                self.ignore_pragma = True
                self._push(arg.first + [ARG_END], None, self.from_line)
                depth = len(self.ctxs)
                out = []
                try:
                    while True:
                        t = self.get()
                        if t is ARG_END:
                            break
                        out.append(t)
                finally:
                    self.ignore_pragma = saved_ignore
                if len(self.ctxs) == depth:
                    self.ctxs.pop()
                arg.expanded = out
        return arg.expanded

    # -- substitution (GCC replace_args) --------------------------------------------------------
    def _replace_args(self, m: Macro, args: list[_Arg]) -> list[Tok]:
        body = m.body
        out: list[Tok] = []
        nparams = len(m.params)
        vaopt = _VaOpt(self, args[-1]) if m.variadic else None
        vaopt_start = None  # index of the last token before __VA_OPT__'s content (None: none, or empty)
        in_directive = self.in_directive
        for si, src in enumerate(body):
            if vaopt is not None:
                state = vaopt.update(src)
                if state != _INCLUDE:
                    if state == _BEGIN:
                        if si and not body[si - 1].flags & PASTE_LEFT:
                            out.append(Tok(PAD, "", False, 0, 0, src))
                        vaopt_start = len(out) - 1 if out else None
                    elif state == _END:
                        start = vaopt_start
                        vaopt_start = None
                        last = len(out) - 1 if out else None
                        if vaopt.stringify:
                            first = start + 1 if start is not None else 0
                            seq = self._paste_run(out[first:])
                            del out[first:]
                            st = stringify(seq)
                            if src.flags & PASTE_LEFT:
                                st.flags |= PASTE_LEFT
                            out.append(st)
                            continue
                        if start is not None and last == start and out[start].flags & PASTE_LEFT:
                            # __VA_OPT__ gave nothing: the ## before it has no right operand
                            out[start] = out[start].copy(flags=out[start].flags & ~PASTE_LEFT)
                        if src.flags & PASTE_LEFT:
                            while last is not None and last != start and out[last] is AVOID_PASTE:
                                out.pop()
                                last = len(out) - 1 if out else None
                            if last is not None and out[last].kind != PAD:
                                out[last] = out[last].copy(flags=out[last].flags | PASTE_LEFT)
                        else:
                            out.append(AVOID_PASTE)
                    continue
            if src.arg < 0:
                out.append(src)
                continue
            arg = args[src.arg]
            paste_at = None
            pasted_left = si > 0 and body[si - 1].flags & PASTE_LEFT
            if src.flags & STRINGIFY:
                if arg.stringified is None:
                    arg.stringified = stringify(arg.first)
                from_toks = [arg.stringified]
            elif src.flags & PASTE_LEFT:
                from_toks = arg.first
            elif pasted_left:
                from_toks = arg.first
                if out:
                    last = len(out) - 1
                    prev = out[last]
                    if prev.kind == PUNCT and prev.text == "," and m.variadic and src.arg == nparams - 1:
                        if arg.absent:
                            out.pop()  # GNU: `, ## __VA_ARGS__` with the arguments left out
                        else:
                            paste_at = last  # the comma stays, not pasted
                    elif not from_toks:
                        paste_at = last  # placemarker on the right: nothing to paste
            else:
                from_toks = self._expand_arg(arg)
                if vaopt_start is not None and len(out) - 1 == vaopt_start:
                    k = 0
                    while k < len(from_toks) and from_toks[k].kind == PAD:
                        k += 1
                    from_toks = from_toks[k:]
            if (not in_directive and si and not pasted_left
                    and not (vaopt_start is not None and len(out) - 1 == vaopt_start)):
                out.append(Tok(PAD, "", False, 0, 0, src))
            if from_toks:
                out.extend(from_toks)
                if src.flags & PASTE_LEFT:
                    paste_at = len(out) - 1
            if not in_directive and not src.flags & PASTE_LEFT:
                out.append(AVOID_PASTE)
            if paste_at is not None:
                t = out[paste_at]
                flags = (t.flags | PASTE_LEFT) if src.flags & PASTE_LEFT else (t.flags & ~PASTE_LEFT)
                out[paste_at] = t.copy(flags=flags)
        return out

    # -- ## ------------------------------------------------------------------------------------
    def _paste_all(self, lhs: Tok, c: _Ctx) -> None:
        """Paste ``lhs`` with the tokens after it in context ``c`` while they are ## operands,
        and push the result in its own context (GCC ``paste_all_tokens``)."""
        while c.pos < len(c.toks):
            rhs = c.toks[c.pos]
            c.pos += 1
            lhs = self._paste(lhs, rhs)
            if not rhs.flags & PASTE_LEFT:
                break
        self._push([lhs], c.macro, c.line)

    def _paste_run(self, toks: list[Tok]) -> list[Tok]:
        """The pastes inside a ``#__VA_OPT__`` operand, done before it is stringified."""
        out = []
        i = 0
        while i < len(toks):
            t = toks[i]
            while t.flags & PASTE_LEFT and i + 1 < len(toks):
                i += 1
                t = self._paste(t, toks[i])
                if not toks[i].flags & PASTE_LEFT:
                    break
            out.append(t)
            i += 1
        return out

    def _paste(self, lhs: Tok, rhs: Tok) -> Tok:
        left = lhs.text
        right = "" if rhs.kind == PAD else rhs.text
        text = left + (" " if left == "/" and right != "=" and right else "") + right
        toks = tokenize(text)
        if len(toks) != 1 or toks[0].white:
            raise CParseError(f'{self.where()}: pasting "{left}" and "{right}" does not give a valid '
                              "preprocessing token")
        t = toks[0]
        t.white = lhs.white
        t.line = lhs.line
        return t


# what substitution does with a body token (GCC vaopt_state::update_type)
_INCLUDE, _DROP, _BEGIN, _END = range(4)


class _VaOpt:
    """Tracks __VA_OPT__ while a variadic macro's body is substituted: its content is kept
    when the variadic argument expands to at least one token."""

    def __init__(self, expander: Expander, arg: _Arg):
        self.exp = expander
        self.arg = arg
        self.shape = VaOptShape()
        self.stringify = False
        self.keep = None  # _INCLUDE or _DROP once known

    def update(self, t: Tok) -> int:
        where = self.shape.update(t)
        if where == OUTSIDE:
            return _INCLUDE
        if where == BEGIN:
            self.stringify = bool(t.flags & STRINGIFY)
            return _BEGIN
        if where == OPEN:
            if self.keep is None:
                expanded = self.exp._expand_arg(self.arg)
                self.keep = _INCLUDE if any(x.kind != PAD for x in expanded) else _DROP
            return _DROP
        if where == END:
            return _END
        return self.keep


__all__ = ["Expander", "CompilerNeeded", "ARG_END", "BASE_END", "AVOID_PASTE", "MAX_LINE_TOKENS"]
