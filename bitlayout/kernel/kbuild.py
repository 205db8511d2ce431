"""The exact compiler command Kbuild uses for a C file, per arch, and running it.

The flags are not re-derived: Kbuild prints them.  An external-module directory with one file,
``bitlayout_tu.c`` (``obj-m := bitlayout_tu.o``), is asked for its preprocessed output with
``make ... M=<dir> V=1 bitlayout_tu.i``; the line Kbuild echoes is ``$(CPP) $(c_flags) -o $@ $<``
with ``CPP = $(CC) -E`` (``scripts/Makefile.build`` ``cmd_cpp_i_c``, top ``Makefile``).  The object
rule ``cmd_cc_o_c`` is ``$(CC) $(c_flags) -c``, the same flags: so ``CC`` + ``c_flags`` (what
``kernel_command`` returns) preprocesses with ``-E`` and compiles with ``-c`` exactly as Kbuild
builds a module file.  That includes ``-nostdinc -D__KERNEL__``, the forced includes
(``compiler-version.h``, ``kconfig.h``, ``compiler_types.h``), ``arch/$(SRCARCH)/include`` with its
generated and uapi directories, ``include/generated`` and the arch's ABI flags (``-m32``,
``-mabi=``, ``-mbig-endian`` ...), and also ``-DMODULE`` and ``-DKBUILD_MODNAME`` (a module file).

The captured command is cached as JSON next to the prepared build (``kbuild-command.json``),
keyed on the tree, the build's ``.config``, the profile's ``[kernel]`` table and the compiler
version.  ``check_abi`` asks the compiler, with those flags, for ``sizeof(long)``,
``sizeof(void *)`` and the byte order, and refuses a build whose ABI is not the profile's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..cachedir import user_cache_dir
from ..errors import KernelTreeError, ToolchainError
from ..profiles import Profile
from ..publish import publish_text
from ..toolchains import dumped_macros, first_error, run_compiler
from .prepare import kernel_table, cache_root, make_argv, make_env, make_error, prepared_build, require_tools
from .tree import KernelTree, find_tree

SCHEMA = "bitlayout.kbuild-command/1"
TU_NAME = "bitlayout_tu"
COMMAND_FILE = "kbuild-command.json"
# Options whose next argument is a path, relative to the build directory make runs in.
_PATH_OPTIONS = ("-I", "-include", "-isystem", "-iquote", "-imacros", "-idirafter")
# DWARF for every declared type: -g alone drops the types nothing uses (most of a header).
DEBUG_FLAGS = ("-g", "-fno-eliminate-unused-debug-types")
# Kbuild's own debug-info options that would hide or move what we read (scripts/Makefile.debug):
# CONFIG_DEBUG_INFO_REDUCED's -femit-struct-debug-baseonly keeps only declarations of structs
# defined in headers (arm64 and mips defconfigs), SPLIT writes .dwo files, COMPRESSED compresses
# the sections.  They change no layout; they are left out of the debug compile only.
_DEBUG_OUTPUT_FLAGS = ("-femit-struct-debug-", "-gsplit-dwarf", "-gz", "-fdebug-types-section", "-g0")


@dataclass(frozen=True)
class KbuildCommand:
    """``CC`` + ``c_flags`` of a module file for one prepared build (paths absolute)."""

    argv: tuple[str, ...]
    raw: str  # the line Kbuild printed
    build: str  # the build directory (make's working directory)
    compiler_version: str

    def include_dirs(self) -> list[Path]:
        """The -I directories in search order (for resolving ``<linux/x.h>`` to a file)."""
        return [Path(d) for d in include_dirs_of(self.argv, ("-I",))]

    def resolve_include(self, name: str) -> Path | None:
        """Where ``#include <name>`` lands with these flags, or None."""
        for d in self.include_dirs():
            if (d / name).is_file():
                return d / name
        return None

    def to_json(self, key: dict) -> dict:
        return {"schema": SCHEMA, "key": key, "argv": list(self.argv), "raw": self.raw, "build": self.build,
                "compiler_version": self.compiler_version}


