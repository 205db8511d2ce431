"""Per-arch preprocessing: the built-in preprocessor (``cpp.py``) fed the arch compiler's
measured facts (``predefined.py``) and its system include directories (``sysinclude.py``),
or the compiler's own ``-E -dD``.  ``-I``/``-D`` behave as on a compiler command line.

Route, by default: built-in whenever it is exact for the profile (facts measured with the very
compiler installed here, or with it absent as long as the input includes no system header);
the compiler when it is not, or when a run meets something the facts cannot answer
(``cpp.CompilerNeeded``).  ``how`` says which ran, and why the compiler if it did.

A built-in run's output depends on the files it read and on the predefined macros and operator
answers it looked up (defined or not): an arch that agrees on all of those reuses it in the
same process (UAPI headers ask for a few dozen of the ~400 predefined macros), and each arch
finds its own on disk (``ppcache.py``) in the next process.
"""

from __future__ import annotations

import functools

from pathlib import Path
from typing import Iterable, Mapping

from ..errors import CParseError, ToolchainError
from ..toolchains import define_flags, find_compiler, first_error, missing_reason
from . import ppcache
from .cpp import CompilerNeeded, Preprocessor, find_include, search_path
from .gc import no_gc
from .macros import LazyMacros, collect_macros, from_input_file
from .pplex import file_stamp
from .ppmacro import Macro, parse_define
from .predefined import load_facts
from .sysinclude import system_include_dirs


def predefined_macros(profile) -> dict[str, str]:
    """The macros the profile's compiler predefines (name -> replacement), from the measured
    facts; {} when none are stored for the profile."""
    facts = load_facts(profile)
    if facts is None:
        return {}
    return {name: m.text.strip() for name, m in facts.macro_objects().items() if m.params is None}


def _compiler_kind(compiler: str) -> str:
    return "zig" if compiler == "clang" else "gcc"


