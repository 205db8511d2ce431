"""C declarations -> declaration table (pycparser 2.23 + pycparserext's GnuCParser).

Pipeline (one stage per function, the pycparser habit):

1. ``preprocess_for``: per-arch preprocessing, with the arch's real compiler ``-E`` when one is
   installed, else the built-in preprocessor in ``bitlayout.cpp`` fed the profile's predefined
   macros.  ``-I``/``-D`` behave as on a compiler command line.
2. ``normalize``: a token pass that makes GNU C that pycparserext mis-parses or drops parseable
   (see docs/cfront.md for the list).  Every ``__attribute__`` is cut out of the text (replaced by
   spaces so line:column stay exact) and recorded out of band:
     - type attributes (``struct __attribute__((packed)) s {`` or ``} __attribute__((packed))``)
       become a marker member ``char __bl_attr_N;`` (struct/union) or enumerator
       ``__bl_attr_N = 0`` (enum) that the table builder removes again;
     - declaration attributes are keyed by the ``file:line:col`` of the declarator's name, which
       is where pycparser puts ``Decl.coord``.
   pycparserext 2026.1 silently loses the pointer/array declarator when an attribute follows it
   (``int *p __attribute__((x))`` parses as ``int p``), so we never let it see one.
3. ``parse_text``: GnuCParser; a ParseError becomes a one-line ``CParseError`` ``file:line:col``.
4. ``build_table``: the AST becomes a ``TranslationUnit`` of plain dataclasses (typedefs, tags,
   enumerators, static asserts).  Constant expressions stay pycparser nodes; ``bitlayout.layout``
   evaluates them per arch.  No layout is computed here.
"""

from __future__ import annotations

import contextlib
import gc
from collections import abc
import hashlib
import os
import pickle
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from pycparser import c_ast
from pycparser.plyparser import ParseError

from ..errors import CParseError, LayoutError, ToolchainError
from ..toolchains import define_flags, first_error

# ---------------------------------------------------------------------------
# Tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v]+|\\\n)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<str>(?:u8|[LuU])?"(?:\\.|[^"\\\n])*")
  | (?P<chr>(?:[LuU])?'(?:\\.|[^'\\\n])*')
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[0-9a-zA-Z_.])*)
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|\#\#|[][(){};:,.?~!%&*+\-/<=>^|#])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Tok:
    """One token (a plain slotted class: normalize makes ~10^5 of them per header set)."""

    __slots__ = ("kind", "text", "attrs", "end")

    def __init__(self, kind: str, text: str, attrs=(), end: bool = False):
        self.kind = kind  # nl ws comment str chr num id punct other directive
        self.text = text
        self.attrs = attrs  # declaration attributes when this is a decl name
        self.end = end  # ends a top-level declaration: a chunk boundary for the parse cache

    def __repr__(self) -> str:
        return f"Tok({self.kind!r}, {self.text!r})"


# a line whose first non-blank character is `#` is one directive token
_ALL_TOKENS_RE = re.compile(r"(?P<directive>(?m:^)[ \t]*\#[^\n]*)|" + _TOKEN_RE.pattern,
                            re.VERBOSE | re.DOTALL)


def tokenize(text: str) -> list[Tok]:
    """Split preprocessed C into tokens; a line starting with ``#`` is one directive token."""
    return [Tok(m.lastgroup, m.group()) for m in _ALL_TOKENS_RE.finditer(text)]


# ---------------------------------------------------------------------------
# Attributes

@dataclass(frozen=True)
class Attr:
    """One GNU attribute that matters for layout: ``packed`` or ``aligned`` (arg is an expression
    node, or None for bare ``aligned`` = the target's __BIGGEST_ALIGNMENT__)."""

    name: str
    arg: object = None  # c_ast expression node, filled in after parsing


# Attributes that change size or layout in ways the engine does not model: refuse, don't guess.
_UNSUPPORTED_ATTRS = {"mode", "vector_size", "ms_struct", "gcc_struct", "scalar_storage_order"}

_C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Alignas", "_Alignof", "_Atomic", "_Noreturn",
    "_Static_assert", "_Thread_local", "__int128", "__typeof__", "__extension__", "asm", "__asm__",
    "__builtin_va_list", "__builtin_offsetof", "__attribute__", "__inline__", "__restrict__",
    "__const", "__volatile__", "__asm",
}

# Length-preserving keyword spellings (columns must stay exact for the coord-keyed side tables).
_RESPELL = {
    "__signed__": "signed    ", "__signed": "signed  ",
    "__const__": "const    ", "__const": "const  ",
    "__volatile": "volatile  ", "__volatile__": "volatile    ",
    "__restrict": "restrict  ", "__restrict__": "restrict    ",
    "__inline": "inline  ", "__inline__": "inline    ",
    "typeof": "__typeof__", "__typeof": "__typeof__"[:8],
    "static_assert": "_Static_assert",
    "_Noreturn": "         ",
    "__int128_t": "__int128  ", "__uint128_t": "__bl_u128  ",
    "_Thread_local": "             ", "__thread": "        ",
    "alignof": "_Alignof",
    "__builtin_offsetof": "offsetof          ",  # pycparser's keyword is `offsetof`
}


def _skip_ws(toks: list[Tok], i: int) -> int:
    while i < len(toks) and toks[i].kind in ("ws", "nl", "comment"):
        i += 1
    return i


