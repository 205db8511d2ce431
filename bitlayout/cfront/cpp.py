"""A small C preprocessor: the fallback when an arch has no compiler to run ``-E``.

Handles what kernel/UAPI-style headers need: ``#define``/``#undef`` (object-like and
function-like, variadic, ``#`` and ``##``), ``#include "..."``/``<...>`` with ``-I`` search,
``#if``/``#ifdef``/``#ifndef``/``#elif``/``#else``/``#endif`` with ``defined``, ``#error``,
``#pragma once``; comments and line continuations.  The output carries ``# N "file"`` line
markers so pycparser reports positions in the original files.  It is fed the profile's
predefined macros (``cfront.predefined_macros``), so ``#if`` branches go the way the arch's GCC
would take them.  Not supported (reported, never guessed): ``__has_include``, computed includes.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CParseError

_TOK = re.compile(r'''\s+|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\.?\d(?:[eEpP][+-]|[\w.])*|[A-Za-z_$][\w$]*|##|\#|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||\.\.\.|[-+*/%&|^]=|.''', re.S)
_ID = re.compile(r"[A-Za-z_$][\w$]*$")
MAX_INCLUDE_DEPTH = 64


_LINES_CACHE: dict[str, tuple] = {}  # path -> ((mtime_ns, size), logical lines, include guard)
_RESOLVED: dict[str, str] = {}  # path as included -> resolved path (the #pragma once key)
_DIRECTIVE = re.compile(r"#\s*(\w*)\s*(.*)", re.S)


def clear_caches() -> None:
    """Forget the file memo (benchmarks measure a cold start with it)."""
    _LINES_CACHE.clear()
    _RESOLVED.clear()


def _include_guard(lines: list[tuple[int, str]]) -> tuple[str, int, int, int] | None:
    """(X, index of `#ifndef X`, index of its `#endif`, number of `#if`s between) when every line outside that pair is
    blank and the pair has no `#else`/`#elif` of its own; else None."""
    first = next((k for k, (_n, ln) in enumerate(lines) if ln.strip()), None)
    if first is None:
        return None
    m = _DIRECTIVE.match(lines[first][1].lstrip())
    if not m or m.group(1) != "ifndef" or not m.group(2).split():
        return None
    name = m.group(2).split()[0]
    depth = 0
    nested = 0  # `#if`s inside the skipped region: the line walk emits no line for those
    for k in range(first, len(lines)):
        stripped = lines[k][1].lstrip()
        if not stripped.startswith("#"):
            continue
        d = _DIRECTIVE.match(stripped).group(1)
        if d in ("if", "ifdef", "ifndef"):
            depth += 1
            nested += depth > 1
        elif d in ("else", "elif") and depth == 1:
            return None
        elif d == "endif":
            depth -= 1
            if depth == 0:
                if any(ln.strip() for _n, ln in lines[k + 1:]):
                    return None
                return name, first, k, nested
    return None


class _Unterminated(CParseError):
    pass


class _Macro:
    __slots__ = ("name", "params", "variadic", "body")

    def __init__(self, name, params, variadic, body):
        self.name, self.params, self.variadic, self.body = name, params, variadic, body

    def __reduce__(self):
        # one constructor call per macro: half the time of the default slots pickling (thousands
        # of macros go into every on-disk preprocessor memo entry)
        return (_Macro, (self.name, self.params, self.variadic, self.body))


def _tokens(text: str) -> list[str]:
    return _TOK.findall(text)


class Preprocessor:
    def __init__(self, include_dirs=(), defines=None):
        self.include_dirs = [Path(d) for d in include_dirs]
        self.macros: dict[str, _Macro] = {}
        self.once: set[str] = set()
        self.queried: set[str] = set()  # identifiers looked up as macros (callers cache per arch on them)
        self.files_read: list[tuple[str, int, int]] = []  # (path, mtime_ns, size): the output depends on them
        for name, value in (defines or {}).items():
            self.define_text(f"{name} {'' if value is None else value}", "<command-line>")

    # -- entry points --------------------------------------------------------------
    def run_files(self, paths) -> str:
        out: list[str] = []
        for p in paths:
            self._file(Path(p), out, 0)
        return "\n".join(out) + "\n"

    def define_text(self, text: str, where: str) -> None:
        m = re.match(r"\s*([A-Za-z_$][\w$]*)(\(([^)]*)\))?\s*(.*)", text, re.S)
        if not m:
            raise CParseError(f"{where}: bad #define {text!r}")
        name = m.group(1)
        body = _tokens(m.group(4).strip())
        if m.group(2) is not None:
            params = [x.strip() for x in m.group(3).split(",") if x.strip()]
            variadic = bool(params) and params[-1].endswith("...")
            if variadic:
                last = params[-1][:-3].strip()
                params[-1] = last or "__VA_ARGS__"
            self.macros[name] = _Macro(name, params, variadic, body)
        else:
            self.macros[name] = _Macro(name, None, False, body)

    # -- files --------------------------------------------------------------------
    def _read(self, path: Path) -> tuple[list[tuple[int, str]], tuple | None]:
        """(logical lines, include guard) of a file, memoised per process on (path, mtime, size):
        a UAPI run includes ~250 files, most of them several times, and 26 arches need ~6 runs."""
        spath = str(path)
        try:
            st = path.stat()
        except OSError as exc:
            raise CParseError(f"{path}: cannot read: {exc.strerror}") from None
        self.files_read.append((spath, st.st_mtime_ns, st.st_size))
        hit = _LINES_CACHE.get(spath)
        if hit is not None and hit[0] == (st.st_mtime_ns, st.st_size):
            return hit[1], hit[2]
        lines = self._scan(path)
        guard = _include_guard(lines)
        if len(_LINES_CACHE) > 4096:
            _LINES_CACHE.clear()
        _LINES_CACHE[spath] = ((st.st_mtime_ns, st.st_size), lines, guard)
        return lines, guard

    @staticmethod
    def _scan(path: Path) -> list[tuple[int, str]]:
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise CParseError(f"{path}: cannot read: {exc.strerror}") from None
        # comments -> spaces (newlines kept), then join continuation lines
        text = re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'",
                      lambda m: m.group() if m.group()[0] in "\"'" else
                      ("\n" * m.group().count("\n") or " "), text, flags=re.S)
        out = []
        buf, start = "", None
        for no, line in enumerate(text.split("\n"), 1):
            if start is None:
                start = no
            if line.endswith("\\"):
                buf += line[:-1]
                continue
            out.append((start, buf + line))
            buf, start = "", None
        if buf:
            out.append((start, buf))
        return out

    def _file(self, path: Path, out: list[str], depth: int) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise CParseError(f"{path}: #include nested too deeply")
        spath = str(path)
        key = _RESOLVED.get(spath)
        if key is None:
            key = _RESOLVED[spath] = str(path.resolve())
        if key in self.once:
            return
        out.append(f'# 1 "{path}"')
        stack: list[list[bool]] = []  # [taking, any_taken, else_seen]
        pending: str | None = None
        pending_lines = 0
        lines, guard = self._read(path)
        if guard is not None and guard[0] in self.macros:
            # GCC's multiple-include optimisation: the whole file is `#ifndef X ... #endif` and X
            # is defined, so every line would come out empty.  Same output and same macro
            # lookups (only X) as walking the lines, without the walk.
            name, first, last, nested = guard
            self.queried.add(name)
            out.extend(self.expand_line(line) for _no, line in lines[:first])
            out.extend([""] * (last + 1 - first - nested))
            out.extend(self.expand_line(line) for _no, line in lines[last + 1:])
            return
        active = True  # all(s[0] for s in stack), recomputed after directives (only they change it)
        dirty = False
        for no, line in lines:
            stripped = line.lstrip()
            if stripped.startswith("#"):
                active = all(s[0] for s in stack)
                dirty = True
                m = _DIRECTIVE.match(stripped)
                d, rest = m.group(1), m.group(2).strip()
                where = f"{path}:{no}"
                if d in ("if", "ifdef", "ifndef"):
                    if not active:
                        stack.append([False, True, False])
                        continue
                    if d == "if":
                        val = self._eval(rest, where)
                    else:
                        name = rest.split()[0] if rest.split() else ""
                        self.queried.add(name)
                        val = (name in self.macros) == (d == "ifdef")
                    stack.append([val, val, False])
                elif d == "elif":
                    if not stack:
                        raise CParseError(f"{where}: #elif without #if")
                    top = stack[-1]
                    outer = all(s[0] for s in stack[:-1])
                    if top[1] or not outer:
                        top[0] = False
                    else:
                        top[0] = self._eval(rest, where)
                        top[1] = top[0]
                elif d == "else":
                    if not stack:
                        raise CParseError(f"{where}: #else without #if")
                    top = stack[-1]
                    top[0] = not top[1]
                    top[1] = True
                elif d == "endif":
                    if not stack:
                        raise CParseError(f"{where}: #endif without #if")
                    stack.pop()
                elif not active:
                    pass
                elif d == "define":
                    self.define_text(rest, where)
                elif d == "undef":
                    self.macros.pop(rest.split()[0] if rest else "", None)
                elif d == "include":
                    target = self._include_target(rest, path, where)
                    self._file(target, out, depth + 1)
                    out.append(f'# {no + 1} "{path}"')
                    continue
                elif d == "error":
                    raise CParseError(f"{where}: #error {rest}")
                elif d == "pragma" and rest.split()[:1] == ["once"]:
                    self.once.add(key)
                elif d == "pragma" and rest.startswith("pack"):
                    out.append("#pragma " + rest)  # layout-relevant: kept, as compilers' -E do
                    continue
                out.append("")
                continue
            if dirty:
                active = all(s[0] for s in stack)
                dirty = False
            if not active:
                out.append("")
                continue
            if pending is not None:
                pending += " " + line
                pending_lines += 1
            else:
                pending, pending_lines = line, 1
            try:
                expanded = self.expand_line(pending)
            except _Unterminated:
                continue  # a macro call whose arguments go on over the next lines
            out.append(expanded)
            out.extend([""] * (pending_lines - 1))
            pending = None
        if pending is not None:
            raise CParseError(f"{path}: unterminated macro argument list")
        if stack:
            raise CParseError(f"{path}: unterminated #if")

    def _include_target(self, rest: str, cur: Path, where: str) -> Path:
        m = re.match(r'"([^"]+)"|<([^>]+)>', rest)
        if not m:
            expanded = self.expand_line(rest).strip()
            m = re.match(r'"([^"]+)"|<([^>]+)>', expanded)
            if not m:
                raise CParseError(f"{where}: bad #include {rest!r}")
        name = m.group(1) or m.group(2)
        dirs = ([cur.parent] if m.group(1) else []) + self.include_dirs
        for d in dirs:
            cand = d / name
            if cand.is_file():
                return cand
        raise CParseError(f"{where}: fatal error: {name}: No such file or directory")

    # -- expansion --------------------------------------------------------------------
    def expand_text(self, text: str) -> str:
        return self.expand_line(text)

    def expand_line(self, line: str) -> str:
        toks = _tokens(line)
        macros, queried = self.macros, self.queried
        for t in toks:
            if _ID.match(t):
                queried.add(t)  # as _expand does: looked up, defined or not
                if t in macros:
                    return "".join(self._expand(toks, frozenset()))
        return line  # no macro in it: _expand would return the tokens, and they join to `line`

    def _expand(self, toks: list[str], hide: frozenset) -> list[str]:
        out: list[str] = []
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            if not _ID.match(t):
                out.append(t)
                i += 1
                continue
            self.queried.add(t)  # looked up, defined or not: the output depends on it
            m = self.macros.get(t)
            if m is None or t in hide:
                out.append(t)
                i += 1
                continue
            if m.params is None:
                out.extend(self._expand(list(m.body), hide | {t}))
                i += 1
                continue
            j = i + 1
            while j < n and toks[j].isspace():
                j += 1
            if j >= n or toks[j] != "(":
                out.append(t)
                i += 1
                continue
            args, k = self._args(toks, j)
            out.extend(self._expand(self._substitute(m, args, hide), hide | {t}))
            i = k
        return out

    @staticmethod
    def _args(toks: list[str], j: int) -> tuple[list[list[str]], int]:
        depth = 0
        args: list[list[str]] = [[]]
        k = j
        while k < len(toks):
            t = toks[k]
            if t == "(":
                depth += 1
                if depth == 1:
                    k += 1
                    continue
            elif t == ")":
                depth -= 1
                if depth == 0:
                    return [a for a in args], k + 1
            elif t == "," and depth == 1:
                args.append([])
                k += 1
                continue
            args[-1].append(t)
            k += 1
        raise _Unterminated("unterminated macro argument list")

    def _substitute(self, m: _Macro, args: list[list[str]], hide) -> list[str]:
        params = m.params
        if m.variadic and len(args) > len(params):
            head = args[:len(params) - 1]
            rest: list[str] = []
            for a in args[len(params) - 1:]:
                rest += (a if not rest else [","] + a)
            args = head + [rest]
        if len(params) == 0 and args == [[]]:
            args = []
        amap = {p: (args[i] if i < len(args) else []) for i, p in enumerate(params)}
        body = m.body
        out: list[str] = []
        i = 0
        while i < len(body):
            t = body[i]
            if t == "#" and i + 1 < len(body):
                k = i + 1
                while k < len(body) and body[k].isspace():
                    k += 1
                if k < len(body) and body[k] in amap:
                    s = "".join(amap[body[k]]).strip()
                    out.append('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
                    i = k + 1
                    continue
            if t == "##":
                while out and out[-1].isspace():
                    out.pop()
                k = i + 1
                while k < len(body) and body[k].isspace():
                    k += 1
                nxt = amap.get(body[k], [body[k]]) if k < len(body) else []
                nxt = [x for x in nxt if not x.isspace()] or [""]
                left = out.pop() if out else ""
                out.extend(_tokens(left + nxt[0]) + nxt[1:])
                i = k + 1
                continue
            if t in amap:
                nxt_is_paste = any(x == "##" for x in body[i + 1:i + 3] if not x.isspace()) and \
                    next((x for x in body[i + 1:] if not x.isspace()), "") == "##"
                out.extend(amap[t] if nxt_is_paste else self._expand(list(amap[t]), hide))
            else:
                out.append(t)
            i += 1
        return out

    # -- #if ------------------------------------------------------------------------
    def _eval(self, text: str, where: str) -> bool:
        toks = [t for t in _tokens(text) if not t.isspace()]
        # defined X / defined(X) before expansion
        res: list[str] = []
        i = 0
        while i < len(toks):
            if toks[i] == "defined":
                if i + 1 < len(toks) and toks[i + 1] == "(":
                    name = toks[i + 2] if i + 2 < len(toks) else ""
                    i += 4
                else:
                    name = toks[i + 1] if i + 1 < len(toks) else ""
                    i += 2
                self.queried.add(name)
                res.append("1" if name in self.macros else "0")
                continue
            if toks[i] in ("__has_include", "__has_include_next"):
                raise CParseError(f"{where}: __has_include is not supported by the built-in preprocessor")
            res.append(toks[i])
            i += 1
        expanded = [t for t in self._expand(res, frozenset()) if not t.isspace()]
        expanded = ["0" if _ID.match(t) and t not in ("defined",) else t for t in expanded]
        try:
            value, pos = _Expr(expanded).parse()
        except (IndexError, ValueError, ZeroDivisionError) as exc:
            raise CParseError(f"{where}: bad #if expression {text.strip()!r}: {exc}") from None
        return bool(value)


class _Expr:
    """Precedence climbing over C preprocessor expression tokens (intmax_t arithmetic)."""

    BIN = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="), ("<<", ">>"),
           ("+", "-"), ("*", "/", "%")]

    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def parse(self):
        v = self.cond()
        if self.i != len(self.toks):
            raise ValueError(f"unexpected {self.toks[self.i]!r}")
        return v, self.i

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def cond(self):
        c = self.binary(0)
        if self.peek() == "?":
            self.i += 1
            a = self.cond()
            if self.peek() != ":":
                raise ValueError("expected ':'")
            self.i += 1
            b = self.cond()
            return a if c else b
        return c

    def binary(self, level):
        if level == len(self.BIN):
            return self.unary()
        v = self.binary(level + 1)
        while self.peek() in self.BIN[level]:
            op = self.toks[self.i]
            self.i += 1
            if op == "&&":
                r = self.binary(level + 1)
                v = int(bool(v) and bool(r))
                continue
            if op == "||":
                r = self.binary(level + 1)
                v = int(bool(v) or bool(r))
                continue
            r = self.binary(level + 1)
            if op in ("/", "%"):
                q = abs(v) // abs(r) * (1 if (v < 0) == (r < 0) else -1)
                v = q if op == "/" else v - q * r
            else:
                v = {"|": lambda: v | r, "^": lambda: v ^ r, "&": lambda: v & r, "==": lambda: int(v == r),
                     "!=": lambda: int(v != r), "<": lambda: int(v < r), ">": lambda: int(v > r),
                     "<=": lambda: int(v <= r), ">=": lambda: int(v >= r), "<<": lambda: v << r,
                     ">>": lambda: v >> r, "+": lambda: v + r, "-": lambda: v - r, "*": lambda: v * r}[op]()
        return v

    def unary(self):
        t = self.peek()
        if t in ("-", "+", "~", "!"):
            self.i += 1
            v = self.unary()
            return {"-": -v, "+": v, "~": ~v, "!": int(not v)}[t]
        if t == "(":
            self.i += 1
            v = self.cond()
            if self.peek() != ")":
                raise ValueError("expected ')'")
            self.i += 1
            return v
        self.i += 1
        if t is None:
            raise ValueError("unexpected end")
        if t[0] == "'":
            body = t[1:-1]
            return ord(body[-1]) if not body.startswith("\\") else {"n": 10, "t": 9, "0": 0}.get(body[1:], 0)
        s = t.lower().rstrip("ul")
        if s.startswith("0x"):
            return int(s, 16)
        if s.startswith("0b"):
            return int(s[2:], 2)
        if s.startswith("0") and len(s) > 1:
            return int(s, 8)
        return int(s)