def preprocess_for(paths: Iterable[str | Path], profile, include_dirs: Iterable[str] = (),
                   defines: Mapping[str, str] = {}, *, builtin: bool | None = None) -> tuple[str, str, LazyMacros]:
    """Preprocess ``paths`` (as one TU) for ``profile``; returns (text, how, macros).

    ``how`` is ``"builtin"`` or the compiler identity (with the reason the built-in
    preprocessor was not used, if it was not the caller's choice); ``macros`` the object-like
    macros the input files define (name -> expanded body), for ``LayoutSet.macros``.
    ``builtin``: None picks the route (above), True forces the built-in one (an error where it
    cannot be exact), False the compiler.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            raise CParseError(f"{p}: is a directory")
        if not p.is_file():
            raise CParseError(f"{p}: no such file")
    include_dirs = [str(d) for d in include_dirs]
    defines = dict(defines)
    if builtin is False:
        return _compiler_route(paths, profile, include_dirs, defines, None)
    facts = load_facts(profile)
    compiler = find_compiler(profile, _compiler_kind(profile.compiler))
    reason = None
    if facts is None:
        reason = f"no predefined-macro data for {profile.name} ({profile.compiler})"
    elif compiler is not None and compiler.identity != facts.identity:
        reason = f"its data was measured with {facts.identity}, the compiler here is {compiler.identity}"
    if reason is not None:
        if builtin:
            raise CParseError(f"the built-in preprocessor is not exact for {profile.name}: {reason}")
        return _compiler_route(paths, profile, include_dirs, defines, reason)
    system_dirs = system_include_dirs(compiler) if compiler is not None else ()
    try:
        text, macros = _builtin_route(paths, facts, include_dirs, system_dirs, defines, compiler is not None)
    except CompilerNeeded as exc:
        if builtin:
            raise
        if find_compiler(profile) is None:
            raise ToolchainError(f"{exc}; no compiler for {profile.name}: {missing_reason(profile)}") from None
        return _compiler_route(paths, profile, include_dirs, defines, str(exc))
    return text, "builtin", macros


def _compiler_route(paths, profile, include_dirs, defines, reason):
    compiler = find_compiler(profile)
    if compiler is None:
        why = f" ({reason})" if reason else ""
        raise ToolchainError(f"no compiler for {profile.name}{why}: {missing_reason(profile)}")
    text = _compiler_preprocess([*compiler.argv, *compiler.cflags], paths, include_dirs, defines)
    how = compiler.identity if reason is None else f"{compiler.identity} (built-in preprocessor: {reason})"
    return text, how, collect_macros(text)


# -- the built-in route ---------------------------------------------------------------------------

class BuiltinRun:
    """What one built-in run produced and what it depended on, so that another arch can reuse it:
    the predefined macros it looked up (``env``: name -> definition, for those predefined; the
    rest of ``queried`` was not), the operator answers it used, the files it looked up."""

    __slots__ = ("text", "queried", "env", "answers", "probes", "lookups", "user_macros", "removed", "names",
                 "_macros")

    def __init__(self, text, queried, env, answers, probes, lookups, user_macros, removed, names):
        self.text = text
        self.queried = queried          # frozenset of names looked up as macros
        self.env = env                  # name -> definition, for queried names that were predefined
        self.answers = answers          # (operator, operand) -> answer used
        self.probes = probes            # path -> stamp (None: looked up, not there)
        self.lookups = lookups          # each include search and what it found (cpp.Preprocessor.lookups)
        # name -> Macro (or its (definition, file, line) as stored on disk) that the input or -D
        # defined, as they stand at the end
        self.user_macros = user_macros
        self.removed = removed          # predefined names #undef'd by the end
        self.names = names              # the object-like macros LayoutSet.macros lists
        self._macros: dict[str, LazyMacros] = {}  # facts digest -> that arch's LazyMacros

    def fits(self, facts) -> bool:
        """Whether ``facts`` would have given this run the same output."""
        env = self.env
        for name, definition in env.items():
            if facts.definition(name) != definition:
                return False
        if len(facts.macros.keys() & self.queried) != len(env):  # a name this run found undefined is predefined
            return False
        for (op, operand), answer in self.answers.items():
            if facts.answers.get(op, {}).get(operand) != answer:
                return False
        return True

    def unchanged(self) -> bool:
        return all(file_stamp(p) == s for p, s in self.probes.items())

    def finds_the_same_files(self, search: list[str], n_user: int) -> bool:
        """Whether every include search of the run finds the same file, as a user or a system
        header alike, on the search path ``search`` (its first ``n_user`` entries from -I)."""
        stats: dict = {}

        def stat(path):
            if path not in stats:
                stats[path] = file_stamp(path)
            return stats[path]

        index_of: dict[str, int] = {}
        for name, angled, kind, cur, cur_index, cur_system, nested, path, system in self.lookups:
            found = find_include(search, name, angled, kind, cur, index_of.get(cur, cur_index), nested, stat)
            if found is None:
                if path is not None:
                    return False
                continue
            if found[0] != path or system != (found[1] >= n_user or (found[1] == -2 and cur_system)):
                return False
            index_of[found[0]] = found[1]
        return True

    def macros_for(self, facts, include_dirs, system_dirs) -> LazyMacros:
        """The input's object-like macros, expanded with ``facts``' predefined macros (one object
        per arch and run: the layout engine shares work between calls given the same object)."""
        hit = self._macros.get(facts.digest)
        if hit is not None:
            return hit

        # a partial, not a closure: a plan holding these macros is pickled to the parent process
        expander = functools.partial(_expander, include_dirs, system_dirs, facts, tuple(self.removed),
                                     dict(self.user_macros))
        macros = self._macros[facts.digest] = LazyMacros(expander, self.names)
        return macros


def _expander(include_dirs, system_dirs, facts, removed, user_macros) -> Preprocessor:
    """A preprocessor holding the input's macros as they were at its end."""
    pp = Preprocessor(include_dirs, system_dirs=system_dirs, facts=facts)
    for name in removed:
        pp.macros.pop(name, None)
    for name, m in user_macros.items():
        pp.macros[name] = m if isinstance(m, Macro) else parse_define(" " + m[0], m[1], m[2])
    return pp


_MEMO: dict[tuple, list[BuiltinRun]] = {}