def _match_paren(toks: list[Tok], i: int) -> int:
    """Index of the token closing the bracket at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opener = toks[i].text
    closer = pairs[opener]
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j].text
        if toks[j].kind != "punct":
            continue
        if t == opener:
            depth += 1
        elif t == closer:
            depth -= 1
            if depth == 0:
                return j
    raise CParseError(f"unbalanced {opener!r}")


def _split_attr_list(toks: list[Tok]) -> list[tuple[str, list[Tok] | None]]:
    """``packed, aligned(8)`` -> [("packed", None), ("aligned", [8])]."""
    items: list[tuple[str, list[Tok] | None]] = []
    i = 0
    toks = [t for t in toks if t.kind not in ("ws", "nl", "comment")]
    while i < len(toks):
        t = toks[i]
        if t.text == ",":
            i += 1
            continue
        name = t.text.strip("_") if t.kind == "id" else t.text
        if i + 1 < len(toks) and toks[i + 1].text == "(":
            j = _match_paren(toks, i + 1)
            items.append((name, toks[i + 2:j]))
            i = j + 1
        else:
            items.append((name, None))
            i += 1
    return items


@dataclass
class _AttrRecord:
    name: str
    arg_text: str | None
    index: int  # global attribute number N for __bl_attr_N / __bl_attrarg_N


@dataclass
class Normalized:
    text: str
    attrs: dict[int, _AttrRecord]  # N -> attribute
    decl_attrs: dict[tuple[str, int, int], list[int]]  # (file, line, col) of decl name -> [N]
    gnu_alignof: set[tuple[str, int, int]]  # coords of `_Alignof` that were `__alignof__`
    chunks: list = field(default_factory=list)  # (offset, file, line, col) where each top-level chunk starts
    tail_offset: int = -1  # where the appended attribute-argument asserts start (-1: none)


_LINEMARK_RE = re.compile(r"\s*#\s*(?:line\s+)?\d+")


def _is_attr_kw(t: Tok) -> bool:
    return t.kind == "id" and t.text in ("__attribute__", "__attribute")


def normalize(text: str, filename: str = "<input>") -> Normalized:
    """Rewrite preprocessed GNU C into what GnuCParser parses faithfully; record attributes.

    Done one top-level declaration at a time (split at each `;` outside brackets), each part
    memoised on its text and the state it starts in (attribute count, `#pragma pack`, file, line,
    column): the arches' preprocessed texts share almost every part, so 26 arches (~6 distinct
    texts on UAPI) normalise each part once.  A part that does not end in the file-level state
    (the split guessed wrong) makes the whole text go through in one piece, as before.
    """
    attrs: dict[int, _AttrRecord] = {}
    pieces: list[str] = []
    decl_attrs: dict[tuple[str, int, int], list[int]] = {}
    gnu_alignof: set[tuple[str, int, int]] = set()
    chunks = [(0, filename, 1, 1)]
    pack_cur: int | None = None
    pack_stack: tuple = ()
    cur_file, cur_line, col = filename, 1, 1
    offset = 0
    for part in _split_top_level(text):
        key = (part, filename, len(attrs), pack_cur, pack_stack, cur_file, cur_line, col)
        hit = _NORM_CACHE.get(key)
        if hit is None:
            base = len(attrs)
            res = _normalize_part(part, filename, attrs, pack_cur, pack_stack, cur_file, cur_line, col)
            if res is None:  # not a clean top-level split: the whole text in one piece
                attrs = {}
                res = _normalize_part(text, filename, attrs, None, (), filename, 1, 1, whole=True)
                pieces, decl_attrs, gnu_alignof, chunks = [], {}, set(), [(0, filename, 1, 1)]
                _merge_part(res, pieces, decl_attrs, gnu_alignof, chunks, 0)
                break
            hit = (res, [attrs[k] for k in range(base, len(attrs))])
            if len(_NORM_CACHE) > 200_000:
                _NORM_CACHE.clear()
            _NORM_CACHE[key] = hit
        res, new_attrs = hit
        for rec in new_attrs:
            attrs[rec.index] = rec
        _merge_part(res, pieces, decl_attrs, gnu_alignof, chunks, offset)
        offset += len(res[0])
        pack_cur, pack_stack, cur_file, cur_line, col = res[4:9]
    text_out = "".join(pieces)
    # Attribute arguments (aligned(N)) are parsed with the rest as `_Static_assert((N), "...")`
    # lines appended at the end, where every type they may name is complete.
    tail = []
    for rec in attrs.values():
        if rec.arg_text is not None:
            tail.append(f'_Static_assert(({rec.arg_text}) || 1, "__bl_attrarg_{rec.index}");')
    tail_offset = -1
    if tail:
        sub = normalize("\n".join(tail) + "\n", "<bitlayout-attributes>")
        gnu_alignof |= sub.gnu_alignof
        tail_offset = len(text_out)
        text_out += "\n# 1 \"<bitlayout-attributes>\"\n" + sub.text
    return Normalized(text_out, attrs, decl_attrs, gnu_alignof, chunks, tail_offset)


_NORM_CACHE: dict = {}
# what can hold a `;` that does not end a top-level declaration, and the brackets
_SPLIT_RE = re.compile(r"""(?m:^)[ \t]*\#[^\n]*|/\*.*?\*/|//[^\n]*|(?:u8|[LuU])?"(?:\\.|[^"\\\n])*"|"""
                       r"""[LuU]?'(?:\\.|[^'\\\n])*'|[][(){};]""", re.S)


def _split_top_level(text: str) -> list[str]:
    """`text` cut after every `;` outside brackets (a guess checked by `_normalize_part`)."""
    parts = []
    depth = 0
    start = 0
    for m in _SPLIT_RE.finditer(text):
        c = m.group()
        if c == ";":
            if depth == 0:
                parts.append(text[start:m.end()])
                start = m.end()
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
    if start < len(text) or not parts:
        parts.append(text[start:])
    return parts


def _merge_part(res, pieces, decl_attrs, gnu_alignof, chunks, offset) -> None:
    text, dattrs, galign, ends = res[:4]
    pieces.append(text)
    for key, numbers in dattrs:
        decl_attrs.setdefault(key, []).extend(numbers)
    gnu_alignof.update(galign)
    chunks.extend((offset + o, f, ln, c) for o, f, ln, c in ends)