def _as_tree(tree: KernelTree | str | Path) -> KernelTree:
    return tree if isinstance(tree, KernelTree) else find_tree(tree)


@functools.cache
def _compiler_version(cc: str) -> str:
    """First line of ``cc --version`` (part of the command cache key; asked once per process)."""
    try:
        out = run_compiler([cc, "--version"], timeout=30, what=f"{cc} --version")
    except ToolchainError:
        return ""
    return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout else ""


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def command_file(tree: KernelTree, profile: Profile, build: Path) -> Path:
    """Where the captured command is cached: inside a cache build directory, else (the tree's own
    build directory, possibly read-only) in the cache under the profile's name."""
    root = cache_root(tree)
    return build / COMMAND_FILE if root in build.parents else root / profile.name / COMMAND_FILE


def normalize(tokens: Sequence[str], build: Path, module_dir: Path) -> list[str]:
    """Kbuild's CPP line -> CC + c_flags: without ``-E``, the dependency output (``-Wp,-MMD``),
    ``-o`` and the source; relative paths made absolute (make ran in ``build``)."""
    out: list[str] = []
    args = list(tokens)
    i = 0
    while i < len(args):
        tok = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if tok == "-E" or tok.startswith("-Wp,-MMD") or tok.startswith("-Wp,-MD"):
            i += 1
            continue
        if tok == "-o":
            i += 2
            continue
        if tok.endswith(f"{TU_NAME}.c") and i == len(args) - 1:
            break
        if tok in _PATH_OPTIONS and nxt is not None:
            out += [tok, str(build / nxt) if not os.path.isabs(nxt) else nxt]
            i += 2
            continue
        if tok.startswith("-I") and len(tok) > 2 and not os.path.isabs(tok[2:]):
            tok = "-I" + str(build / tok[2:])
        if str(module_dir) in tok:  # e.g. -I<module dir>: it is a temporary directory
            i += 1
            continue
        out.append(tok)
        i += 1
    return [os.path.normpath(t) if t.startswith("/") else t for t in out]


def cpp_line(output: str) -> str | None:
    """The compiler line of ``cmd_cpp_i_c`` in make's ``V=1`` output."""
    for line in output.splitlines():
        text = line.strip()
        if f"{TU_NAME}.c" in text and " -E " in f" {text} " and "-nostdinc" in text:
            return text.split("; ")[0]
    return None