def clear_caches() -> None:
    """Forget the runs, include paths and file digests memoised in this process."""
    from . import sysinclude

    _MEMO.clear()
    sysinclude.clear_caches()
    ppcache.clear_caches()


def _builtin_route(paths, facts, include_dirs, system_dirs, defines, system_known):
    user, system = search_path(include_dirs, system_dirs)
    resolved = tuple(str(p.resolve()) for p in paths)
    named = tuple(str(p) for p in paths) if len(paths) == 1 else ()
    key = (resolved, named, system_known, tuple(defines.items()), facts.flavor, facts.operators,
           tuple(sorted(facts.expands_operand.items())), facts.implicit_includes)
    runs = _MEMO.setdefault(key, [])
    search = user + system
    for run in runs:
        if run.fits(facts) and run.finds_the_same_files(search, len(user)) and run.unchanged():
            return run.text, run.macros_for(facts, include_dirs, system_dirs)
    inputs = {"paths": list(resolved), "named": list(named), "user_dirs": user, "system_dirs": system,
              "system_known": system_known, "defines": [[k, v] for k, v in defines.items()], "facts": facts.digest,
              "code": ppcache.code_digest()}
    run = _from_disk(ppcache.load(inputs), facts)
    if run is None:
        run = _run(paths, facts, include_dirs, system_dirs, defines, system_known)
        ppcache.store(inputs, run.probes, _payload(run))
    runs.append(run)
    del runs[:-16]
    if len(_MEMO) > 256:
        _MEMO.clear()
        _MEMO[key] = runs
    return run.text, run.macros_for(facts, include_dirs, system_dirs)


def _run(paths, facts, include_dirs, system_dirs, defines, system_known) -> BuiltinRun:
    pp = Preprocessor(include_dirs, defines, system_dirs=system_dirs, facts=facts, system_dirs_known=system_known)
    with no_gc():
        text = pp.run_files([str(p) for p in paths])
    predefined = facts.macro_objects()
    queried = frozenset(pp.queried)
    env = {name: facts.definition(name) for name in predefined.keys() & queried}
    user = {}
    for name, m in pp.macros.items():
        if isinstance(m, Macro) and predefined.get(name) is not m:
            user[name] = m
    removed = frozenset(n for n in predefined if not isinstance(pp.macros.get(n), Macro))
    names = [n for n, m in user.items() if m.params is None and from_input_file(m.file) and m.text.strip()]
    return BuiltinRun(text, queried, env, dict(pp.answers_used), dict(pp.probes), list(pp.lookups), user, removed,
                      names)


def _payload(run: BuiltinRun) -> dict:
    return {"text": run.text, "queried": sorted(run.queried), "env": run.env, "lookups": run.lookups,
            "answers": [[op, operand, answer] for (op, operand), answer in run.answers.items()],
            "macros": [[name, *((m.definition, m.file, m.line) if isinstance(m, Macro) else m)]
                       for name, m in run.user_macros.items()],
            "removed": sorted(run.removed), "names": run.names}


def _from_disk(data, facts) -> BuiltinRun | None:
    if data is None:
        return None
    try:
        # parsed when the layout engine first asks for a macro (most runs never do)
        user = {name: (definition, file, line) for name, definition, file, line in data["macros"]}
        probes = {p: (dev, ino, mtime, size) for p, dev, ino, mtime, size, _d in data["files"]}
        probes.update({p: None for p in data["missing"]})
        run = BuiltinRun(data["text"], frozenset(data["queried"]), dict(data["env"]),
                         {(op, operand): answer for op, operand, answer in data["answers"]}, probes,
                         [tuple(x) for x in data["lookups"]], user, frozenset(data["removed"]), list(data["names"]))
    except (KeyError, TypeError, ValueError, CParseError):
        return None
    if not run.fits(facts) or any(n not in user for n in run.names):
        return None
    return run


# -- the compiler route ---------------------------------------------------------------------------

def _compiler_preprocess(argv, paths, include_dirs, defines) -> str:
    import subprocess

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
        raise CParseError(" ".join(first_error(proc.stderr).split()))
    return proc.stdout


__all__ = ["preprocess_for", "predefined_macros", "clear_caches", "BuiltinRun"]