def _normalize_part(text: str, filename: str, attrs: dict, pack_cur, pack_stack: tuple,
                    cur_file: str, cur_line: int, col0: int, whole: bool = False):
    """normalize()'s work on `text` starting at file level in the given state; None when it does
    not end at file level (unless `whole`: the entire input, whatever state it ends in).  -> (text, [(coord, [N])], [coord], [chunk end], pack_cur, pack_stack,
    file, line, column) at the end."""
    toks = tokenize(text)
    out: list[Tok] = []
    # Frames: ("file"|"struct"|"enum"|"block", index in `out` where the current declaration starts,
    # pending type attrs for struct/enum frames, marker token for struct frames)
    frames: list[dict] = [{"kind": "file", "decl_start": 0, "moved": []}]
    pending_tag_attrs: list[int] | None = None  # after struct/union/enum keyword
    pending_tag_kind = None
    pending_ids = 0  # identifiers seen since the struct/union/enum keyword (the tag: at most 1)
    tag_frames: list[dict] = []
    pack_stack: list[int | None] = list(pack_stack)  # pack_cur: #pragma pack in force (bytes)
    paren_depth = 0
    last_closed: dict | None = None  # the struct/enum frame just closed, for `} __attribute__`
    i = 0
    n = len(toks)

    def take_attribute(i: int) -> tuple[list[int], int]:
        j = _skip_ws(toks, i + 1)
        if j >= n or toks[j].text != "(":
            raise CParseError(f"{filename}: malformed __attribute__")
        end = _match_paren(toks, j)
        inner = toks[j + 1:end]
        # __attribute__((a, b)) : strip the second pair of parentheses
        k = _skip_ws(inner, 0)
        numbers: list[int] = []
        if k < len(inner) and inner[k].text == "(":
            e2 = _match_paren(inner, k)
            for name, args in _split_attr_list(inner[k + 1:e2]):
                if name in _UNSUPPORTED_ATTRS:
                    raise LayoutError(f"unsupported attribute {name!r}", path=filename)
                if name in ("packed", "aligned"):
                    idx = len(attrs)
                    arg = "".join(t.text for t in args).strip() if args else None
                    attrs[idx] = _AttrRecord(name, arg or None, idx)
                    numbers.append(idx)
        # keep line structure: blank the attribute text, newlines stay
        for t in toks[i:end + 1]:
            blank = "".join("\n" if c == "\n" else " " for c in t.text)
            out.append(Tok("ws" if "\n" not in blank else "ws", blank))
        return numbers, end + 1

    while i < n:
        t = toks[i]
        frame = frames[-1]
        if _is_attr_kw(t):
            numbers, i = take_attribute(i)
            if pending_tag_attrs is not None:
                pending_tag_attrs.extend(numbers)
            elif last_closed is not None:
                last_closed["type_attrs"].extend(numbers)
            elif frame["kind"] in ("file", "struct") and paren_depth == frame.get("paren0", 0):
                frame.setdefault("decl_attr_marks", []).append((len(out), numbers))
            continue
        if t.kind in ("ws", "nl", "comment"):
            out.append(t)
            i += 1
            continue
        if t.kind == "directive" and not _LINEMARK_RE.match(t.text):
            pm = re.match(r"\s*#\s*pragma\s+pack\s*\(\s*(push)?\s*,?\s*(pop)?\s*,?\s*(\d*)\s*\)\s*$", t.text)
            if pm:
                # GCC "Structure-Layout Pragmas": pack(n), pack(), pack(push[, n]), pack(pop)
                if pm.group(1):
                    pack_stack.append(pack_cur)
                if pm.group(2):
                    pack_cur = pack_stack.pop() if pack_stack else None
                elif pm.group(3):
                    pack_cur = int(pm.group(3))
                elif not pm.group(1):
                    pack_cur = None
                if pack_cur is not None and (pack_cur <= 0 or pack_cur & (pack_cur - 1)):
                    raise LayoutError(f"#pragma pack({pack_cur}): not a power of 2", path=filename)
            elif re.match(r"\s*#\s*pragma\s+pack", t.text):
                raise LayoutError(f"unsupported pragma {t.text.strip()!r}", path=filename)
            i += 1  # #define/#undef kept by -dD (macros are collected separately), other pragmas
            continue
        if t.kind == "id" and t.text in _RESPELL:
            t = Tok("id", _RESPELL[t.text])
            if t.text.strip() == "":
                out.append(Tok("ws", t.text))
                i += 1
                continue
        if t.kind == "id" and t.text in ("__alignof__", "__alignof"):
            out.append(Tok("id", "_Alignof".ljust(len(t.text)), ["gnu_alignof"]))
            i += 1
            continue
        if t.kind == "id" and t.text == "_Static_assert" and frame["kind"] == "struct":
            # pycparser rejects _Static_assert inside a struct body: move it after the
            # enclosing top-level declaration (the struct is complete there).
            j = _skip_ws(toks, i + 1)
            end = _match_paren(toks, j)
            k = _skip_ws(toks, end + 1)
            seg = "".join(x.text for x in toks[i:k + 1]).replace("\n", " ")
            frames[0]["moved"].append(seg)
            for x in toks[i:k + 1]:
                out.append(Tok("ws", "".join("\n" if c == "\n" else " " for c in x.text)))
            i = k + 1
            continue
        last_closed = None
        if t.kind == "id" and t.text in ("struct", "union", "enum"):
            pending_tag_attrs = []
            pending_ids = 0
            pending_tag_kind = "enum" if t.text == "enum" else "struct"
            out.append(t)
            i += 1
            continue
        if t.kind == "punct" and t.text == "{":
            if pending_tag_attrs is not None:
                if pack_cur is not None and pending_tag_kind == "struct":
                    idx = len(attrs)
                    attrs[idx] = _AttrRecord("pack", str(pack_cur), idx)
                    pending_tag_attrs.append(idx)
                out.append(t)
                marker = Tok("ws", "")
                out.append(marker)
                frames.append({"kind": pending_tag_kind, "decl_start": len(out),
                               "type_attrs": pending_tag_attrs, "marker": marker,
                               "paren0": paren_depth})
                pending_tag_attrs = None
            else:
                out.append(t)
                frames.append({"kind": "block", "decl_start": len(out), "type_attrs": []})
            i += 1
            continue
        if pending_tag_attrs is not None:
            pending_ids += t.kind == "id"
            if t.kind != "id" or pending_ids > 1:
                pending_tag_attrs = None  # `struct s x;` reference, or `enum e;`
        if t.kind == "punct" and t.text == "}":
            closed = frames.pop() if len(frames) > 1 else frame
            if closed["kind"] in ("struct", "enum"):
                _finish_decl(out, closed)
                closed["close_index"] = len(out)
                closed["close_tok"] = Tok("punct", "}")
                out.append(closed["close_tok"])
                last_closed = closed
                tag_frames.append(closed)
            else:
                out.append(t)
            i += 1
            continue
        if t.kind == "punct" and t.text in "([":
            paren_depth += 1
        elif t.kind == "punct" and t.text in ")]":
            paren_depth -= 1
        if t.kind == "punct" and t.text == ";" and frame["kind"] in ("file", "struct") \
                and paren_depth == frame.get("paren0", 0):
            _finish_decl(out, frame)
            out.append(t)
            if frame["kind"] == "file":
                t.end = True
            frame["decl_start"] = len(out)
            if frame["kind"] == "file" and frame["moved"]:
                out.append(Tok("ws", " " + " ".join(frame["moved"])))
                frame["moved"] = []
            i += 1
            continue
        out.append(t)
        i += 1

    # Type attributes -> marker members / enumerators (filled in now that `} attr` is known).
    for fr in tag_frames:
        if not fr["type_attrs"]:
            continue
        names = [f"__bl_attr_{k}" for k in fr["type_attrs"]]
        if fr["kind"] == "struct":
            fr["marker"].text = "".join(f"char {nm};" for nm in names)
        else:
            # the enumerator goes last so that implicit values do not shift; value 0 never
            # changes the range class of an enum (see layout._enum_type).
            prev = fr["close_index"] - 1
            while prev >= 0 and out[prev].kind in ("ws", "nl", "comment"):
                prev -= 1
            sep = "" if out[prev].text in (",", "{") else ","
            fr["close_tok"].text = sep + ",".join(f"{nm}=0" for nm in names) + "}"

    clean = len(frames) == 1 and paren_depth == 0 and pending_tag_attrs is None \
        and last_closed is None and not frames[0]["moved"] and not frames[0].get("decl_attr_marks")
    if not clean and not whole:
        return None

    # Render and compute pycparser coordinates of tokens that carry declaration attributes.
    pieces: list[str] = []
    decl_attrs: list = []
    gnu_alignof: set[tuple[str, int, int]] = set()
    offset = 0
    line_start = -col0  # offset of the last '\n' (col0: the column this part starts at)
    chunks = []
    for tok in out:
        if tok.kind == "directive":
            m = re.match(r'\s*#\s*(?:line\s+)?(\d+)(?:\s+"((?:\\.|[^"\\])*)")?', tok.text)
            pieces.append(tok.text)
            offset += len(tok.text)
            if m:
                # the newline after the directive increments the line
                cur_line = int(m.group(1)) - 1
                if m.group(2) is not None:
                    cur_file = m.group(2)
            continue
        if tok.attrs:
            col = offset - line_start
            key = (cur_file, cur_line, col)
            if tok.attrs == ["gnu_alignof"]:
                gnu_alignof.add(key)
            else:
                decl_attrs.append((key, list(tok.attrs)))
        tx = tok.text
        pieces.append(tx)
        if "\n" in tx:
            cur_line += tx.count("\n")
            line_start = offset + tx.rindex("\n")
        offset += len(tx)
        if tok.end:
            chunks.append((offset, cur_file, cur_line, offset - line_start))
    return ("".join(pieces), decl_attrs, gnu_alignof, chunks, pack_cur, tuple(pack_stack),
            cur_file, cur_line, offset - line_start)


def _finish_decl(out: list[Tok], frame: dict) -> None:
    """Attach the declaration attributes seen in [decl_start, now) to declarator name tokens."""
    marks = frame.pop("decl_attr_marks", [])
    if not marks:
        return
    start = frame["decl_start"]
    seg = list(range(start, len(out)))
    # split into declarators at top-level commas; find each declarator's name token
    names: list[tuple[int, int, int]] = []  # (name_index, seg_start, seg_end)
    depth = 0
    cur_start = start
    bounds = []
    for k in seg:
        tx = out[k].text
        if out[k].kind == "punct":
            if tx in "([{":
                depth += 1
            elif tx in ")]}":
                depth -= 1
            elif tx == "," and depth == 0:
                bounds.append((cur_start, k))
                cur_start = k + 1
    bounds.append((cur_start, len(out)))
    for b0, b1 in bounds:
        name = _declarator_name(out, b0, b1)
        names.append((name, b0, b1))
    first_name = names[0][0] if names else None
    for pos, numbers in marks:
        if not numbers:
            continue
        # attributes before the first declarator's name are in the specifiers: apply to all
        if first_name is None or pos <= first_name:
            targets = [nm for nm, _, _ in names if nm is not None]
        else:
            targets = [nm for nm, b0, b1 in names if nm is not None and b0 <= pos <= b1]
        for nm in targets:
            out[nm].attrs = [*out[nm].attrs, *numbers]


