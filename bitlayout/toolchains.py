"""Find compilers and runners for a profile; compile, preprocess and run.

A profile's ``[toolchain]`` table says which routes exist in principle (a zig
target triple, a Debian cross-gcc triple, a qemu-user binary); this module
finds out which of them are installed here, once per process.

Routes, in order of preference:

* zig (``python -m ziglang cc -target T``) when the target is a musl target:
  it links static binaries with its own libc, so the result runs under
  qemu-user without a sysroot.
* Debian cross gcc (``<triple>-gcc``), static or dynamic per
  ``toolchain.gcc_link``; also the fallback for glibc zig targets, which zig
  can only link dynamically.
* For ``host_native`` profiles (x86_64) the host gcc counts as the cross gcc.

``BITLAYOUT_NO_ZIG=1`` / ``BITLAYOUT_NO_GCC=1`` hide a route (tests use them to
simulate a machine without the tool).  Missing tools raise ToolchainError;
a guest program that fails, crashes or hangs is never an exception here: it
comes back as a RunResult.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import platform
import re
import shutil
import signal as _signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import ToolchainError
from .profiles import Profile, Toolchain
from .publish import publish

# Debian's libc6-dev-<arch>-cross name for each cross triple we know (for install hints).
_DEBIAN_LIBC_ARCH = {
    "m68k-linux-gnu": "m68k",
    "sh4-linux-gnu": "sh4",
    "hppa-linux-gnu": "hppa",
    "alpha-linux-gnu": "alpha",
    "sparc64-linux-gnu": "sparc64",
    "arc-linux-gnu": "arc",
    "x86_64-linux-gnux32": "x32",
    "i686-linux-gnu": "i386",
    "powerpc-linux-gnu": "powerpc",
    "mips-linux-gnu": "mips",
    "mipsel-linux-gnu": "mipsel",
    "aarch64-linux-gnu": "arm64",
    "arm-linux-gnueabihf": "armhf",
    "mips64-linux-gnuabi64": "mips64",
    "mips64el-linux-gnuabi64": "mips64el",
    "powerpc64-linux-gnu": "ppc64",
    "powerpc64le-linux-gnu": "ppc64el",
    "riscv64-linux-gnu": "riscv64",
    "s390x-linux-gnu": "s390x",
}


@dataclass(frozen=True)
class Compiler:
    kind: str  # "zig" or "gcc"
    argv: tuple[str, ...]  # command prefix, target selection included
    identity: str  # version + target + flags: a cache key for builds made with it
    target: str  # zig target triple or gcc triple
    cflags: tuple[str, ...]  # the profile's extra flags for this route
    # Objects only: this gcc links them statically against its glibc (``zig_objects_for_gcc``).
    linker: "Compiler | None" = None
    libc: str = ""  # with a linker: the C library the objects are compiled against, "glibc 2.36"
    relabel_elfv1: bool = False  # with a linker: its objects are relabelled ELFv1 first (relabel_elfv1)
    unmerge_sections: bool = False  # with a linker: its objects' merge sections are unmerged first

    @property
    def abi(self) -> str:
        """The compiler family whose layout decisions it makes: "gcc" or "clang" (zig's)."""
        return COMPILER_ABI[self.kind]


# Compiler kind (route) -> the compiler family a profile's [layout] compiler / [alternate] names.
COMPILER_ABI = {"zig": "clang", "gcc": "gcc"}


@dataclass(frozen=True)
class Runner:
    kind: str  # "native" or "qemu"
    argv: tuple[str, ...]  # prefix before the binary (empty for native)


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    signal: int | None  # the signal that killed the program (or qemu on its behalf)
    timed_out: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.signal is None

    @property
    def guest_signal(self) -> int | None:
        """The signal the program died of.  qemu-user re-raises a guest's fatal signal on
        itself, so the host sees it; some qemu versions instead print 'qemu: uncaught target
        signal N' and exit 128+N: read that too, so the reason names the signal either way."""
        if self.signal is not None:
            return self.signal
        if self.returncode == 0:
            return None  # a guest that merely prints the phrase did not die of it
        for line in self.stderr.splitlines():
            if "uncaught target signal" in line:
                digits = "".join(ch for ch in line.split("signal", 1)[1] if ch.isdigit() or ch == " ").split()
                if digits:
                    return int(digits[0])
        return None

    def failure(self, timeout: float, what: str) -> str | None:
        """One line saying how the run failed ("driver timed out after 60 s (killed)",
        "... killed by SIGSEGV", "... exited with status 3"), or None if it did not."""
        if self.returncode == 126 and self.stderr.startswith("cannot execute"):
            # run_binary's report of ENOEXEC & co (e.g. x32 on a kernel without
            # CONFIG_X86_X32_ABI): the OS refused to start the binary at all.
            return f"{what} failed: {self.stderr.strip()}"
        if self.timed_out:
            return f"{what} timed out after {timeout:g} s (killed)"
        sig = self.guest_signal
        if sig is not None:
            try:
                name = _signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return f"{what} killed by {name}"
        if self.returncode:
            return f"{what} exited with status {self.returncode}"
        return None


# ---------------------------------------------------------------------------
# Discovery (cached per process, keyed on the toolchain table and the env overrides)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _overrides() -> tuple[bool, bool]:
    return _env_flag("BITLAYOUT_NO_ZIG"), _env_flag("BITLAYOUT_NO_GCC")


_zig_local_cache: str | None = None


def _compiler_env(argv: Sequence[str]) -> dict[str, str] | None:
    """The environment of one compiler command: this process's own zig object cache for zig.

    Two processes compiling identical inputs at the same moment race in zig's
    shared object cache ("failed to rename 'tmp/...-probe.o' into
    '~/.cache/zig/o/<hash>/probe.o': FileNotFound", seen with pytest-xdist
    workers and two test runs at once).  musl and compiler-rt, the slow part,
    stay in the shared global cache; our own build caches sit above this.  A
    ``ZIG_LOCAL_CACHE_DIR`` the user set is respected; forked workers keep
    their parent's directory.  The child gets it, this process's environment
    is left alone.
    """
    global _zig_local_cache
    if "ziglang" not in argv[1:3] or os.environ.get("ZIG_LOCAL_CACHE_DIR"):
        return None
    if _zig_local_cache is None:
        _zig_local_cache = tempfile.mkdtemp(prefix="bitlayout-zig-")
        atexit.register(shutil.rmtree, _zig_local_cache, ignore_errors=True)
    return {**os.environ, "ZIG_LOCAL_CACHE_DIR": _zig_local_cache}


def run_compiler(argv: Sequence[str], *, timeout: float, what: str,
                 stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run one compiler command and return its result: the one way bitlayout starts a compiler.

    Output is text, decoded with replacement (a compiler may print any bytes).  A
    compiler that cannot be started or runs past ``timeout`` raises ToolchainError
    ("cannot run gcc: No such file or directory", "<what> timed out after 60 s"); a
    non-zero exit is returned for the caller to word (``first_error(result.stderr)``).
    """
    # Like a guest, in a process group of its own that stop_guests() kills: a matrix worker
    # stopped while building a driver must not leave gcc (and its cc1, as, ld) behind.
    if _STOPPING.is_set():
        raise ToolchainError(f"interrupted: {what} is not started")
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_compiler_env(argv), start_new_session=True)
    except OSError as exc:
        raise ToolchainError(f"cannot run {argv[0]}: {exc.strerror}") from None
    out, err, timed_out = _communicate_in_group(proc, (stdin or "").encode(), timeout)
    if timed_out:
        raise ToolchainError(f"{what} timed out after {timeout:g} s")
    return subprocess.CompletedProcess(list(argv), proc.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace"))


@functools.cache
def _zig_binary() -> Path | None:
    """The zig binary ``python -m ziglang`` runs."""
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "zig"


@functools.cache
def _zig_version() -> str | None:
    binary = _zig_binary()
    if binary is None:
        return None
    # Its path, size and mtime key the remembered version.
    return _remembered_version(binary, [sys.executable, "-m", "ziglang", "version"], timeout=60)


@functools.cache
def compiler_executables(compiler: Compiler) -> tuple[str, ...]:
    """The files that do the compiling: zig's binary, or gcc's driver and its ``cc1`` (a
    distribution update can replace ``cc1`` and keep the version number ``-dumpfullversion``
    prints, so a cache of compiler output watches the files themselves)."""
    if compiler.kind == "zig":
        binary = _zig_binary()
        return (str(binary),) if binary is not None else ()
    return driver_executables(compiler.argv[0])


def driver_executables(driver: str) -> tuple[str, ...]:
    """A gcc-style driver (a path or a name on PATH) and the ``cc1`` it runs, where it names one."""
    driver = shutil.which(driver) or driver
    try:
        res = run_compiler([driver, "-print-prog-name=cc1"], timeout=30, what=f"{driver} -print-prog-name=cc1")
    except ToolchainError:
        return (driver,)
    cc1 = res.stdout.strip()
    return (driver, cc1) if res.returncode == 0 and os.path.isabs(cc1) else (driver,)


@functools.cache
def _gcc_version(gcc: str) -> str | None:
    return _remembered_version(Path(gcc), [gcc, "-dumpfullversion"], timeout=30)


_VERSIONS_LOCK = threading.Lock()


@functools.cache
def _versions_file() -> Path:
    from .cachedir import cache_subdir

    return cache_subdir("toolchains") / "versions.json"


def _remembered_version(executable: Path, argv: list[str], *, timeout: float) -> str | None:
    """What ``argv`` prints as the version of ``executable`` (None if it cannot say), remembered
    in the user cache under the executable's real path, size and mtime and the command: asking
    costs a process start per run (``python -m ziglang version``: about 100 ms), and an upgrade
    or a reinstall changes the key, so a remembered answer is never stale."""
    from .cachedir import publish_json, read_json

    try:
        st = executable.stat()
    except OSError:
        return None
    key = "\0".join((os.path.realpath(executable), str(st.st_size), str(st.st_mtime_ns), *argv))
    with _VERSIONS_LOCK:
        known = read_json(_versions_file())
        known = known if isinstance(known, dict) else {}
        if isinstance(known.get(key), str):
            return known[key]
    try:
        out = run_compiler(argv, timeout=timeout, what=" ".join(argv))
    except ToolchainError:
        return None
    version = out.stdout.strip()
    if out.returncode != 0 or not version:
        return None
    with _VERSIONS_LOCK:
        known = read_json(_versions_file())
        known = known if isinstance(known, dict) else {}
        known[key] = version
        publish_json(_versions_file(), known)
    return version


def _zig_compiler(tc: Toolchain) -> Compiler | None:
    version = _zig_version()
    if not tc.zig_target or version is None:
        return None
    argv = (sys.executable, "-m", "ziglang", "cc", "-target", tc.zig_target)
    identity = " ".join(("zig", version, "-target", tc.zig_target, *tc.zig_cflags))
    return Compiler("zig", argv, identity, tc.zig_target, tuple(tc.zig_cflags))


def _gcc_compiler(tc: Toolchain) -> Compiler | None:
    if not tc.gcc_triple:
        return None
    names = [f"{tc.gcc_triple}-gcc"]
    if tc.host_native:
        names.append("gcc")
    for name in names:
        path = shutil.which(name)
        if path is None:
            continue
        version = _gcc_version(path)
        if version is None:
            continue
        identity = " ".join((f"{name} {version}", *tc.gcc_cflags))
        return Compiler("gcc", (path,), identity, tc.gcc_triple, tuple(tc.gcc_cflags))
    return None


@functools.cache
def _zig_include_dir() -> Path | None:
    """clang's own builtin headers as zig ships them (stddef.h, stdatomic.h, ...): no C library."""
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "lib" / "include"
    return path if (path / "stddef.h").is_file() else None


@functools.cache
def libc_include_dirs(gcc: Compiler) -> tuple[str, ...]:
    """The C library's header directories ``gcc`` searches (its ``-E -v`` ``#include <...>`` list,
    kept on disk by ``cfront.sysinclude``, without gcc's own ``lib/gcc*/<triple>/<version>/include``
    and ``include-fixed``): /usr/<triple>/include for a Debian cross gcc, /usr/include/<triple> and
    /usr/include for the host's.  Empty if gcc cannot say."""
    from .cfront.sysinclude import system_include_dirs

    try:
        searched = system_include_dirs(gcc)
    except ToolchainError:
        return ()
    dirs = [os.path.realpath(d) for d in searched]
    return tuple(d for d in dirs if not re.search(r"/lib/gcc[^/]*/[^/]+/[^/]+/include", d) and Path(d).is_dir())


def glibc_version(include_dirs: Sequence[str]) -> tuple[int, int] | None:
    """(__GLIBC__, __GLIBC_MINOR__) from the first features.h in ``include_dirs``, or None
    (no glibc there)."""
    for directory in include_dirs:
        try:
            text = (Path(directory) / "features.h").read_text(errors="replace")
        except OSError:
            continue
        found = {}
        for line in text.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] == "#define" and words[1] in ("__GLIBC__", "__GLIBC_MINOR__") \
                    and words[2].isdigit():
                found[words[1]] = int(words[2])
        if len(found) == 2:
            return found["__GLIBC__"], found["__GLIBC_MINOR__"]
    return None


def zig_objects_for_gcc(profile: Profile, gcc: Compiler) -> Compiler | None:
    """zig's clang compiling objects (``-c``) for the profile's ``zig_glibc_target`` against the
    glibc headers of ``gcc``, which links them (``Compiler.linker``); None without that route here.

    Why: a static zig build for a musl target first compiles musl for it (20-80 s per target on
    a fresh machine); clang's code for the shim needs only headers, and Debian's cross gcc links
    with its prebuilt glibc.  The headers are the ones gcc links against (``-nostdinc``, clang's
    builtin headers, then gcc's glibc directories), never zig's bundled glibc headers, and the
    target carries the same glibc version (zig defines __GLIBC_MINOR__ from it).
    """
    tc = profile.toolchain
    version = _zig_version()
    builtin = _zig_include_dir()
    if not tc.zig_glibc_target or gcc.kind != "gcc" or version is None or builtin is None:
        return None
    dirs = libc_include_dirs(gcc)
    glibc = glibc_version(dirs)
    if glibc is None:
        return None
    target = f"{tc.zig_glibc_target}.{glibc[0]}.{glibc[1]}"
    headers = ("-nostdinc", "-isystem", str(builtin), *(w for d in dirs for w in ("-isystem", d)))
    # zig instruments C with UBSan at -O0 and links its runtime itself; gcc's link has none.
    argv = (sys.executable, "-m", "ziglang", "cc", "-target", target, *headers, "-fno-sanitize=all")
    cflags = (*tc.zig_cflags, *tc.zig_glibc_cflags)
    libc = f"glibc {glibc[0]}.{glibc[1]}"
    identity = " ".join(("zig", version, "-target", target, *cflags, f"(objects; linked by {gcc.identity}",
                         f"against {libc} in {' '.join(dirs)})"))
    if tc.zig_glibc_relabel_elfv1:
        identity += " (objects relabelled ELFv1)"
    if tc.zig_glibc_unmerge_sections:
        identity += " (merge sections unmerged)"
    return Compiler("zig", argv, identity, target, cflags, linker=gcc, libc=libc,
                    relabel_elfv1=tc.zig_glibc_relabel_elfv1, unmerge_sections=tc.zig_glibc_unmerge_sections)


# ELF header fields (the ELF specification): EI_CLASS 2 = 64-bit, EI_DATA 2 = big-endian,
# e_machine 21 = EM_PPC64; e_flags 1/2 = the 64-bit PowerPC ELF ABI version (v1: function
# descriptors in .opd; v2: none), 0 unspecified (what gcc writes for ELFv1).
_ELF64_BE_PPC64 = (2, 2, 21)


def relabel_elfv1(obj: Path) -> None:
    """Mark a 64-bit big-endian PowerPC object ELFv1 (e_flags 1) that zig labelled ELFv2 (2)
    although it carries ELFv1's ``.opd`` function descriptors; ToolchainError for anything else:
    an object that is not exactly that mislabel is never touched."""
    import struct

    data = bytearray(obj.read_bytes())
    if len(data) < 64 or data[:4] != b"\x7fELF" or (data[4], data[5], struct.unpack(">H", data[18:20])[0]) \
            != _ELF64_BE_PPC64:
        raise ToolchainError(f"{obj.name}: not a 64-bit big-endian PowerPC object, not relabelled")
    flags = struct.unpack(">I", data[48:52])[0]
    shoff, = struct.unpack(">Q", data[40:48])
    shentsize, shnum, shstrndx = struct.unpack(">HHH", data[58:64])
    names_at = struct.unpack(">Q", data[shoff + shstrndx * shentsize + 24:shoff + shstrndx * shentsize + 32])[0]
    sections, code = set(), 0
    for i in range(shnum):
        entry = shoff + i * shentsize
        name_off = struct.unpack(">I", data[entry:entry + 4])[0]
        end = data.index(b"\0", names_at + name_off)
        sections.add(bytes(data[names_at + name_off:end]))
        if struct.unpack(">Q", data[entry + 8:entry + 16])[0] & 0x4:  # SHF_EXECINSTR
            code += struct.unpack(">Q", data[entry + 32:entry + 40])[0]
    if flags in (0, 1):  # ELFv1 (gcc writes 0: "unspecified", which ld reads as v1)
        return
    # ELFv1 code has its functions' descriptors in .opd; an object without code has neither ABI's.
    if flags != 2 or (code and b".opd" not in sections):
        raise ToolchainError(f"{obj.name}: e_flags {flags}, {code} bytes of code and "
                             f"{'an' if b'.opd' in sections else 'no'} .opd section: not the ELFv1 object "
                             "labelled ELFv2 that zig writes, not relabelled")
    data[48:52] = struct.pack(">I", 1)
    obj.write_bytes(bytes(data))


# sh_flags bits (the ELF specification): SHF_MERGE, SHF_STRINGS.
_SHF_MERGE, _SHF_STRINGS = 0x10, 0x20


def unmerge_sections(obj: Path) -> int:
    """Clear SHF_MERGE (and SHF_STRINGS) on every section of an ELF object that has it, so the
    linker keeps each such section as it is instead of merging equal constants; returns how many
    sections changed.  Why: zig 0.17.1's sparc64 objects refer to strings in ``.rodata.str1.1``
    through a local NOTYPE symbol plus an addend, not the section symbol; GNU ld moves merged
    strings and keeps the addend, so ``names[0]`` of a string table pointed into "clear"
    (measured, docs/known-issues.md).  Unmerged, every string stays at its offset: the object
    means what it meant, only its duplicate strings are no longer shared."""
    import struct

    data = bytearray(obj.read_bytes())
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ToolchainError(f"{obj.name}: not an ELF object, merge sections not cleared")
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        shoff, = struct.unpack(order + "Q", data[40:48])
        shentsize, shnum = struct.unpack(order + "HH", data[58:62])
        flags_at, flags_fmt = 8, order + "Q"
    else:
        shoff, = struct.unpack(order + "I", data[32:36])
        shentsize, shnum = struct.unpack(order + "HH", data[46:50])
        flags_at, flags_fmt = 8, order + "I"
    size = struct.calcsize(flags_fmt)
    if shoff + shnum * shentsize > len(data):
        raise ToolchainError(f"{obj.name}: section headers past the end of the file, merge sections not cleared")
    changed = 0
    for i in range(shnum):
        at = shoff + i * shentsize + flags_at
        flags, = struct.unpack(flags_fmt, data[at:at + size])
        if flags & _SHF_MERGE:
            data[at:at + size] = struct.pack(flags_fmt, flags & ~(_SHF_MERGE | _SHF_STRINGS))
            changed += 1
    if changed:
        obj.write_bytes(bytes(data))
    return changed


@functools.cache
def _find_compilers(tc: Toolchain, reference: str, no_zig: bool, no_gcc: bool) -> tuple[Compiler, ...]:
    zig = None if no_zig else _zig_compiler(tc)
    gcc = None if no_gcc else _gcc_compiler(tc)
    # The compiler whose ABI the profile follows comes first ([layout] compiler): Debian's cross
    # gcc with its prebuilt glibc where it exists (no per-target libc build), zig's clang else.
    order = (gcc, zig) if reference == "gcc" else (zig, gcc)
    return tuple(c for c in order if c is not None)


def find_compilers(profile: Profile) -> tuple[Compiler, ...]:
    """Every installed compiler route for the profile, preferred first."""
    return _find_compilers(profile.toolchain, profile.layout.compiler, *_overrides())


def find_compiler(profile: Profile, kind: str | None = None) -> Compiler | None:
    """The preferred installed compiler for the profile (``kind`` "zig"/"gcc"/... to pick a
    route), or None."""
    found = find_compilers(profile)
    if kind is not None:
        found = tuple(c for c in found if c.kind == kind)
    return found[0] if found else None


def _host_is_x86_64() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


@functools.cache
def _find_runner(tc: Toolchain) -> Runner | None:
    if tc.run_blocker or not tc.qemu:
        return None
    if tc.qemu == "native":
        # x86_64, i386 and x32 binaries run directly on an x86_64 kernel.
        return Runner("native", ()) if _host_is_x86_64() else None
    path = shutil.which(tc.qemu)
    if path is None:
        return None
    argv = [path]
    if tc.qemu_cpu:
        argv += ["-cpu", tc.qemu_cpu]
    if tc.qemu_sysroot:
        if not Path(tc.qemu_sysroot).is_dir():
            return None
        argv += ["-L", tc.qemu_sysroot]
    return Runner("qemu", tuple(argv))


def find_runner(profile: Profile) -> Runner | None:
    """How to run a binary built for the profile here, or None (see install_hint / run_blocker)."""
    return _find_runner(profile.toolchain)


def clear_caches() -> None:
    """Forget discovery results (tests that change PATH or the environment call this)."""
    for fn in (_zig_version, _gcc_version, _versions_file, _find_compilers, _find_runner, _zig_include_dir,
               libc_include_dirs):
        fn.cache_clear()


# ---------------------------------------------------------------------------
# Install hints


def gcc_packages(triple: str, host_native: bool) -> list[str]:
    """The Debian packages that give ``<triple>-gcc`` (and the libc to link against)."""
    if host_native:
        return ["gcc", "libc6-dev"]
    pkgs = [f"gcc-{triple.replace('_', '-')}"]
    libc_arch = _DEBIAN_LIBC_ARCH.get(triple)
    if libc_arch:
        pkgs.append(f"libc6-dev-{libc_arch}-cross")
    return pkgs


def install_hint(profile: Profile) -> str:
    """The exact command(s) that would install what is missing for this profile ('' if nothing)."""
    tc = profile.toolchain
    commands: list[str] = []
    if find_compiler(profile) is None:
        if tc.zig_target and "musl" in tc.zig_target:
            commands.append("pip install ziglang")
        elif tc.gcc_triple:
            commands.append("apt-get install -y " + " ".join(gcc_packages(tc.gcc_triple, tc.host_native)))
        elif tc.zig_target:
            commands.append("pip install ziglang")
    if not tc.run_blocker and tc.qemu and tc.qemu != "native" and shutil.which(tc.qemu) is None:
        commands.append("apt-get install -y qemu-user")
    return " && ".join(commands)


def install_hint_for_route(profile: Profile, kind: str) -> str:
    """The command that installs one route ("zig" or "gcc") for the profile."""
    tc = profile.toolchain
    if kind == "zig":
        return "pip install ziglang"
    return "apt-get install -y " + " ".join(gcc_packages(tc.gcc_triple, tc.host_native))


def missing_reason(profile: Profile) -> str:
    """One line: why there is no compiler or runner (for skip messages and `doctor`)."""
    tc = profile.toolchain
    parts = []
    if find_compiler(profile) is None:
        routes = [r for r, on in (("zig " + tc.zig_target, tc.zig_target), (f"{tc.gcc_triple}-gcc", tc.gcc_triple)) if on]
        parts.append("no compiler (" + (" or ".join(routes) or "no route in the profile") + ")")
    if find_runner(profile) is None:
        if tc.run_blocker:
            parts.append(f"cannot run: {tc.run_blocker}")
        elif not tc.qemu:
            parts.append("no runner in the profile")
        elif tc.qemu == "native":
            parts.append("native execution needs an x86_64 host")
        else:
            parts.append(f"{tc.qemu} not found")
    hint = install_hint(profile)
    if hint:
        parts.append(f"install: {hint}")
    return "; ".join(parts)


def require_compiler(profile: Profile, kind: str | None = None) -> Compiler:
    """find_compiler, or ToolchainError naming what is missing and how to install it."""
    compiler = find_compiler(profile, kind)
    if compiler is None:
        raise ToolchainError(f"no compiler for {profile.name}: {missing_reason(profile)}")
    return compiler


# ---------------------------------------------------------------------------
# Compile / preprocess


def first_error(stderr: str) -> str:
    """The compiler or linker diagnostic worth one line: the first "error:" line
    (``f.c:1:2: error: ...``, ``ld.lld: error: ...``), else the last line of output.
    Only a diagnostic's own "error:" counts: a path may contain "error" too."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        # GNU ld says what is missing on its own lines; collect2's "error:" only that ld failed.
        if ": undefined reference to " in ln:
            return ln[:300]
        if " error: " in ln or ln.startswith("error: ") or ": fatal error: " in ln:
            return ln[:300]
    return lines[-1][:300] if lines else "(no output)"


def compile_argv(profile: Profile, compiler: Compiler, sources: Sequence[str | Path], output: str | Path, *,
                 compile_only: bool = False, debug: bool = False, extra_flags: Iterable[str] = ()) -> list[str]:
    """The exact command line compile_c runs (exposed for build caches and reports)."""
    argv = [*compiler.argv, *compiler.cflags]
    if compile_only:
        argv.append("-c")
    elif compiler.kind == "zig":
        if "musl" in compiler.target:
            argv.append("-static")
    elif profile.toolchain.gcc_link == "static":
        argv.append("-static")
    if debug:
        argv.append("-g")
    argv += list(extra_flags)
    argv += [str(s) for s in sources]
    argv += ["-o", str(output)]
    return argv


def program_compiler(profile: Profile) -> Compiler | None:
    """The compiler that builds a program to run for ``profile``: ``find_compiler(profile)``, except
    where that is zig and the arch has the split route (``zig_objects_for_gcc``: zig's objects, the
    arch's gcc links them with its glibc), which is used instead: for a musl target zig's first
    static link compiles musl for the target (20-80 s), and a glibc target zig links only
    dynamically, which qemu-user cannot start without the target's loader (sparc64)."""
    compiler = find_compiler(profile)
    if compiler is None or compiler.kind != "zig":
        return compiler
    return split_route(profile, compiler) or compiler


def split_route(profile: Profile, compiler: Compiler) -> Compiler | None:
    """Where ``compiler`` is zig: zig's objects linked by the profile's gcc against its glibc
    (``zig_objects_for_gcc``), or None without that route here."""
    if compiler.kind != "zig":
        return None
    gcc = find_compiler(profile, "gcc")
    return zig_objects_for_gcc(profile, gcc) if gcc is not None else None


def fix_objects(compiler: Compiler, objects: Iterable[Path]) -> None:
    """What a split route does to the objects it compiled before its linker reads them: nothing,
    or ppc64's ELFv1 relabel (``relabel_elfv1``), or sparc64's unmerged string sections
    (``unmerge_sections``).  Every build of a split route calls this."""
    for obj in objects:
        if compiler.relabel_elfv1:
            relabel_elfv1(obj)
        if compiler.unmerge_sections:
            unmerge_sections(obj)


def run_build_step(argv: Sequence[str], by: Compiler, subject: str, timeout: float = 120.0) -> None:
    """Run one compile or link of ``subject`` (``probe.c for mips``) by ``by``; a failure is
    ToolchainError naming the compiler, the subject and the compiler's first error line."""
    proc = run_compiler(argv, timeout=timeout, what=f"{by.identity} building {subject}")
    if proc.returncode != 0:
        raise ToolchainError(f"{by.identity} failed on {subject}: {first_error(proc.stderr)}")


def compile_c(profile: Profile, sources: Sequence[str | Path], output: str | Path, *, compile_only: bool = False,
              debug: bool = False, extra_flags: Iterable[str] = (), timeout: float = 120.0,
              compiler: Compiler | None = None) -> Path:
    """Compile (and link, unless compile_only) C sources for the profile into ``output``, with
    ``compiler`` (default: ``require_compiler(profile)``); a compiler with a ``linker`` compiles
    each source with ``-c`` and its linker links the objects.

    Safe to call from several processes at once for the same output: the
    compiler writes a temporary file next to ``output`` which is then renamed
    over it atomically (``bitlayout.publish``).
    """
    compiler = compiler or require_compiler(profile)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    extra_flags = tuple(extra_flags)

    names = ", ".join(Path(s).name for s in sources)

    def run(argv: Sequence[str], by: Compiler) -> None:
        run_build_step(argv, by, f"{names} for {profile.name}", timeout)

    def build(tmp: Path) -> None:
        if compiler.linker is None or compile_only:
            run(compile_argv(profile, compiler, sources, tmp, compile_only=compile_only, debug=debug,
                             extra_flags=extra_flags), compiler)
            return
        objects = []
        for n, src in enumerate(sources):
            obj = tmp.with_name(f"{tmp.name}.{n}.o")
            objects.append(obj)
            run(compile_argv(profile, compiler, [src], obj, compile_only=True, debug=debug, extra_flags=extra_flags),
                compiler)
        try:
            fix_objects(compiler, objects)
            run(compile_argv(profile, compiler.linker, objects, tmp), compiler.linker)
        finally:
            for obj in objects:
                obj.unlink(missing_ok=True)

    try:
        return publish(output, build)
    except OSError as exc:  # the output directory vanished, or the compiler wrote nothing
        raise ToolchainError(f"{compiler.identity} compiling for {profile.name}: {exc}") from None


def define_flags(defines: Mapping[str, str | None] | None) -> list[str]:
    """``-D`` options as a compiler reads them: None -> ``-DX`` (1), "" -> ``-DX=`` (empty)."""
    return [f"-D{name}" if value is None else f"-D{name}={value}" for name, value in (defines or {}).items()]


def preprocess(profile: Profile, source_path: str | Path, include_dirs: Iterable[str | Path] = (),
               defines: Mapping[str, str] | None = None, timeout: float = 60.0) -> str:
    """Run the profile's real compiler with -E; returns the preprocessed text (with line markers)."""
    compiler = require_compiler(profile)
    argv = [*compiler.argv, *compiler.cflags, "-E"]
    argv += [f"-I{d}" for d in include_dirs]
    argv += define_flags(defines)
    argv.append(str(source_path))
    proc = run_compiler(argv, timeout=timeout, what=f"{compiler.identity} -E on {source_path}")
    if proc.returncode != 0:
        raise ToolchainError(f"{compiler.identity} -E failed on {source_path}: {first_error(proc.stderr)}")
    return proc.stdout


def predefined_macros(profile: Profile | None, compiler: Compiler | None = None,
                      extra_flags: Iterable[str] = ()) -> dict[str, str]:
    """The compiler's predefined macros (``-dM -E`` on an empty file): name (``NAME`` or
    ``NAME(params)``) -> replacement text."""
    compiler = compiler or require_compiler(profile)
    argv = [*compiler.argv, *compiler.cflags, *extra_flags, "-dM", "-E", "-x", "c", os.devnull]
    proc = run_compiler(argv, timeout=60, what=f"{compiler.identity} -dM -E")
    if proc.returncode != 0:
        raise ToolchainError(f"{compiler.identity} -dM -E failed: {first_error(proc.stderr)}")
    return dumped_macros(proc.stdout)


def dumped_macros(text: str) -> dict[str, str]:
    """name -> replacement text of the ``#define NAME VALUE`` lines ``-dM -E`` prints."""
    macros = {}
    for line in text.splitlines():
        if line.startswith("#define "):
            name, _, value = line[len("#define "):].partition(" ")
            macros[name] = value
    return macros


# ---------------------------------------------------------------------------
# Run


# Process groups of the guests running now (run_binary starts each in its own session, so a
# terminal's Ctrl-C does not reach it): stop_guests() kills them all on an interruption.
_GUESTS: set[int] = set()
_GUESTS_LOCK = threading.Lock()
_STOPPING = threading.Event()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, _signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _communicate_in_group(proc: subprocess.Popen, stdin: bytes, timeout: float) -> tuple[bytes, bytes, bool]:
    """``proc.communicate`` for a process started in a session of its own: registered for
    stop_guests() while it runs, its whole group killed when it times out, when this call is
    interrupted (KeyboardInterrupt, any exception) and after it exits, so nothing it started
    outlives the call.  (stdout, stderr, timed out)."""
    with _GUESTS_LOCK:
        _GUESTS.add(proc.pid)
    timed_out = False
    try:
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            out, err = proc.communicate()
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        # A guest's leftovers (a forked worker, a daemonised child) die with its group.
        _kill_group(proc.pid)
        with _GUESTS_LOCK:
            _GUESTS.discard(proc.pid)
    return out, err, timed_out


def stop_guests() -> None:
    """Kill every guest this process is running and refuse to start new ones (the CLI calls this
    when interrupted; a worker process when its parent is gone)."""
    _STOPPING.set()
    with _GUESTS_LOCK:
        groups = list(_GUESTS)
    for pgid in groups:
        _kill_group(pgid)


def run_binary(profile: Profile, binary: str | Path, args: Sequence[str] = (), stdin: str = "",
               timeout: float = 60.0) -> RunResult:
    """Run a binary built for the profile (natively or under qemu-user).

    Raises ToolchainError only when there is no runner (or the run is being interrupted);
    whatever the guest does (non-zero exit, a signal, a hang) is reported in the RunResult.
    The guest runs in a process group of its own, which is killed when it times out, when
    this call is interrupted (KeyboardInterrupt, any exception) and after it exits: nothing it
    started outlives the call.
    """
    runner = find_runner(profile)
    if runner is None:
        raise ToolchainError(f"cannot run {profile.name} binaries here: {missing_reason(profile)}")
    if _STOPPING.is_set():
        raise ToolchainError("interrupted: no new guest is started")
    argv = [*runner.argv, str(binary), *args]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:  # e.g. ENOEXEC: the host cannot execute this format
        return RunResult(126, "", f"cannot execute {binary}: {exc.strerror}", None, False,
                         time.monotonic() - start)
    out, err, timed_out = _communicate_in_group(proc, stdin.encode(), timeout)
    seconds = time.monotonic() - start
    rc = proc.returncode
    sig = -rc if rc < 0 and not timed_out else None
    return RunResult(rc, out.decode(errors="replace"), err.decode(errors="replace"), sig, timed_out, seconds)