def capture(tree: KernelTree, profile: Profile, build: Path, *, use_cache: bool = True) -> KbuildCommand:
    """The Kbuild command for a module file of this build (cached JSON; captured on a miss)."""
    cc = require_tools(tree, build, profile)
    key = {"tree": tree.tree_id, "build": str(build), "kernel": kernel_table(profile),
           "config_sha256": _file_sha(build / ".config"), "makefile_sha256": _file_sha(tree.source / "Makefile"),
           "compiler": _compiler_version(cc)}
    path = command_file(tree, profile, build)
    if use_cache:
        try:
            data = json.loads(path.read_text())
            if data.get("schema") == SCHEMA and data.get("key") == key:
                return KbuildCommand(tuple(data["argv"]), data["raw"], data["build"], data["compiler_version"])
        except (OSError, ValueError, KeyError):
            pass
    with tempfile.TemporaryDirectory(prefix="bitlayout-kmod-") as tmp:
        module = Path(tmp)
        (module / "Kbuild").write_text(f"obj-m := {TU_NAME}.o\n")
        (module / f"{TU_NAME}.c").write_text("/* bitlayout: asks Kbuild for its command line */\n")
        argv = [*make_argv(tree, build, profile), f"M={module}", "V=1", f"{TU_NAME}.i"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=make_env(),
                                  timeout=600)
        except subprocess.TimeoutExpired:
            raise KernelTreeError(f"{profile.name}: `make M=... V=1 {TU_NAME}.i` timed out in {build}") from None
        line = cpp_line(proc.stdout)
        if proc.returncode != 0 or line is None:
            raise KernelTreeError(f"{profile.name}: Kbuild did not print the command for a module file "
                                  f"(`{' '.join(argv[:3])} ... M=<dir> V=1 {TU_NAME}.i`, exit {proc.returncode}): "
                                  f"{make_error(proc.stdout + proc.stderr)}", path=str(build))
        command = KbuildCommand(tuple(normalize(shlex.split(line), build, module)), line, str(build), key["compiler"])
    check_abi(command, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    publish_text(path, json.dumps(command.to_json(key), indent=1) + "\n")
    return command


def compiler_macros(command: KbuildCommand, timeout: float = 120.0) -> dict[str, str]:
    """Every macro defined with these flags (``-dM -E`` of an empty file: predefined + forced
    includes)."""
    argv = [*command.argv, "-dM", "-E", "-x", "c", os.devnull]
    return dumped_macros(_run(argv, "-dM -E", timeout).stdout)


def check_abi(command: KbuildCommand, profile: Profile) -> None:
    """KernelTreeError unless the compiler with Kbuild's flags has the profile's long and pointer
    size and byte order (a config or fragment that silently gave another ABI)."""
    macros = compiler_macros(command)
    got = {"sizeof(long)": macros.get("__SIZEOF_LONG__"), "sizeof(void *)": macros.get("__SIZEOF_POINTER__"),
           "byte order": {"__ORDER_LITTLE_ENDIAN__": "little", "__ORDER_BIG_ENDIAN__": "big"}.get(
               macros.get("__BYTE_ORDER__", ""), macros.get("__BYTE_ORDER__"))}
    want = {"sizeof(long)": str(profile.scalar("long").size_bytes),
            "sizeof(void *)": str(profile.scalar("pointer").size_bytes), "byte order": profile.endianness}
    wrong = [f"{k} {got[k]} (profile: {want[k]})" for k in want if got[k] != want[k]]
    if wrong:
        raise KernelTreeError(f"{profile.name}: the kernel build in {command.build} does not have the profile's "
                              f"ABI: {', '.join(wrong)}; check [kernel] in {profile.path or profile.name}")


# ---------------------------------------------------------------------------
# Public entry points


def kernel_command(tree: KernelTree | str | Path, profile: Profile, config_file: str | Path | None = None) -> list[str]:
    """``CC`` + ``c_flags`` Kbuild uses for a module file of ``tree`` built for ``profile``: add
    ``-E -dD file.c`` to preprocess or ``-c file.c -o file.o`` to compile.  KernelNotPrepared when
    no prepared build serves the profile."""
    tree = _as_tree(tree)
    return list(capture(tree, profile, prepared_build(tree, profile, config_file)).argv)


def command_for(tree: KernelTree | str | Path, profile: Profile, config_file: str | Path | None = None) -> KbuildCommand:
    tree = _as_tree(tree)
    return capture(tree, profile, prepared_build(tree, profile, config_file))


def tu_source(headers: Sequence[str | Path]) -> str:
    """A TU including ``headers``: an existing file by its absolute path, anything else as a
    kernel include name (``linux/mm_types.h`` -> ``#include <linux/mm_types.h>``)."""
    lines = []
    for h in headers:
        p = Path(h)
        lines.append(f'#include "{p.resolve()}"' if p.is_file() else f"#include <{h}>")
    return "\n".join(lines) + "\n"


def _run(argv: Sequence[str], what: str, timeout: float) -> subprocess.CompletedProcess:
    proc = run_compiler(argv, timeout=timeout, what=f"{argv[0]} {what}")
    if proc.returncode != 0:
        raise ToolchainError(f"{argv[0]} {what} failed: {first_error(proc.stderr)}")
    return proc


def kernel_preprocess(tree: KernelTree | str | Path, profile: Profile, headers: Sequence[str | Path] = (), *,
                      source: str | None = None, config_file: str | Path | None = None,
                      extra_flags: Sequence[str] = (), timeout: float = 300.0, cache: bool = True) -> str:
    """The TU (``source`` text, or one including ``headers``) preprocessed exactly as Kbuild would,
    with ``-dD`` so that macro definitions stay in the output (``extra_flags``, e.g. the user's
    ``-I``/``-D``, come after Kbuild's).

    The output is kept (``backends.factscache``, kind ``kernel-e``) with every file the compiler
    read (its ``-MD`` list: the configuration's ``autoconf.h`` too), the compiler's executables
    and the directories a new header would be found in first; it is used again only while all of
    them are unchanged.  ``cache`` False: always run the compiler (benchmarks)."""
    from ..backends import factscache
    from ..toolchains import driver_executables

    command = command_for(tree, profile, config_file)
    src = _tu_file(source if source is not None else tu_source(headers))
    argv = [*command.argv, *extra_flags, "-E", "-dD", str(src)]
    inputs = {"argv": argv, "compiler": command.compiler_version}
    kept = factscache.load(inputs, "kernel-e") if cache else None
    if kept is not None and isinstance(kept["facts"].get("text"), str):
        return kept["facts"]["text"]
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bitlayout-kernel-e-") as tmp:
        deps = Path(tmp) / "deps.d"
        text = _run([*argv, "-MD", "-MF", str(deps)], f"-E for {profile.name}", timeout).stdout
        read = factscache.read_depfile(deps)
    if cache and read is not None:
        factscache.store(inputs, read, driver_executables(argv[0]),
                         [os.path.abspath(d) for d in include_dirs_of(argv)], {"text": text}, started, "kernel-e")
    return text


def include_dirs_of(argv: Sequence[str], flags: Sequence[str] = ("-isystem", "-iquote", "-idirafter", "-I")) -> list[str]:
    """The directories a command names with ``flags`` (joined to the flag or the next argument), in
    order; by default every include search directory: where a new header could be found before the
    one the compiler read."""
    out = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        for flag in flags:
            if arg == flag:
                if i + 1 < len(argv):
                    out.append(argv[i + 1])
                    i += 1
                break
            if arg.startswith(flag):
                out.append(arg[len(flag):])
                break
        i += 1
    return out


def _tu_file(text: str) -> Path:
    """The TU as a file whose path depends only on its text: the preprocessed output names it in
    its line markers, and a random temporary path would make equal inputs unequal texts (and
    defeat any cache keyed on the text)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = user_cache_dir() / "kernel" / "tu" / f"{TU_NAME}_{digest}.c"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        publish_text(path, text)
    return path


def kernel_compile_debug(tree: KernelTree | str | Path, profile: Profile, output: str | Path,
                         headers: Sequence[str | Path] = (), *, source: str | None = None,
                         config_file: str | Path | None = None, extra_flags: Sequence[str] = (),
                         timeout: float = 600.0) -> Path:
    """Compile the TU with Kbuild's flags plus DWARF for every declared type into ``output``
    (an object for ``bitlayout.backends.compiled`` to read)."""
    from ..backends.compiled import dwarf_flags

    command = command_for(tree, profile, config_file)
    text = source if source is not None else tu_source(headers)
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="bitlayout-ktu-") as tmp:
        src = Path(tmp) / f"{TU_NAME}.c"
        src.write_text(text)
        flags = [a for a in command.argv if not a.startswith(_DEBUG_OUTPUT_FLAGS)]
        argv = [*flags, *extra_flags, *DEBUG_FLAGS, *dwarf_flags(command.argv), "-c", str(src),
                "-o", str(output)]
        _run(argv, f"-c -g for {profile.name}", timeout)
    return output