def _declarator_name(out: list[Tok], b0: int, b1: int) -> int | None:
    """Index of the declared identifier in out[b0:b1] (None for `struct s;`)."""
    k = b0
    name = None
    prev = None  # previous significant token
    while k < b1:
        t = out[k]
        if t.kind in ("ws", "nl", "comment", "directive"):
            k += 1
            continue
        if t.kind == "punct":
            if t.text in (":", "="):
                break
            if t.text in ("[", "{"):
                k = _match_paren(out, k) + 1
                prev = out[k - 1]
                continue
            if t.text == "(":
                nxt = _skip_ws(out, k + 1)
                nested = nxt < b1 and out[nxt].text in ("*", "^", "(")
                after_name = prev is not None and (prev.text in (")", "]") or (
                    prev.kind == "id" and prev.text not in _C_KEYWORDS))
                if nested or not after_name and prev is not None and prev.kind == "id" \
                        and prev.text in ("int", "char", "long", "short", "void", "unsigned", "signed",
                                          "float", "double", "_Bool", "const", "volatile"):
                    k += 1  # descend into a parenthesised declarator
                    prev = t
                    continue
                k = _match_paren(out, k) + 1
                prev = out[k - 1]
                continue
        if t.kind == "id" and t.text.strip() not in _C_KEYWORDS and not t.text.startswith("__bl_attr") \
                and not (prev is not None and prev.kind == "id" and prev.text in ("struct", "union", "enum")):
            name = k
        prev = t
        k += 1
    return name


# ---------------------------------------------------------------------------
# Parsing

_PRELUDE = "typedef unsigned __int128 __bl_u128;\n"


def parse_text(text: str, filename: str = "<input>"):
    """Normalize and parse preprocessed C; returns (FileAST, Normalized)."""
    norm = normalize(text, filename)
    src = _PRELUDE + f'# 1 "{filename}"\n' + norm.text
    try:
        ast = _parser().parse(src, filename=filename)
    except ParseError as exc:
        raise CParseError(_with_hint(_one_line(str(exc)), src)) from None
    except (AssertionError, AttributeError, TypeError, IndexError) as exc:
        # pycparserext raises bare Python errors on some GNU constructs; keep them one line.
        raise CParseError(f"{filename}: cannot parse: {type(exc).__name__}: {exc}") from None
    return ast, norm


_CHUNK_CACHE: dict = {}
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def parse_chunks(norm: Normalized, filename: str) -> list:
    """Parse the normalized text one top-level declaration chunk at a time, reusing the AST of a
    chunk already parsed (for another arch) with the same text, position and relevant typedefs.

    Each chunk is fed to pycparser behind a ``# line "file"`` marker and padding so that every
    coordinate is the one a whole-text parse gives; typedef names declared by earlier chunks
    are passed as ``initial_type_symbols``.  Cached nodes are shared, never mutated.
    """
    text = norm.text
    end_all = norm.tail_offset if norm.tail_offset >= 0 else len(text)
    bounds = [c for c in norm.chunks if c[0] < end_all]
    typedefs: set[str] = {"__bl_u128"}
    exts: list = []
    parser = _parser()
    for i, (start, cfile, cline, ccol) in enumerate(bounds):
        stop = bounds[i + 1][0] if i + 1 < len(bounds) else end_all
        body = text[start:stop]
        if not body.strip():
            continue
        relevant = frozenset(typedefs.intersection(_IDENT.findall(body)))
        key = (body, cfile, cline, ccol, relevant)
        hit = _CHUNK_CACHE.get(key)
        if hit is None:
            src = f'# {cline} "{cfile}"\n' + " " * (ccol - 1) + body
            hit = tuple(_parse_one(parser, src, filename, relevant))
            if len(_CHUNK_CACHE) > 200_000:
                _CHUNK_CACHE.clear()
            _CHUNK_CACHE[key] = hit
        for ext in hit:
            if isinstance(ext, c_ast.Typedef):
                typedefs.add(ext.name)
        exts.extend(hit)
    if norm.tail_offset >= 0:
        exts.extend(_parse_one(parser, text[norm.tail_offset:], filename, frozenset(typedefs)))
    return exts


def _parse_one(parser, src: str, filename: str, typedefs) -> list:
    try:
        return parser.parse(src, filename=filename, initial_type_symbols=typedefs).ext
    except ParseError as exc:
        raise CParseError(_with_hint(_one_line(str(exc)), src)) from None
    except (AssertionError, AttributeError, TypeError, IndexError) as exc:
        raise CParseError(f"{filename}: cannot parse: {type(exc).__name__}: {exc}") from None


def _one_line(msg: str) -> str:
    return " ".join(msg.split())


_BEFORE_RE = re.compile(r"(?P<file>.*):(?P<line>\d+):(?P<col>\d+): before: (?P<tok>[A-Za-z_$][\w$]*)$")
# tokens after which an identifier starts a declaration's specifiers (so it must be a type name)
_DECL_START = {"{", "}", ";", ",", "(", "typedef", "const", "volatile", "static", "extern", "register",
               "inline", "restrict", "_Atomic"}


def _with_hint(msg: str, src: str) -> str:
    """pycparser reports an unknown type name as a syntax error at it or at the declarator after
    it (``unknown_t x;`` -> "before: x"; ``unknown_t *p;`` -> "before: unknown_t"): say so,
    as gcc does ("unknown type name"), when the tokens around the error fit that reading."""
    m = _BEFORE_RE.match(msg)
    if not m:
        return msg
    line = _source_line(src, m.group("file"), int(m.group("line")))
    col, tok = int(m.group("col")) - 1, m.group("tok")
    if line is None or line[col:col + len(tok)] != tok:
        return msg
    sig = ("ws", "nl", "comment")
    before = [t.text for t in tokenize(line[:col]) if t.kind not in sig]
    after = [t for t in tokenize(line[col + len(tok):]) if t.kind not in sig]
    cand = None
    if tok not in _C_KEYWORDS and after and (after[0].text == "*" or after[0].kind == "id"
                                             and after[0].text not in _C_KEYWORDS) \
            and (not before or before[-1] in _DECL_START):
        cand = tok  # `unknown_t *p` / `unknown_t x` with the error reported at unknown_t
    elif before and _IDENT.fullmatch(before[-1]) and before[-1] not in _C_KEYWORDS \
            and (len(before) == 1 or before[-2] in _DECL_START):
        cand = before[-1]  # `unknown_t x` with the error reported at x
    return f"{msg}; unknown type name {cand!r}?" if cand else msg


def _source_line(src: str, file: str, line: int) -> str | None:
    """The text of ``file``:``line`` in ``src`` (which carries ``# N "file"`` line markers)."""
    cur_file, cur = None, 1
    for text in src.split("\n"):
        mk = _LINEMARK_FILE_RE.match(text)
        if mk:
            cur, cur_file = int(mk.group(1)), mk.group(2) if mk.group(2) is not None else cur_file
            continue
        if cur == line and cur_file == file:
            return text
        cur += 1
    return None


_LINEMARK_FILE_RE = re.compile(r'\s*#\s*(?:line\s+)?(\d+)(?:\s+"((?:\\.|[^"\\])*)")?')


# One parser per thread: a pycparser parser is stateful (the lexer's position, the typedef scope
# stack), so two threads parsing through one instance interleave and corrupt each other's results
# (seen by the report engineer).  Everything else here is shared dict lookups/stores (GIL-atomic).
_LOCAL = threading.local()
_TABLES_LOCK = threading.Lock()


def _parser():
    p = getattr(_LOCAL, "parser", None)
    if p is None:
        p = _LOCAL.parser = _new_parser()
    return p


