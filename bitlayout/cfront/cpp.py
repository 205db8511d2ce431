"""The built-in C preprocessor: C11 with GNU extensions, as exact as the arch's compiler ``-E``.

``Preprocessor(include_dirs, defines, system_dirs=..., facts=...)`` reads files, follows
directives and writes the preprocessed text with ``# N "file" flags`` line markers, so the
lexer (``bitlayout.cfront.lexer``) gives every token its file:line; a line in which no macro
is expanded is copied as it is (columns kept).  ``facts`` (``predefined.CompilerFacts``) are
the arch compiler's predefined macros and its measured answers to ``__has_attribute`` & co.:
with them, branches go the way that compiler takes them.  A question the facts cannot answer
raises ``CompilerNeeded`` (the driver, ``preprocess.py``, then runs the compiler: never a guess).

Modules: ``pplex`` (tokens, logical lines), ``ppmacro`` (definitions), ``ppexpand`` (macro
expansion, GCC's algorithm), ``ppexpr`` (``#if`` arithmetic); this one has files, directives
and output.  What GCC and clang print differently (a few pragmas, multi-character constants)
follows ``facts.flavor``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ..errors import CParseError
from . import pplex
from .ppexpand import BASE_END, MAX_LINE_TOKENS, CompilerNeeded, Expander
from .ppexpr import CharTarget, Evaluator
from .pplex import BLANK, DIRECTIVE, EOF, ID, PAD, PUNCT, STR, TEXT, SourceFile, file_stamp, read_source, spell, \
    split_lines, tokenize
from .ppmacro import DYNAMIC, Builtin, Macro, parse_define

_UNESCAPE_RE = re.compile(r'\\(["\\])')
MAX_INCLUDE_DEPTH = 200  # GCC: "#include nested depth 200 exceeds maximum of 200"
_NL = ["\n" * k for k in range(256)]
_CONDITIONALS = frozenset({"if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif"})
# the operators GCC 12 knows, for a preprocessor made without compiler facts
GCC_OPERATORS = ("__has_include", "__has_include_next", "__has_attribute", "__has_c_attribute",
                 "__has_cpp_attribute", "__has_builtin")
# pragmas the preprocessor itself runs (not printed), per flavor; (namespace, name)
_INTERNAL_PRAGMAS = {
    "gcc": {("", "once"), ("", "push_macro"), ("", "pop_macro"), ("GCC", "poison"), ("GCC", "system_header"),
            ("GCC", "dependency"), ("GCC", "warning"), ("GCC", "error")},
    "clang": {("", "once"), ("", "push_macro"), ("", "pop_macro"), ("GCC", "poison"), ("clang", "poison"),
              ("GCC", "system_header"), ("clang", "system_header"), ("GCC", "dependency"),
              ("clang", "dependency")},
}


def _nl(n: int) -> str:
    return _NL[n] if n < 256 else "\n" * n


def c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Cond:
    __slots__ = ("outer_skipping", "taken", "else_seen", "kind", "line")

    def __init__(self, outer_skipping, kind, line):
        self.outer_skipping = outer_skipping
        self.taken = False
        self.else_seen = False
        self.kind = kind
        self.line = line


class _File:
    """A file being read: ``name`` and ``delta`` are the presumed name and line offset (#line),
    ``dir_index`` the search-path entry it was found in (-1: not by search, -2: the including
    file's directory) for #include_next."""

    __slots__ = ("path", "name", "sf", "i", "delta", "dir_index", "system", "conds", "skipping", "ret_line")

    def __init__(self, path, sf, dir_index=-1, system=False):
        self.path = path
        self.name = path
        self.sf = sf
        self.i = 0
        self.delta = 0
        self.dir_index = dir_index
        self.system = system
        self.conds: list[_Cond] = []
        self.skipping = False
        self.ret_line = 0  # where the includer goes on (0: not included)


def find_include(search, name: str, angled: bool, kind: str, cur_path: str, cur_dir_index: int, nested: bool,
                 stat) -> tuple[str, int] | None:
    """Where GCC finds an #include operand: (path, index in ``search``; -2 next to the including
    file, -1 by absolute path), or None.  ``stat(path)`` is None for no such file."""
    if os.path.isabs(name):
        return (name, -1) if stat(name) is not None else None
    start = 0
    if kind == "include_next" and cur_dir_index != -1 and nested:
        start = max(cur_dir_index + 1, 0)  # found next to its includer (-2): the whole chain
    elif not angled:
        d = os.path.dirname(cur_path) if cur_path[:1] != "<" else ""
        cand = f"{d}/{name}" if d else name
        if stat(cand) is not None:
            return cand, -2
    for i in range(start, len(search)):
        d = search[i]
        cand = f"{d}/{name}" if d else name
        if stat(cand) is not None:
            return cand, i
    return None


def search_path(include_dirs, system_dirs) -> tuple[list[str], list[str]]:
    """(user dirs, system dirs) as GCC keeps them: missing dirs dropped, a -I dir that is also
    a system dir dropped from the -I part, later duplicates dropped (compared by inode)."""
    def key(d):
        try:
            st = os.stat(d)
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if os.path.isdir(d) else None

    sys_keys = {key(d) for d in system_dirs} - {None}
    seen: set = set()
    user = []
    for d in include_dirs:
        d = str(d)
        k = key(d)
        if k is None or k in sys_keys or k in seen:
            continue
        seen.add(k)
        user.append(d)
    system = []
    for d in system_dirs:
        d = str(d)
        k = key(d)
        if k is None or k in seen:
            continue
        seen.add(k)
        system.append(d)
    return user, system


class Preprocessor(Expander):
    def __init__(self, include_dirs=(), defines=None, *, system_dirs=(), facts=None, system_dirs_known=True):
        super().__init__()
        # False: the compiler's own include directories are unknown (it is not installed), so a
        # header not found in include_dirs may still exist for it
        self.system_dirs_known = system_dirs_known
        self.facts = facts
        self.flavor = facts.flavor if facts is not None else "gcc"
        self.user_dirs, self.system_dirs = search_path(include_dirs, system_dirs)
        self.search = self.user_dirs + self.system_dirs
        if facts is not None:
            self.macros.update(facts.macro_objects())
            self.conditional = {name: m for name, m in facts.macro_objects().items()
                                if m.params is None and m.text.strip() == name}
        for name in DYNAMIC:
            self.macros[name] = Builtin(name)
        for name in (facts.operators if facts is not None else GCC_OPERATORS):
            self.macros[name] = Builtin(name)
        self.answers = facts.answers if facts is not None else {}
        self.answers_used: dict[tuple[str, str], str] = {}  # (operator, operand) -> answer given
        self.probes: dict[str, tuple | None] = {}  # path tried -> stamp (None: no such file)
        self.lookups: list[tuple] = []  # every #include / __has_include search and what it found
        self.out: list[str] = []
        self.obuf: list[str] = []
        self.oline = 0
        self.in_session = False
        self.stack: list[_File] = []
        self.once: set = set()
        self.included: set = set()
        self.pushed: dict[str, list] = {}
        self.counter = 0
        self.main_name = "<input>"
        self._evaluator: Evaluator | None = None
        for name, value in (defines or {}).items():
            self.define_text(f"{name} {'1' if value is None else value}", "<command-line>")

    # -- entry points ----------------------------------------------------------------------
    def run_files(self, paths) -> str:
        """Preprocess ``paths`` as one translation unit (several files: as a compiler reads
        ``#include "<file>"`` lines from standard input) -> text with line markers."""
        paths = [str(p) for p in paths]
        if len(paths) == 1:
            self.main_name = paths[0]
            stamp = self._stat(paths[0])
            if stamp is None:
                raise CParseError(f"{paths[0]}: no such file")
            main = _File(paths[0], read_source(paths[0], stamp))
        else:
            self.main_name = "<stdin>"
            text = "".join(f'#include {c_string(str(Path(p).resolve()))}\n' for p in paths)
            main = _File("<stdin>", SourceFile("<stdin>", split_lines(text), None))
        self.out.append(f'# 1 {c_string(self.main_name)}\n')
        try:
            if self.facts is not None and self.facts.implicit_includes:
                self._implicit_includes(main)
            self._walk(main)
        except RecursionError:
            raise CompilerNeeded(f"{self.where()}: nested too deeply for the built-in preprocessor (macro "
                                 "arguments or #if parentheses)") from None
        return "".join(self.out)

    def define_text(self, text: str, file: str = "<command-line>", line: int = 0) -> None:
        """``NAME body`` or ``NAME(params) body`` as after ``#define``."""
        m = parse_define(" " + text, file, line)
        self.macros[m.name] = m

    def undefine(self, name: str) -> None:
        self.macros.pop(name, None)

    def expand_text(self, text: str) -> str:
        """``text`` macro-expanded with the macros defined now (tokens joined by spaces)."""
        saved = (self.base, self.base_pos, self.base_pullable, self.in_directive, self.ignore_pragma)
        self.base, self.base_pos, self.base_pullable = tokenize(text), 0, False
        self.in_directive, self.ignore_pragma = False, True
        self.budget = MAX_LINE_TOKENS
        out = []
        try:
            while True:
                t = self.get()
                if t is BASE_END:
                    break
                if t.kind != PAD:
                    out.append(t.text)
        except RecursionError:
            raise CompilerNeeded(f"{text[:40]!r}: nested too deeply for the built-in preprocessor") from None
        finally:
            self.ctxs.clear()
            self.disabled.clear()
            self.base, self.base_pos, self.base_pullable, self.in_directive, self.ignore_pragma = saved
        return " ".join(out)

    @property
    def files_read(self) -> list[tuple[str, int, int]]:
        """(path, mtime_ns, size) of every file that exists among those looked up."""
        return [(p, s[2], s[3]) for p, s in self.probes.items() if s is not None]

    # -- messages --------------------------------------------------------------------------
    def where(self) -> str:
        if not self.stack:
            return self.main_name
        f = self.stack[-1]
        line = self.oline if self.in_session else (f.sf.lines[f.i - 1].lineno if f.i else 1)
        return f"{f.name}:{line + f.delta}"

    # -- files -----------------------------------------------------------------------------
    def _stat(self, path: str):
        if path in self.probes:
            return self.probes[path]
        stamp = self.probes[path] = file_stamp(path)
        return stamp

    def _implicit_includes(self, main: _File) -> None:
        """GCC reads stdc-predef.h (found in the <...> search path) before the main file.  Its
        macros are among the measured predefined ones, its include guard with them: a file so
        guarded is not entered (GCC's multiple-include optimisation), nor recorded as a lookup,
        so arches whose sysroots differ only there still share a run."""
        cmdline = _File("<command-line>", SourceFile("<command-line>", [], None))
        self.stack.append(cmdline)
        for name in self.facts.implicit_includes:
            found = find_include(self.search, name, True, "include", cmdline.path, -1, False, self._stat)
            if found is None:
                continue
            guard = read_source(found[0], self.probes[found[0]]).guard
            if guard is not None:
                self.queried.add(guard)
                if guard in self.macros:
                    continue
            self._find_include(name, True, "include", cmdline)  # recorded: it matters
            self._enter_file(found[0], found[1], cmdline, 1)
            self._walk_stack(1)
        self.stack.pop()
        self.out.append(f'# 1 {c_string(self.main_name)}\n')

    def _find_include(self, name: str, angled: bool, kind: str, cur: _File):
        """(path, search index) of an #include operand, or None (each lookup is recorded: the
        driver replays them to see whether another search path would find the same files)."""
        nested = len(self.stack) > 1
        found = find_include(self.search, name, angled, kind, cur.path, cur.dir_index, nested, self._stat)
        system = found is not None and self._is_system(found[1], cur)
        self.lookups.append((name, angled, kind, cur.path, cur.dir_index, cur.system, nested, found and found[0],
                             system))
        return found

    def _is_system(self, dir_index: int, parent: _File) -> bool:
        return dir_index >= len(self.user_dirs) or (dir_index == -2 and parent.system)

    def _enter_file(self, path: str, dir_index: int, parent: _File, ret_line: int) -> None:
        """Start reading an included file (``_walk_stack`` reads it, then goes on with its parent
        at ``ret_line``)."""
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            raise CParseError(f"{self.where()}: #include nested depth {MAX_INCLUDE_DEPTH} exceeds maximum of "
                              f"{MAX_INCLUDE_DEPTH}")
        stamp = self.probes[path]
        sf = read_source(path, stamp)
        system = self._is_system(dir_index, parent)
        self.out.append(f"# 1 {c_string(path)} 1{' 3 4' if system else ''}\n")
        self.included.add(stamp[:2])
        child = _File(path, sf, dir_index, system)
        child.ret_line = ret_line
        self.stack.append(child)

    def _walk(self, main: _File) -> None:
        self.stack.append(main)
        self._walk_stack(len(self.stack) - 1)

    def _walk_stack(self, depth: int) -> None:
        """Read the files on the include stack until it is back to ``depth`` entries (#include
        pushes a file: no recursion, however deep the nesting)."""
        stack = self.stack
        out = self.out
        macros = self.macros
        queried = self.queried
        while len(stack) > depth:
            f = stack[-1]
            lines = f.sf.lines
            n = len(lines)
            while f.i < n:
                ln = lines[f.i]
                f.i += 1
                if f.skipping:
                    if ln.kind == DIRECTIVE and ln.name in _CONDITIONALS:
                        self._conditional(f, ln)
                    out.append(_nl(ln.nphys))
                    continue
                kind = ln.kind
                if kind == TEXT:
                    ids = ln.ids
                    queried.update(ids)
                    if macros.keys().isdisjoint(ids):
                        out.append(ln.text)
                        out.append(_nl(ln.tail))
                    else:
                        self._session(f, ln)
                elif kind == BLANK:
                    out.append(_nl(ln.nphys))
                else:
                    self._directive(f, ln)
                    if stack[-1] is not f:
                        break  # an #include: read that file first
            else:
                if f.conds:
                    c = f.conds[-1]
                    raise CParseError(f"{f.name}:{c.line + f.delta}: unterminated #{c.kind}")
                stack.pop()
                if f.ret_line and stack:
                    parent = stack[-1]
                    out.append(f"# {f.ret_line + parent.delta} {c_string(parent.name)} 2"
                               f"{' 3 4' if parent.system else ''}\n")

    # -- text lines ------------------------------------------------------------------------
    def _session(self, f: _File, ln) -> None:
        """Expand one text line (and the lines a macro invocation pulls in) into the output.
        Tokens are separated as the source and GCC's padding say, and wherever two would
        otherwise read back as one."""
        self.base = ln.tokens
        self.base_pos = 0
        self.base_pullable = True
        self.in_session = True
        self.budget = MAX_LINE_TOKENS
        self.obuf = obuf = []
        self.oline = ln.lineno
        ctxs = self.ctxs
        prev = ""
        pad_white = False
        try:
            while True:
                t = self.get()
                k = t.kind
                if k == EOF:
                    break
                if k == PAD:
                    if t.src is not None and t.src.white:
                        pad_white = True
                    continue
                if t.line > self.oline and not ctxs:
                    self._sync(t.line)
                    obuf = self.obuf
                    prev = ""
                text = t.text
                if obuf and (t.white or pad_white or _needs_space(prev, text)):
                    obuf.append(" ")
                obuf.append(text)
                prev = text
                pad_white = False
        finally:
            self.in_session = False
            self.base_pullable = False
        lines = f.sf.lines
        self._sync(lines[f.i].lineno if f.i < len(lines) else f.sf.nphys + 1)

    def _sync(self, line: int) -> None:
        """Write the pending tokens and move the output to physical ``line``."""
        text = "".join(self.obuf)
        if text[:1] == "#" or text[:2] == "%:":
            text = " " + text  # never read back as a directive
        self.out.append(text + _nl(line - self.oline))
        self.obuf = []
        self.oline = line

    def _emit_line(self, text: str, nphys: int = 1) -> None:
        """A directive line in the output (``#pragma``, ``#ident``, a marker)."""
        f = self.stack[-1]
        if self.in_session:
            if self.obuf:
                self.out.append("".join(self.obuf) + "\n")
                self.obuf = []
            self.out.append(text + "\n")
            self.out.append(f"# {self.oline + f.delta} {c_string(f.name)}\n")
        else:
            self.out.append(text + "\n" + _nl(nphys - 1))

    def pull_line(self, mode: int):
        """The tokens of the next text line for a macro invocation: mode 1 looks for its '('
        (a directive ends the search), mode 2 collects arguments (directives among them are
        processed, as GCC does)."""
        f = self.stack[-1]
        lines = f.sf.lines
        while f.i < len(lines):
            ln = lines[f.i]
            if ln.kind == DIRECTIVE and not f.skipping:
                if mode == 1:
                    return None
                f.i += 1
                self._directive_among_arguments(f, ln)
                continue
            f.i += 1
            if f.skipping:
                if ln.kind == DIRECTIVE and ln.name in _CONDITIONALS:
                    self._conditional(f, ln)
                continue
            if ln.kind == BLANK:
                continue
            self.queried.update(ln.ids)
            toks = ln.tokens
            if mode == 2 and toks and not toks[0].white:
                # GCC: a line's first token counts as preceded by whitespace inside arguments
                toks = [toks[0].copy(white=True), *toks[1:]]
            return toks
        return None

    def _directive_among_arguments(self, f: _File, ln) -> None:
        if ln.name in ("include", "include_next", "import"):
            raise CParseError(f"{f.name}:{ln.lineno + f.delta}: #{ln.name} nested in the arguments of a "
                              "macro invocation")
        if ln.name == "pragma" and self.flavor == "clang":
            raise CParseError(f"{f.name}:{ln.lineno + f.delta}: embedding a #pragma directive within macro "
                              "arguments is not supported")
        saved = (self.base, self.base_pos, self.base_pullable, self.prevent, self.parsing_args, self.from_line)
        self.prevent = self.parsing_args = 0
        try:
            self._directive(f, ln)
        finally:
            (self.base, self.base_pos, self.base_pullable, self.prevent, self.parsing_args,
             self.from_line) = saved

    # -- directives ------------------------------------------------------------------------
    def _directive(self, f: _File, ln) -> None:
        name = ln.name
        where = f"{f.name}:{ln.lineno + f.delta}"
        out_nl = not self.in_session
        if name in _CONDITIONALS:
            self._conditional(f, ln)
        elif name == "define":
            m = ln.macro
            if m is None:
                m = ln.macro = parse_define(ln.rest, f.path, ln.lineno)
            self.macros[m.name] = m
            self.queried.add(m.name)
        elif name == "undef":
            toks = tokenize(ln.rest)
            if not toks:
                raise CParseError(f"{where}: no macro name given in #undef directive")
            if toks[0].kind != ID:
                raise CParseError(f"{where}: macro names must be identifiers")
            self.queried.add(toks[0].text)
            self.macros.pop(toks[0].text, None)
        elif name in ("include", "include_next", "import"):
            self._include(f, ln, name, where)
            return
        elif name == "pragma":
            self._pragma(ln.rest, where, ln.nphys)
            return
        elif name in ("line", "<linemarker>"):
            self._line(f, ln, where)
            return
        elif name == "error":
            raise CParseError(f"{where}: #error {spell(tokenize(ln.rest))}".rstrip())
        elif name == "warning":
            pass
        elif name in ("ident", "sccs"):
            toks = self._expand_directive(ln.rest)
            if len(toks) != 1 or toks[0].kind != STR:
                raise CParseError(f"{where}: invalid #{name} directive")
            self._emit_line(f"#ident {toks[0].text}", ln.nphys)
            return
        elif name in ("assert", "unassert"):
            raise CompilerNeeded(f"{where}: #{name} (an obsolete GCC extension) is left to the compiler")
        elif name == "":
            if ln.rest.strip():
                raise CParseError(f"{where}: invalid preprocessing directive")
        else:
            raise CParseError(f"{where}: invalid preprocessing directive #{name}")
        if out_nl:
            self.out.append(_nl(ln.nphys))

    def _conditional(self, f: _File, ln) -> None:
        name = ln.name
        where = f"{f.name}:{ln.lineno + f.delta}"
        conds = f.conds
        if name in ("if", "ifdef", "ifndef"):
            c = _Cond(f.skipping, name, ln.lineno)
            conds.append(c)
            if f.skipping:
                return
            c.taken = self._condition(name, ln.tokens, where)
            f.skipping = not c.taken
        elif name in ("elif", "elifdef", "elifndef", "else"):
            if not conds:
                raise CParseError(f"{where}: #{name} without #if")
            c = conds[-1]
            if c.else_seen:
                raise CParseError(f"{where}: #{name} after #else")
            c.kind = name
            if name == "else":
                c.else_seen = True
                f.skipping = c.outer_skipping or c.taken
                c.taken = True
            elif c.outer_skipping or c.taken:
                f.skipping = True  # not evaluated (GCC): an earlier group was taken
            else:
                c.taken = self._condition(name, ln.tokens, where)
                f.skipping = not c.taken
        else:  # endif
            if not conds:
                raise CParseError(f"{where}: #endif without #if")
            f.skipping = conds.pop().outer_skipping

    def _condition(self, name: str, rest, where: str) -> bool:
        """``rest``: the directive's tokens."""
        if name in ("if", "elif"):
            return self._eval_if(rest, where)
        toks = rest
        if not toks:
            raise CParseError(f"{where}: no macro name given in #{name} directive")
        if toks[0].kind != ID:
            raise CParseError(f"{where}: macro names must be identifiers")
        self.queried.add(toks[0].text)
        defined = toks[0].text in self.macros
        return defined if name in ("ifdef", "elifdef") else not defined

    def _directive_tokens(self, toks):
        """Run the expander over a directive's tokens (state restored by ``_end_directive``)."""
        saved = (self.base, self.base_pos, self.base_pullable, self.in_directive, self.parsing_args, self.prevent)
        self.base, self.base_pos, self.base_pullable = toks, 0, False
        self.in_directive, self.parsing_args, self.prevent = True, 0, 0
        return saved

    def _end_directive(self, saved) -> None:
        self.ctxs.clear()
        self.disabled.clear()
        (self.base, self.base_pos, self.base_pullable, self.in_directive, self.parsing_args,
         self.prevent) = saved

    def _expand_directive(self, text: str) -> list:
        return self._expand_tokens(tokenize(text))

    def _eval_if(self, toks, where: str) -> bool:
        saved = self._directive_tokens(toks)
        self.budget = MAX_LINE_TOKENS
        self._evaluator = ev = Evaluator(self, where)
        try:
            return ev.evaluate()
        finally:
            self._evaluator = None
            self._end_directive(saved)

    # hooks of ppexpr.Evaluator
    def if_token(self):
        return self.get()

    def read_defined(self, where: str) -> bool:
        self.prevent += 1
        try:
            t = self.get()
            paren = t.kind == PUNCT and t.text == "("
            if paren:
                t = self.get()
            if t.kind != ID:
                raise CParseError(f'{where}: operator "defined" requires an identifier')
            if paren:
                c = self.get()
                if not (c.kind == PUNCT and c.text == ")"):
                    raise CParseError(f'{where}: missing \')\' after "defined"')
        finally:
            self.prevent -= 1
        self.queried.add(t.text)
        m = self.macros.get(t.text)
        return m is not None and not (isinstance(m, Builtin) and m.kind == "poisoned")

    def char_target(self) -> CharTarget:
        names = ("__CHAR_UNSIGNED__", "__WCHAR_UNSIGNED__", "__WCHAR_WIDTH__", "__SIZEOF_WCHAR_T__")
        self.queried.update(names)
        pre = self.facts.macros if self.facts is not None else {}
        width = pre.get("__WCHAR_WIDTH__") or str(int(pre.get("__SIZEOF_WCHAR_T__", "4")) * 8)
        return CharTarget("__CHAR_UNSIGNED__" in pre, int(width), "__WCHAR_UNSIGNED__" in pre,
                          self.flavor == "clang")

    # -- #include ----------------------------------------------------------------------------
    def _include(self, f: _File, ln, kind: str, where: str) -> None:
        if self.in_session:
            raise CParseError(f"{where}: #{kind} nested in the arguments of a macro invocation")
        name, angled = self._include_operand(ln.rest, kind, where)
        if kind == "include_next" and len(self.stack) <= 1:
            kind = "include"  # GCC: "#include_next in primary source file"
        found = self._find_include(name, angled, kind, f)
        if found is None:
            if not self.system_dirs_known:
                raise CompilerNeeded(f"{where}: {name} is not under the -I directories, and the system include "
                                     "directories are unknown without the compiler")
            raise CParseError(f"{where}: fatal error: {name}: No such file or directory")
        path, index = found
        stamp = self.probes[path]
        key = stamp[:2]
        if key in self.once or (kind == "import" and key in self.included):
            self.out.append(_nl(ln.nphys))
            return
        sf = read_source(path, stamp)
        if sf.guard is not None and sf.guard in self.macros:
            # GCC's multiple-include optimisation: the file is all `#ifndef X ... #endif` and X
            # is defined, so it is not entered (no markers, nothing emitted)
            self.queried.add(sf.guard)
            self.out.append(_nl(ln.nphys))
            return
        if kind == "import":
            self.once.add(key)
        self._enter_file(path, index, f, ln.lineno + ln.nphys)

    def _include_operand(self, rest: str, kind: str, where: str) -> tuple[str, bool]:
        s = rest.lstrip(" \t\f\v\r\n")
        if s[:1] == '"':
            end = s.find('"', 1)
            if end < 0:
                raise CParseError(f'{where}: missing terminating " character')
            name, angled = s[1:end], False
        elif s[:1] == "<":
            end = s.find(">")
            if end < 0:
                raise CParseError(f"{where}: missing terminating > character")
            name, angled = s[1:end], True
        else:
            toks = self._expand_directive(rest)
            if toks and toks[0].kind == STR and toks[0].text[0] == '"':
                name, angled = toks[0].text[1:-1], False
            elif toks and toks[0].kind == PUNCT and toks[0].text == "<":
                close = next((k for k, t in enumerate(toks) if t.kind == PUNCT and t.text == ">"), None)
                if close is None:
                    raise CParseError(f"{where}: missing terminating > character")
                name, angled = spell(toks[1:close]), True
            else:
                raise CParseError(f'{where}: #{kind} expects "FILENAME" or <FILENAME>')
        if not name:
            raise CParseError(f"{where}: empty filename in #{kind}")
        return name, angled

    # -- #line -------------------------------------------------------------------------------
    def _line(self, f: _File, ln, where: str) -> None:
        toks = tokenize(ln.rest) if ln.name == "<linemarker>" else self._expand_directive(ln.rest)
        if not toks or toks[0].kind != pplex.NUM or not toks[0].text.isdigit():
            raise CParseError(f'{where}: "{toks[0].text if toks else ""}" after #line is not a positive integer')
        number = int(toks[0].text)
        if len(toks) > 1:
            if toks[1].kind != STR or toks[1].text[0] != '"':
                raise CParseError(f'{where}: invalid filename "{toks[1].text}"')
            f.name = _destringize(toks[1].text)
        f.delta = number - (ln.lineno + ln.nphys)
        self._emit_marker(f, ln.lineno + ln.nphys)

    def _emit_marker(self, f: _File, physical_line: int) -> None:
        if self.in_session:
            self._emit_line(f"# {physical_line + f.delta} {c_string(f.name)}", 0)
        else:
            self.out.append(f"# {physical_line + f.delta} {c_string(f.name)}\n")

    # -- pragmas -----------------------------------------------------------------------------
    def _pragma(self, text: str, where: str, nphys: int = 1) -> None:
        toks = tokenize(text)
        words = [t.text for t in toks[:2] if t.kind == ID]
        space, name = ("", words[0]) if words and words[0] not in ("GCC", "clang") else \
            (words[0] if words else "", words[1] if len(words) > 1 else "")
        if space == "clang" and name == "fp" and any(t.text == "eval_method" for t in toks):
            raise CompilerNeeded(f"{where}: #pragma clang fp eval_method changes __FLT_EVAL_METHOD__: "
                                 "left to the compiler")
        if (space, name) in _INTERNAL_PRAGMAS[self.flavor]:
            self._internal_pragma(space, name, toks[2:] if space else toks[1:], where)
            if not self.in_session:
                self.out.append(_nl(nphys))
            return
        if self.flavor == "gcc" and space == "" and name in ("message", "redefine_extname"):
            line = f"#pragma {name} " + spell(self._expand_tokens(toks[1:]))
        elif self.flavor == "clang" and space == "" and name == "message":
            line = "#pragma message(" + c_string(self._message_text(toks[1:], where)) + ")"
        elif self.flavor == "clang" and space == "" and name == "omp":
            line = "#pragma omp " + spell(self._expand_tokens(toks[1:]))
        else:
            line = ("#pragma " + spell(toks)).rstrip()
        self._emit_line(line, nphys)

    def _expand_tokens(self, toks) -> list:
        """A directive's tokens, macro-expanded (no padding: directives have none)."""
        saved = self._directive_tokens(list(toks))
        try:
            out = []
            while True:
                t = self.get()
                if t is BASE_END:
                    return out
                out.append(t)
        finally:
            self._end_directive(saved)

    def _message_text(self, toks, where: str) -> str:
        parts = []
        for t in self._expand_tokens(toks):
            if t.kind == STR:
                parts.append(_destringize(t.text))
            elif not (t.kind == PUNCT and t.text in "()"):
                raise CompilerNeeded(f"{where}: #pragma message with {t.text!r} is left to the compiler")
        return "".join(parts)

    def _internal_pragma(self, space: str, name: str, toks, where: str) -> None:
        if name == "once":
            f = self.stack[-1]
            stamp = self.probes.get(f.path)
            if stamp is not None:
                self.once.add(stamp[:2])
        elif name in ("push_macro", "pop_macro"):
            if len(toks) < 3 or toks[0].text != "(" or toks[1].kind != STR or toks[2].text != ")":
                raise CParseError(f'{where}: invalid #pragma {name} directive')
            macro = _destringize(toks[1].text)
            self.queried.add(macro)
            if name == "push_macro":
                self.pushed.setdefault(macro, []).append(self.macros.get(macro))
            elif self.pushed.get(macro):
                old = self.pushed[macro].pop()
                if old is None:
                    self.macros.pop(macro, None)
                else:
                    self.macros[macro] = old
        elif name == "poison":
            for t in toks:
                if t.kind == ID:
                    self.macros[t.text] = Builtin(t.text, "poisoned")
                    self.queried.add(t.text)
        elif name == "system_header":
            if len(self.stack) > 1:
                self.stack[-1].system = True
        elif name == "error":
            raise CParseError(f"{where}: #pragma GCC error {spell(toks)}".rstrip())
        # dependency, warning: diagnostics only

    def _pragma_operator(self, t) -> None:
        """``_Pragma ( string-literal )`` (C11 6.10.9), run as a #pragma directive."""
        where = self.where()
        a = self.get_nonpad()
        s = self.get_nonpad() if a.kind == PUNCT and a.text == "(" else None
        c = self.get_nonpad() if s is not None and s.kind == STR else None
        if c is None or not (c.kind == PUNCT and c.text == ")"):
            raise CParseError(f"{where}: _Pragma takes a parenthesized string literal")
        self._pragma(_destringize(s.text), where)

    # -- built-in macros (hook of ppexpand.Expander) ------------------------------------------------
    def builtin(self, m: Builtin, t):
        kind = m.kind
        f = self.stack[-1] if self.stack else None
        if kind == "_Pragma":
            if self.in_directive or self.ignore_pragma or not self.in_session:
                return None
            self._pragma_operator(t)
            return ""
        if kind == "poisoned":
            raise CParseError(f'{self.where()}: attempt to use poisoned "{t.text}"')
        if kind == "__LINE__":
            if self.flavor == "clang" and self.ctxs:
                line = self.top_end_line  # clang: where the outermost expansion ends (its ')')
            else:
                line = t.line or self.oline
            return str(line + (f.delta if f else 0))
        if kind == "__FILE__":
            return c_string(f.name if f else self.main_name)
        if kind == "__FILE_NAME__":
            return c_string(os.path.basename(f.name if f else self.main_name))
        if kind == "__BASE_FILE__":
            return c_string(self.main_name)
        if kind == "__COUNTER__":
            self.counter += 1
            return str(self.counter - 1)
        if kind == "__INCLUDE_LEVEL__":
            return str(max(len(self.stack) - 1, 0))
        if kind == "__DATE__":
            return '"??? ?? ????"'  # GCC's own spelling of an unknown date: output stays reproducible
        if kind == "__TIME__":
            return '"??:??:??"'
        if kind == "__TIMESTAMP__":
            stamp = f.sf.stamp if f is not None and f.sf.stamp else None
            return c_string(time.asctime(time.localtime(stamp[2] / 1e9))) if stamp else '"??? ??? ?? ??:??:?? ????"'
        if kind in ("__has_include", "__has_include_next"):
            return self._has_include(kind, f)
        return self._operator(kind)

    def _has_include(self, kind: str, f: _File) -> str:
        where = self.where()
        if not self.in_directive:
            raise CParseError(f'{where}: "{kind}" used outside of preprocessing directive')
        a = self.get_nonpad()
        if not (a.kind == PUNCT and a.text == "("):
            raise CParseError(f'{where}: missing \'(\' before "{kind}" operand')
        if not self.ctxs and self.base_pos < len(self.base) and self.base[self.base_pos].text == "<":
            # a header name written in the directive: read as written, nothing in it is expanded
            close = next((k for k in range(self.base_pos, len(self.base)) if self.base[k].text == ">"), None)
            if close is None:
                raise CParseError(f"{where}: missing terminating > character")
            name, angled = spell(self.base[self.base_pos + 1:close]), True
            self.base_pos = close + 1
        else:
            t = self.get_nonpad()
            if t.kind == STR and t.text[0] == '"':
                name, angled = t.text[1:-1], False
            elif t.kind == PUNCT and t.text == "<":
                parts = []
                while True:
                    x = self.get_nonpad()
                    if x.kind == EOF:
                        raise CParseError(f"{where}: missing terminating > character")
                    if x.kind == PUNCT and x.text == ">":
                        break
                    parts.append(x)
                name, angled = spell(parts), True
            else:
                raise CParseError(f'{where}: operator "{kind}" requires a header-name')
        c = self.get_nonpad()
        if not (c.kind == PUNCT and c.text == ")"):
            raise CParseError(f'{where}: missing \')\' after "{kind}" operand')
        if self._evaluator is not None and self._evaluator.skip_eval:
            return "0"
        which = "include_next" if kind == "__has_include_next" and len(self.stack) > 1 else "include"
        if self._find_include(name, angled, which, f) is not None:
            return "1"
        if not self.system_dirs_known:
            raise CompilerNeeded(f"{where}: {kind}({name}) needs the compiler's system include directories")
        return "0"

    def _operator(self, kind: str) -> str:
        """``__has_attribute(x)`` & co.: the compiler's measured answer."""
        where = self.where()
        a = self.get_nonpad()
        if not (a.kind == PUNCT and a.text == "("):
            raise CParseError(f"{where}: missing '(' after \"{kind}\"")
        expands = self.facts.expands_operand.get(kind, True) if self.facts is not None else True
        if not expands:
            self.prevent += 1
        toks = []
        depth = 0
        try:
            while True:
                t = self.get_nonpad()
                if t.kind == EOF:
                    raise CParseError(f"{where}: missing ')' after \"{kind}\" operand")
                if t.kind == PUNCT and t.text == "(":
                    depth += 1
                elif t.kind == PUNCT and t.text == ")":
                    if depth == 0:
                        break
                    depth -= 1
                toks.append(t)
        finally:
            if not expands:
                self.prevent -= 1
        operand = "".join(t.text for t in toks)
        answer = self.answers.get(kind, {}).get(operand)
        if answer is None:
            if self._evaluator is not None and self._evaluator.skip_eval:
                return "0"  # not evaluated: the compiler does not use the answer either
            who = self.facts.identity if self.facts is not None else "the compiler"
            raise CompilerNeeded(f"{where}: {kind}({operand}) is not among the answers measured for {who}")
        self.answers_used[(kind, operand)] = answer
        return answer


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
# first two characters of every punctuator longer than one (and of comments)
_PAIRS = frozenset("++ -- -> << >> <= >= == != && || *= /= %= += -= &= ^= |= ## <: :> <% %> %: .. // /*".split())


def _needs_space(prev: str, text: str) -> bool:
    """Whether ``prev`` followed directly by ``text`` would read back as other tokens."""
    if not prev:
        return False
    a = prev[-1]
    b = text[0]
    word_a = a in _ID_CHARS or a > "\x7f"
    if (word_a or a == ".") and (b in _ID_CHARS or b > "\x7f" or b in "\"'"):
        return True
    if prev[0].isdigit() or (prev[0] == "." and len(prev) > 1):  # a pp-number takes . and e+ p-
        if b == "." or (b in "+-" and a in "eEpP"):
            return True
    return a + b in _PAIRS


def _destringize(text: str) -> str:
    """A string literal's content with \\\\ and \\" undone (C11 6.10.9 for _Pragma)."""
    return _UNESCAPE_RE.sub(r"\1", text[text.index('"') + 1:-1])


def clear_caches() -> None:
    """Forget the file memo (benchmarks measure a cold start with it)."""
    pplex.clear_caches()


__all__ = ["Preprocessor", "CompilerNeeded", "Macro", "clear_caches", "search_path", "find_include", "c_string"]