def _tables_dir() -> Path:
    """Where the PLY lexer/parser tables live: one directory per pycparser + pycparserext version
    (the grammar is a function of those two), under the user cache directory."""
    import pycparser

    from ..cachedir import user_cache_dir

    try:
        from importlib.metadata import version
        ext = version("pycparserext")
    except Exception:  # noqa: BLE001 - a missing dist-info only costs a separate directory
        ext = "unknown"
    return user_cache_dir() / f"pycparser-{pycparser.__version__}-pycparserext-{ext}"


def _load_tab(path: Path, name: str):
    """The table module at ``path``, executed from a marshalled code object kept beside it
    (compiling the 1 MB yacctab source costs ~0.1 s, and ``PYTHONDONTWRITEBYTECODE`` or a
    read-only ``__pycache__`` would make Python redo that in every process)."""
    import marshal
    import sys
    import types

    src = path.read_bytes()
    code_path = path.with_name(f"{path.stem}.{sys.implementation.cache_tag}.code")
    digest = hashlib.sha1(src).digest()
    code = None
    try:
        blob = code_path.read_bytes()
        if blob[:20] == digest:
            code = marshal.loads(blob[20:])
    except (OSError, ValueError, EOFError):
        code = None
    if code is None:
        code = compile(src, str(path), "exec")
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(digest + marshal.dumps(code))
            os.replace(tmp, code_path)
        except OSError:
            pass  # read-only cache: compile every time
    mod = types.ModuleType(name)
    mod.__file__ = str(path)
    exec(code, mod.__dict__)
    return mod


def _new_parser():
    """A GnuCParser built from tables cached on disk (generated once per pycparser version).

    pycparserext's GnuCParser hard-codes ``lextab="pycparserext.lextab"`` (a module it does not
    ship), so PLY rebuilt both tables in every process (~0.6 s) and wrote ``lextab.py`` and
    ``yacctab.py`` into the current directory.  PLY accepts the tables as module objects
    (``ply/lex.py`` readtab, ``ply/yacc.py`` read_table: ``isinstance(..., types.ModuleType)``),
    so we load them by path, without touching ``sys.path`` or the working directory.  The first
    process writes them into a private temporary directory and publishes it with one atomic
    ``rename``; a process that loses the race discards its identical copy.
    """
    import pycparser.c_parser
    from pycparserext.ext_c_parser import GnuCParser

    class _CachedGnuCParser(GnuCParser):
        def __init__(self, lextab, yacctab, outdir):  # noqa: D401 - bypass GnuCParser's fixed names
            pycparser.c_parser.CParser.__init__(
                self, lexer=self.lexer_class, lex_optimize=True, yacc_optimize=True,
                lextab=lextab, yacctab=yacctab, taboutputdir=outdir)

    final = _tables_dir()
    with _TABLES_LOCK:
        lex_py, yacc_py = final / f"{_LEXTAB}.py", final / f"{_YACCTAB}.py"
        if lex_py.is_file() and yacc_py.is_file():
            try:
                lextab, yacctab = _load_tab(lex_py, _LEXTAB), _load_tab(yacc_py, _YACCTAB)
                return _CachedGnuCParser(lextab, yacctab, str(final))
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt below, never trusted
                shutil.rmtree(final, ignore_errors=True)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent))
        except OSError:
            tmp = None  # unwritable cache: build in memory (slow, but nothing is littered)
        if tmp is None:
            td = tempfile.mkdtemp()
            try:
                return _CachedGnuCParser(_LEXTAB, _YACCTAB, td)
            finally:
                shutil.rmtree(td, ignore_errors=True)
        parser = _CachedGnuCParser(_LEXTAB, _YACCTAB, str(tmp))
        try:
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process published first
        return parser


# Module names no real package uses (PLY first tries ``import <name>`` for a string table name).
_LEXTAB = "_bitlayout_c_lextab"
_YACCTAB = "_bitlayout_c_yacctab"


# ---------------------------------------------------------------------------
# The declaration table

@dataclass
class CType:
    """A C type as written: kind is one of scalar pointer array func tag typedef typeof."""

    kind: str
    name: str = ""  # scalar key ("int", "long_long", "void", ...), tag key or typedef name
    unsigned: bool = False
    of: "CType | None" = None  # pointee / element / typeof type
    count: object = None  # array length expression (None: [] flexible or incomplete)
    expr: object = None  # typeof(expression)
    spelled: str = ""


@dataclass
class FieldDecl:
    name: str | None
    ctype: CType
    bits: object  # bitfield width expression or None
    attrs: tuple[Attr, ...]
    alignas: tuple  # tuple of c_ast nodes (expression or Typename)
    coord: str


@dataclass
class TagDef:
    kind: str  # struct union enum
    name: str | None
    key: str  # "struct s" or "struct <anon file:line #n>"
    fields: list[FieldDecl] | None  # None: declared only (incomplete)
    enumerators: list[tuple[str, object]] = field(default_factory=list)
    attrs: tuple[Attr, ...] = ()
    coord: str = ""
    file: str = ""


@dataclass
class TypedefDecl:
    name: str
    ctype: CType
    attrs: tuple[Attr, ...]
    alignas: tuple
    coord: str
    file: str


@dataclass
class StaticAssert:
    cond: object
    message: str
    coord: str


@dataclass
class TranslationUnit:
    """Everything the layout engine needs, in declaration order."""

    items: list  # TagDef | TypedefDecl | StaticAssert, in source order
    tags: dict[str, TagDef]
    typedefs: dict[str, TypedefDecl]
    enum_constants: dict[str, tuple[str, int]]  # name -> (enum tag key, index)
    gnu_alignof: frozenset
    input_files: tuple[str, ...]
    attr_args: dict[int, object]

    def defined_type_names(self) -> list[str]:
        """Contract names of every struct/union/enum/typedef defined in the input files."""
        names: list[str] = []
        seen = set()
        for item in self.items:
            if isinstance(item, TagDef):
                if item.name is None or item.fields is None and item.kind != "enum":
                    continue
                nm = item.key
            elif isinstance(item, TypedefDecl):
                nm = item.name
            else:
                continue
            if self.input_files and _file_of(item) not in self.input_files:
                continue
            if nm not in seen:
                seen.add(nm)
                names.append(nm)
        return names


def _file_of(item) -> str:
    return item.file


_INT_WORDS = {"int", "char", "short", "long", "signed", "unsigned", "_Bool", "float", "double",
              "void", "__int128", "__bl_u128", "_Complex"}


def scalar_from_names(names: list[str], where: str) -> CType:
    words = [w for w in names]
    unsigned = "unsigned" in words
    if "__bl_u128" in words:
        return CType("scalar", "int128", True, spelled="unsigned __int128")
    core = [w for w in words if w not in ("signed", "unsigned")]
    spelled = " ".join(names)
    if "_Complex" in core:
        raise LayoutError(f"unsupported type {spelled!r}", path=where)
    if core == ["void"]:
        return CType("scalar", "void", spelled="void")
    if core == ["_Bool"]:
        return CType("scalar", "_Bool", True, spelled="_Bool")
    if core == ["char"]:
        # plain char signedness comes from the profile; "char_plain" lets layout decide
        key_unsigned = unsigned if ("signed" in words or unsigned) else None
        ct = CType("scalar", "char", bool(key_unsigned), spelled=spelled)
        if key_unsigned is None:
            ct.name = "char"
            ct.spelled = "char"
        return ct
    if core == ["float"]:
        return CType("scalar", "float", spelled=spelled)
    if core == ["double"]:
        return CType("scalar", "double", spelled=spelled)
    if sorted(core) == ["double", "long"]:
        return CType("scalar", "long_double", spelled=spelled)
    if core == ["__int128"]:
        return CType("scalar", "int128", unsigned, spelled=spelled)
    nlong = core.count("long")
    rest = [w for w in core if w not in ("long", "int")]
    if "short" in core and not nlong:
        rest = [w for w in rest if w != "short"]
        if not rest:
            return CType("scalar", "short", unsigned, spelled=spelled)
    elif not rest:
        if nlong == 0:
            return CType("scalar", "int", unsigned, spelled=spelled)
        if nlong == 1:
            return CType("scalar", "long", unsigned, spelled=spelled)
        if nlong == 2:
            return CType("scalar", "long_long", unsigned, spelled=spelled)
    raise LayoutError(f"unknown type name {spelled!r}", path=where)


class _Builder:
    def __init__(self, norm: Normalized, input_files: tuple[str, ...]):
        self.norm = norm
        self.items: list = []
        self.tags: dict[str, TagDef] = {}
        self.typedefs: dict[str, TypedefDecl] = {}
        self.enum_constants: dict[str, tuple[str, int]] = {}
        self.anon = 0
        self.attr_args: dict[int, object] = {}
        self.input_files = input_files
        self.seen_nodes: dict[int, str] = {}

    # attributes -------------------------------------------------------------
    def decl_attrs(self, coord, node=None) -> tuple[Attr, ...]:
        # the declarator's name token: pycparser puts a pointer declarator's coord on the `*`,
        # the innermost TypeDecl's coord is always the identifier.
        while node is not None and not isinstance(node, c_ast.TypeDecl) \
                and type(node).__name__ != "TypeDeclExt":
            node = getattr(node, "type", None)
        if node is not None and node.coord is not None:
            coord = node.coord
        if coord is None:
            return ()
        key = (coord.file, coord.line, coord.column)
        return tuple(self._attr(n) for n in self.norm.decl_attrs.get(key, ()))

    def _attr(self, n: int) -> Attr:
        rec = self.norm.attrs[n]
        return Attr(rec.name, ("__bl_attrarg", n) if rec.arg_text is not None else None)

    # top level ----------------------------------------------------------------
    def build(self, ast) -> None:
        for ext in ast.ext:
            if isinstance(ext, c_ast.StaticAssert):
                msg = ext.message.value if ext.message is not None else ""
                m = re.match(r'"__bl_attrarg_(\d+)"', msg)
                if m:
                    # `(N) || 1` : keep N
                    self.attr_args[int(m.group(1))] = ext.cond.left
                    continue
                self.items.append(StaticAssert(ext.cond, msg, _coord(ext.coord)))
            elif isinstance(ext, c_ast.Typedef):
                self.typedef(ext)
            elif isinstance(ext, c_ast.Decl):
                self.decl(ext)
            # FuncDef, Pragma, ...: tolerated and ignored

    def typedef(self, node) -> None:
        ctype = self.ctype(node.type, node.coord)
        if node.name in ("__bl_u128",):
            return
        td = TypedefDecl(node.name, ctype, self.decl_attrs(node.coord, node.type), _alignas_of(node.type),
                         _coord(node.coord), node.coord.file if node.coord else "")
        self.typedefs[node.name] = td
        self.items.append(td)

    def decl(self, node) -> None:
        # declarations of variables/functions are ignored, but their types may define tags
        if isinstance(node.type, c_ast.FuncDecl):
            return
        self.ctype(node.type, node.coord)

    # types --------------------------------------------------------------------
    def ctype(self, node, coord) -> CType:
        where = _coord(coord)
        if isinstance(node, c_ast.TypeDecl):
            return self.ctype(node.type, coord)
        if isinstance(node, c_ast.IdentifierType):
            names = node.names
            if len(names) == 1 and names[0] in self.typedefs:
                return CType("typedef", names[0], spelled=names[0])
            if len(names) == 1 and names[0] not in _INT_WORDS:
                if names[0] == "__builtin_va_list":
                    raise LayoutError("unsupported type '__builtin_va_list' (its layout is per-ABI)",
                                      path=where)
                raise LayoutError(f"unknown type name {names[0]!r}", path=where)
            return scalar_from_names(names, where)
        if isinstance(node, c_ast.PtrDecl):
            # the pointee may be a tag defined inline: still register it
            try:
                inner = self.ctype(node.type, coord)
            except LayoutError:
                inner = CType("scalar", "void")
            return CType("pointer", of=inner)
        if isinstance(node, c_ast.ArrayDecl):
            return CType("array", of=self.ctype(node.type, coord), count=node.dim)
        if isinstance(node, c_ast.FuncDecl):
            return CType("func")
        if isinstance(node, (c_ast.Struct, c_ast.Union)):
            kind = "struct" if isinstance(node, c_ast.Struct) else "union"
            return CType("tag", self.tag(kind, node, coord))
        if isinstance(node, c_ast.Enum):
            return CType("tag", self.enum(node, coord))
        type_name = type(node).__name__
        if type_name == "TypeOfDeclaration" or type_name == "TypeOfExpression":
            inner = getattr(node, "declaration", None) or getattr(node, "expr", None)
            if isinstance(inner, c_ast.Typename):
                return CType("typeof", of=self.ctype(inner.type, coord))
            return CType("typeof", expr=inner)
        if type_name.endswith("Ext"):
            # pycparserext's TypeDeclExt / ArrayDeclExt / FuncDeclExt / PtrDeclExt
            base = type_name[:-3]
            if base == "TypeDecl":
                return self.ctype(node.type, coord)
            if base == "ArrayDecl":
                return CType("array", of=self.ctype(node.type, coord), count=node.dim)
            if base == "FuncDecl":
                return CType("func")
            if base == "PtrDecl":
                return CType("pointer", of=self.ctype(node.type, coord))
        raise LayoutError(f"unsupported declarator {type_name}", path=where)

    def _anon_key(self, kind, coord) -> str:
        self.anon += 1
        return f"{kind} <anonymous #{self.anon}>"

    def tag(self, kind, node, coord) -> str:
        # `struct s {...} a, b;` gives two declarators the same Struct node: define it once
        seen = self.seen_nodes.get(id(node))
        if seen is not None:
            return seen
        key = self._tag(kind, node, coord)
        self.seen_nodes[id(node)] = key
        return key

    def _tag(self, kind, node, coord) -> str:
        where = _coord(node.coord or coord)
        key = f"{kind} {node.name}" if node.name else self._anon_key(kind, coord)
        if node.decls is None:
            if key not in self.tags:
                self.tags[key] = TagDef(kind, node.name, key, None, coord=where,
                                        file=_cfile(node.coord or coord))
            return key
        fields: list[FieldDecl] = []
        type_attrs: list[Attr] = []
        for d in node.decls:
            if isinstance(d, c_ast.StaticAssert):
                continue
            if d.name and d.name.startswith("__bl_attr_"):
                type_attrs.append(self._attr(int(d.name[len("__bl_attr_"):])))
                continue
            ctype = self.ctype(d.type, d.coord)
            fields.append(FieldDecl(
                d.name, ctype, d.bitsize, self.decl_attrs(d.coord, d.type) if d.name else (),
                tuple(d.align or ()) + _alignas_of(d.type), _coord(d.coord)))
        td = TagDef(kind, node.name, key, fields, attrs=tuple(type_attrs), coord=where,
                    file=_cfile(node.coord or coord))
        existing = self.tags.get(key)
        if existing is not None and existing.fields is not None:
            raise LayoutError(f"redefinition of {key!r}", path=where)
        self.tags[key] = td
        self.items.append(td)
        return key

    def enum(self, node, coord) -> str:
        seen = self.seen_nodes.get(id(node))
        if seen is not None:
            return seen
        key = self._enum(node, coord)
        self.seen_nodes[id(node)] = key
        return key

    def _enum(self, node, coord) -> str:
        where = _coord(node.coord or coord)
        key = f"enum {node.name}" if node.name else self._anon_key("enum", coord)
        if node.values is None:
            if key not in self.tags:
                # GNU: forward-declared enum; complete only if defined later
                self.tags[key] = TagDef("enum", node.name, key, None, coord=where,
                                        file=_cfile(node.coord or coord))
            return key
        enumerators = []
        type_attrs = []
        for en in node.values.enumerators:
            if en.name.startswith("__bl_attr_"):
                type_attrs.append(self._attr(int(en.name[len("__bl_attr_"):])))
                continue
            self.enum_constants[en.name] = (key, len(enumerators))
            enumerators.append((en.name, en.value))
        td = TagDef("enum", node.name, key, [], enumerators, tuple(type_attrs), where,
                    file=_cfile(node.coord or coord))
        self.tags[key] = td
        self.items.append(td)
        return key


def _alignas_of(node) -> tuple:
    out = []
    while node is not None:
        al = getattr(node, "align", None)
        if al:
            out.extend(al if isinstance(al, list) else [al])
        if isinstance(node, (c_ast.TypeDecl,)) or type(node).__name__ == "TypeDeclExt":
            break
        node = getattr(node, "type", None)
    return tuple(out)


def _coord(coord) -> str:
    if coord is None:
        return "<input>"
    return f"{coord.file}:{coord.line}:{coord.column}" if coord.column else f"{coord.file}:{coord.line}"


def _cfile(coord) -> str:
    return coord.file if coord is not None and coord.file else ""


@contextlib.contextmanager
def no_gc():
    """Run a burst of allocations without the cyclic garbage collector.

    Tokenizing, parsing and laying out create ~10^6 small acyclic objects; each generation-0
    threshold crossing makes the collector walk them again (a quarter of the model's time on
    the UAPI benchmark).  Reference counting still frees everything; cycles made meanwhile are
    collected at the next collection after this block.  Nested use is fine; the collector is
    re-enabled only by the block that disabled it.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_count()[0] > FREEZE_AFTER:
                # A big burst (a parse table, a set of layouts) mostly survives in caches: left
                # young, the next collections would walk all of it again, then again in older
                # generations as they fill (0.6 s of a 3.2 s cold UAPI run).  Move what exists to
                # the permanent generation instead (gc.freeze, Python >= 3.7): reference counting
                # still frees it; only a reference cycle already unreachable now is never reclaimed.
                gc.freeze()
            gc.enable()


# allocations (net, since the last collection) above which no_gc freezes what exists
FREEZE_AFTER = 5_000


def build_table(text: str, filename: str = "<input>", input_files: Iterable[str] = ()) -> TranslationUnit:
    """Preprocessed C text -> TranslationUnit (cached by text, the parse is the slow part)."""
    with no_gc():
        return _build_table(text, filename, input_files)


def _build_table(text: str, filename: str, input_files: Iterable[str]) -> TranslationUnit:
    exact = (filename, tuple(input_files), text)  # str hashes are cached: O(1) for a shared text
    hit = _EXACT_CACHE.get(exact)
    if hit is not None:
        return hit
    # -dD output differs per arch in its #define lines only (dropped by normalize): key on the rest,
    # so arches whose headers preprocess the same share one parse
    # and on the token stream only: gcc -E and clang -E lay out whitespace differently.  (A hit
    # from text with other spacing reuses that text's columns in error messages; layouts are
    # the same by construction.)
    body = " ".join(_DIRECTIVE_LINES.sub("", text).split())
    key = hashlib.sha1((filename + "\0" + "\0".join(input_files) + "\0" + body).encode()).hexdigest()
    hit = _TABLE_CACHE.get(key)
    if hit is not None:
        _EXACT_CACHE[exact] = hit
        return hit
    tu = _disk_load("tables", key)
    if tu is None:
        norm = normalize(text, filename)
        exts = parse_chunks(norm, filename)
        b = _Builder(norm, tuple(input_files))
        b.build(c_ast.FileAST(exts))
        tu = TranslationUnit(b.items, b.tags, b.typedefs, b.enum_constants, frozenset(norm.gnu_alignof),
                             tuple(input_files), b.attr_args)
        _disk_store("tables", key, tu)
    if len(_TABLE_CACHE) > 64:
        _TABLE_CACHE.clear()
    _TABLE_CACHE[key] = tu
    if len(_EXACT_CACHE) > 64:
        _EXACT_CACHE.clear()
    _EXACT_CACHE[exact] = tu
    return tu


_TABLE_CACHE: dict[str, TranslationUnit] = {}
_EXACT_CACHE: dict = {}
# -dD #define/#undef lines and blank lines: they differ per arch (the predefined-macro block)
# without changing any declaration or any line marker that follows
_DIRECTIVE_LINES = re.compile(r"^[ \t]*(?:#[ \t]*(?:define|undef)\b[^\n]*)?\n", re.M)


# ---------------------------------------------------------------------------
# Per-arch preprocessing

def predefined_macros(profile) -> dict[str, str]:
    """The macros a GCC for this arch predefines that headers branch on, from the profile."""
    s = profile.scalars
    m = {
        "__CHAR_BIT__": "8",
        "__SIZEOF_SHORT__": str(s["short"].size_bytes),
        "__SIZEOF_INT__": str(s["int"].size_bytes),
        "__SIZEOF_LONG__": str(s["long"].size_bytes),
        "__SIZEOF_LONG_LONG__": str(s["long_long"].size_bytes),
        "__SIZEOF_POINTER__": str(s["pointer"].size_bytes),
        "__SIZEOF_FLOAT__": str(s["float"].size_bytes),
        "__SIZEOF_DOUBLE__": str(s["double"].size_bytes),
        "__SIZEOF_LONG_DOUBLE__": str(s["long_double"].size_bytes),
        "__SIZEOF_SIZE_T__": str(s["long"].size_bytes),
        "__ORDER_LITTLE_ENDIAN__": "1234",
        "__ORDER_BIG_ENDIAN__": "4321",
        "__ORDER_PDP_ENDIAN__": "3412",
        "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__" if profile.little_endian else "__ORDER_BIG_ENDIAN__",
        "__linux__": "1", "__linux": "1", "__unix__": "1", "__gnu_linux__": "1",
        "__GNUC__": "12", "__GNUC_MINOR__": "2", "__STDC__": "1", "__STDC_VERSION__": "201710L",
        "__ELF__": "1",
    }
    if "int128" in s:
        m["__SIZEOF_INT128__"] = "16"
    if profile.bits_per_long == 64:
        m["__LP64__"] = "1"
        m["_LP64"] = "1"
    else:
        m["_ILP32"] = "1"
        m["__ILP32__"] = "1"
    if not profile.char_signed:
        m["__CHAR_UNSIGNED__"] = "1"
    m.update(profile.predefined_macros)
    return m


def preprocess_for(paths: Iterable[str | Path], profile, include_dirs: Iterable[str] = (),
                   defines: Mapping[str, str] = {}, *, builtin: bool | None = None) -> tuple[str, str, dict]:
    """Preprocess ``paths`` (as one TU) for ``profile``; returns (text, how, macros).

    ``how`` is the compiler identity or ``"builtin"``; ``macros`` the object-like macros the
    input files define (name -> body text), for ``LayoutSet.macros``.  ``builtin=None`` uses the
    real compiler when one is installed (its ``-E`` knows every predefined macro), else the
    fallback.
    """
    text, how = _preprocess_text(paths, profile, include_dirs, defines, builtin)
    inputs = {str(Path(p)) for p in paths} | {str(Path(p).resolve()) for p in paths}
    if isinstance(how, tuple):  # built-in: its macro table minus the predefined ones
        how, macros = how
        return text, how, macros
    return text, how, collect_macros(text, inputs)


_DEFINE_RE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*)(?!\()\s*(.*)")
_MARKER_RE = re.compile(r'\s*#\s*(?:line\s+)?\d+\s+"((?:\\.|[^"\\])*)"')


def collect_macros(text: str, inputs: set[str]) -> dict[str, str]:
    """Object-like ``#define``s left in ``-dD`` output from real files (the inputs and what they
    include; not the compiler's predefined ones), bodies fully expanded."""
    cur = None
    out: dict[str, str] = {}
    everything: dict[str, str] = {}
    for line in text.splitlines():
        if not line.lstrip().startswith("#"):
            continue
        m = _MARKER_RE.match(line)
        if m:
            cur = m.group(1)
            continue
        m = _DEFINE_RE.match(line)
        if m:
            everything[m.group(1)] = m.group(2).strip()
        # not <built-in>/<command-line>, nor the stdc-predef.h GCC includes implicitly
        if m and cur is not None and not cur.startswith("<") and not cur.endswith("stdc-predef.h"):
            body = m.group(2).strip()
            if body:
                out[m.group(1)] = body
        elif line.lstrip().startswith("#") and re.match(r"\s*#\s*undef\s+(\w+)", line):
            out.pop(re.match(r"\s*#\s*undef\s+(\w+)", line).group(1), None)
    # bodies fully expanded (they may name predefined or other macros), on first use
    from .cpp import Preprocessor

    return LazyMacros(Preprocessor(defines=everything), out)


class LazyMacros(abc.Mapping):
    """name -> fully expanded body of the object-like macros the input files define, expanded on
    first lookup: UAPI headers define thousands and a LayoutSet reads a handful (expanding all of
    them eagerly was a third of preprocessing).  Pickles lazily (with its macro table)."""

    def __init__(self, pp, bodies: Mapping[str, str]):
        self._pp = pp
        self._bodies = dict(bodies)
        self._done: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        hit = self._done.get(name)
        if hit is None:
            body = self._bodies[name]  # KeyError for a name that is not a macro
            hit = self._done[name] = self._pp.expand_line(body).strip()
        return hit

    def __contains__(self, name) -> bool:
        return name in self._bodies

    def __iter__(self):
        return iter(self._bodies)

    def __len__(self) -> int:
        return len(self._bodies)

    def __getstate__(self):
        return (self._pp, self._bodies, self._done)

    def __setstate__(self, state):
        self._pp, self._bodies, self._done = state


def _preprocess_text(paths, profile, include_dirs, defines, builtin) -> tuple[str, str]:
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            raise CParseError(f"{p}: is a directory")
        if not p.is_file():
            raise CParseError(f"{p}: no such file")
    if builtin is not True:
        try:
            from ..backends.compiled import compiler_argv
            argv = compiler_argv(profile)
        except ToolchainError:
            if builtin is False:
                raise
            argv = None
        if argv is not None:
            return _compiler_preprocess(argv, paths, include_dirs, defines), " ".join(argv[:1])
    from .cpp import Preprocessor

    predefined = {**predefined_macros(profile), **defines}
    # Memo: the output is a function of the files read and of the predefined macros the run
    # looked up (defined or not).  An arch that agrees on all of those gets the same text
    # without running again: UAPI headers only ask for ~6 of them (__SIZEOF_LONG__,
    # __BYTE_ORDER__, ...), so 26 arches need ~5 runs.
    key = (tuple(str(Path(p).resolve()) for p in paths), tuple(str(Path(d).resolve()) for d in include_dirs))
    if key not in _CPP_MEMO:
        # runs of earlier processes (files re-checked by mtime and size below)
        _CPP_MEMO[key] = _disk_load_all("cpp", _cpp_disk_key(key))[-32:]
    for env, files, text, macros in _CPP_MEMO[key]:
        if all(predefined.get(k) == v for k, v in env.items()) and _unchanged(files):
            return text, ("builtin", macros)
    pp = Preprocessor(include_dirs=list(include_dirs), defines=predefined)
    with no_gc():
        text = pp.run_files([str(p) for p in paths])
    macros = LazyMacros(pp, {name: "".join(m.body) for name, m in pp.macros.items()
                             if m.params is None and name not in predefined and m.body})
    env = {k: predefined.get(k) for k in pp.queried}
    memo = _CPP_MEMO.setdefault(key, [])
    memo.append((env, tuple(pp.files_read), text, macros))
    del memo[:-32]
    _disk_store("cpp", f"{_cpp_disk_key(key)}-{hashlib.sha1(text.encode()).hexdigest()[:16]}", memo[-1])
    return text, ("builtin", macros)


def _cpp_disk_key(key) -> str:
    return hashlib.sha1(repr(key).encode()).hexdigest()


# ---------------------------------------------------------------------------
# The on-disk parse cache: preprocessed text -> TranslationUnit, and the built-in preprocessor's
# memo, under the user cache dir, keyed on the digest of this package's code and the pycparser
# versions (a changed cfront never reads an old entry).  Only the C front end's own products are
# stored (no layout result: those are recomputed per run).  BITLAYOUT_NO_PARSE_CACHE=1 turns it off.

_CODE_DIGEST: str | None = None
MAX_DISK_ENTRIES = 256


def _disk_dir(kind: str) -> Path | None:
    global _CODE_DIGEST
    if os.environ.get("BITLAYOUT_NO_PARSE_CACHE"):
        return None
    if _CODE_DIGEST is None:
        h = hashlib.sha1()
        here = Path(__file__).resolve().parent
        for f in sorted(here.glob("*.py")):
            h.update(f.read_bytes())
        h.update(_tables_dir().name.encode())
        _CODE_DIGEST = h.hexdigest()[:16]
    from ..cachedir import user_cache_dir

    return user_cache_dir() / "parse" / f"{kind}-{_CODE_DIGEST}"


def _disk_load(kind: str, key: str):
    d = _disk_dir(kind)
    if d is None:
        return None
    try:
        blob = (d / f"{key}.pickle").read_bytes()
    except OSError:
        return None
    try:
        with no_gc():
            return pickle.loads(blob)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss (and is overwritten)
        return None


def _disk_load_all(kind: str, prefix: str) -> list:
    d = _disk_dir(kind)
    if d is None:
        return []
    out = []
    for f in sorted(d.glob(f"{prefix}-*.pickle"), key=lambda e: e.stat().st_mtime):
        hit = _disk_load(kind, f.stem)
        if hit is not None:
            out.append(hit)
    return out


def _disk_store(kind: str, key: str, value) -> None:
    d = _disk_dir(kind)
    if d is None:
        return
    with no_gc():
        _disk_store_now(d, key, value)


def _disk_store_now(d: Path, key: str, value) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, d / f"{key}.pickle")
        entries = list(d.glob("*.pickle"))
        if len(entries) > MAX_DISK_ENTRIES:
            entries.sort(key=lambda e: e.stat().st_mtime)
            for e in entries[:len(entries) - MAX_DISK_ENTRIES]:
                e.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        pass  # an unwritable cache or an unpicklable table only costs speed


_CPP_MEMO: dict = {}


def _unchanged(files) -> bool:
    for path, mtime, size in files:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) != (mtime, size):
            return False
    return True


def _compiler_preprocess(argv, paths, include_dirs, defines) -> str:
    args = list(argv) + ["-E", "-dD", "-std=gnu11", "-x", "c"]
    for d in include_dirs:
        args += ["-I", str(d)]
    args += define_flags(defines)
    if len(paths) == 1:
        args.append(str(paths[0]))
        stdin = None
    else:
        args.append("-")
        stdin = "".join(f'#include "{p.resolve()}"\n' for p in paths)
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{argv[0]} -E timed out") from None
    except OSError as exc:
        raise ToolchainError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        raise CParseError(_one_line(first_error(proc.stderr)))
    return proc.stdout
