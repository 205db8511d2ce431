"""How the exec driver is built for a profile's ``[toolchain] runtime``.

* ``libc`` (the default): every ``csrc/*.c`` with the route's C library and
  pthreads, ``-lpthread``.
* ``freestanding``: no C library at all, for arches whose libc cannot run
  here (sh4, sparc: ``runtime_reason`` in the profile).  The shim sources
  with ``workers_pthread.c`` swapped for ``csrc/freestanding/`` (raw system
  calls, a ``_start`` per arch family, the few libc functions the shim
  calls, worker processes sharing ``MAP_SHARED`` memory instead of threads),
  built ``-ffreestanding -nostdlib -DBL_FREESTANDING``.  The driver speaks
  the same protocol; only the ``alloc`` probe differs (``malloc`` and
  ``aligned_alloc`` are not observable: no C library).

Public API::

    driver_compiler(profile, rank=0) -> toolchains.Compiler | None
    missing_reason(profile) -> str              # no compiler: why, with the install hint
    plan_build(profile, compiler, sources, cflags) -> DriverBuild
    driver_commands(profile, compiler, plan, output, objdir) -> DriverCommands
    with_runtime(profile, runtime) -> Profile   # the same arch built the other way (tests)
    workaround_profile(profile) -> Profile      # the [toolchain.workaround] build of the arch
"""

from __future__ import annotations

import dataclasses
import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import toolchains
from ..profiles import Profile

LIBC = "libc"
FREESTANDING = "freestanding"

# The libc build's threads; the freestanding build replaces this file (csrc/workers.h).
PTHREAD_WORKERS = "workers_pthread.c"
FREESTANDING_FLAGS = ("-ffreestanding", "-nostdlib", "-fno-stack-protector", "-DBL_FREESTANDING")
# zig drops compiler-rt with -nostdlib, and building it is most of a first freestanding build
# (riscv32 on an empty zig cache: 7.9 s with it, 1.9 s without; hexagon 15 s, 4 s; measured).
# csrc/freestanding/helpers.c defines the division helpers the driver calls (the generic ones,
# and Hexagon's __hexagon_udivsi3/__hexagon_udivdi3); only 32-bit Arm EABI links compiler-rt:
# its __aeabi_uldivmod returns two values in registers, and a gcc build's libgcc defines the
# same __aeabi_* routines, so helpers.c leaves them to the compiler's runtime library.
ZIG_FREESTANDING_FLAGS = ("-rtlib=compiler-rt",)
ZIG_COMPILER_RT_ARCHES = ("arm", "armeb", "thumb", "thumbeb")


@dataclass(frozen=True)
class DriverBuild:
    runtime: str
    c_files: tuple[Path, ...]  # compiled and linked, in this order
    inputs: tuple[Path, ...]  # every file the binary depends on (the build cache key)
    flags: tuple[str, ...]  # after the route's own flags, before the sources
    libs: tuple[str, ...]  # after the sources


def runtime_of(profile: Profile) -> str:
    return profile.toolchain.runtime


def _freestanding_gcc_profile(profile: Profile) -> Profile:
    tc = profile.toolchain
    return dataclasses.replace(profile, toolchain=dataclasses.replace(
        tc, zig_target="", zig_cflags=(), gcc_triple=tc.freestanding_gcc_triple, gcc_cflags=(), host_native=False))


def driver_compiler(profile: Profile, rank: int = 0) -> toolchains.Compiler | None:
    """The compiler that builds the exec driver: the profile's preferred route, or for a
    freestanding build with ``freestanding_gcc_triple`` that gcc (sparc: sparc64's gcc -m32).
    ``rank`` 1: the arch's other installed compiler (``toolchains.find_compilers`` order), for
    the ``exec-alternate`` backend; a freestanding profile has none.  Where that is zig and the
    preferred one Debian's gcc, and the profile names a ``zig_glibc_target``, zig's clang
    compiles the objects against gcc's glibc headers and gcc links them
    (``toolchains.zig_objects_for_gcc``): clang's code generation without a musl build."""
    if runtime_of(profile) == FREESTANDING and profile.toolchain.freestanding_gcc_triple:
        return toolchains.find_compiler(_freestanding_gcc_profile(profile), "gcc") if rank == 0 else None
    found = toolchains.find_compilers(profile)
    if rank == 0 or len(found) <= rank:
        return found[rank] if len(found) > rank else None
    if found[0].kind == "gcc":
        split = toolchains.split_route(profile, found[rank])
        if split is not None:
            return split
    # The second driver must run here: zig links glibc only dynamically, so a glibc zig target
    # (sparc64-linux-gnu) is a compile-only route (docs/profiles.md, zig_target).
    return found[rank] if _links_static(found[rank]) else None


def _links_static(compiler: toolchains.Compiler) -> bool:
    return compiler.kind != "zig" or "musl" in compiler.target


def other_compiler_missing(profile: Profile) -> str:
    """Why the arch has no second compiler here (the ``-alternate`` backends' skip reason)."""
    found = toolchains.find_compilers(profile)
    if not found:
        return toolchains.missing_reason(profile)
    tc = profile.toolchain
    routes = [r for r, on in ((f"zig {tc.zig_target}", tc.zig_target), (f"{tc.gcc_triple}-gcc", tc.gcc_triple)) if on]
    if runtime_of(profile) == FREESTANDING:
        return f"one driver compiler only: the {profile.name} driver is built without libc by one route"
    if len(found) > 1 and not _links_static(found[1]):
        return (f"{found[1].identity} is a compile-only route (zig links glibc only dynamically: its driver "
                f"stops at start-up, qemu cannot open the dynamic loader, measured on sparc64); the driver is "
                f"built by {found[0].identity} only")
    if len(routes) < 2:
        return f"one compiler only for {profile.name} ({found[0].identity}): the profile has no other route"
    return f"one compiler only for {profile.name} here ({found[0].identity}); the other route " \
           f"({' / '.join(r for r in routes if found[0].target not in r)}) is not installed: " \
           f"{toolchains.install_hint_for_route(profile, 'zig' if found[0].kind == 'gcc' else 'gcc')}"


def missing_reason(profile: Profile) -> str:
    """toolchains.missing_reason, for the compiler that builds this profile's driver."""
    tc = profile.toolchain
    if runtime_of(profile) != FREESTANDING or not tc.freestanding_gcc_triple:
        return toolchains.missing_reason(profile)
    parts, hints = [], []
    if driver_compiler(profile) is None:
        parts.append(f"no compiler for the freestanding driver ({tc.freestanding_gcc_triple}-gcc)")
        hints.append(f"apt-get install -y gcc-{tc.freestanding_gcc_triple.replace('_', '-')}")
    if toolchains.find_runner(profile) is None:
        parts.append(f"{tc.qemu} not found" if tc.qemu else "no runner in the profile")
        hints.append("apt-get install -y qemu-user")
    if hints:
        parts.append("install: " + " && ".join(hints))
    return "; ".join(parts)


def _freestanding_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".c", ".h") and p.is_file())


@functools.cache
def _libgcc_usable(argv: tuple[str, ...]) -> bool:
    """Whether gcc with these flags finds its libgcc for the multilib they select (sparc -m32:
    only with lib32gcc-12-dev-sparc64-cross).  ``-print-libgcc-file-name`` alone cannot tell:
    where the multilib's copy is missing it names the default one (sparc64-linux-gnu-gcc -m32
    prints the 64-bit .../12/libgcc.a, measured), and the link then fails on -lgcc.  The
    freestanding runtime defines the routines 32-bit sparc needs itself (helpers.c)."""
    try:
        lib = subprocess.run([*argv, "-print-libgcc-file-name"], capture_output=True, text=True, timeout=30)
        multi = subprocess.run([*argv, "-print-multi-directory"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    path, multidir = Path(lib.stdout.strip()), multi.stdout.strip()
    if lib.returncode != 0 or multi.returncode != 0 or not path.is_absolute() or not path.is_file():
        return False
    return multidir in ("", ".") or path.parent.name == Path(multidir).name


def _zig_needs_compiler_rt(compiler: toolchains.Compiler) -> bool:
    return compiler.kind == "zig" and compiler.target.split("-")[0] in ZIG_COMPILER_RT_ARCHES


def plan_build(profile: Profile, compiler: toolchains.Compiler, sources: Sequence[Path],
               cflags: Sequence[str], freestanding_dir: Path | None = None) -> DriverBuild:
    """What to compile and with which flags: ``sources`` are the shim's files (csrc/*.c, *.h);
    ``cflags`` the exec backend's (``-O2``), which the profile's freestanding_cflags follow;
    ``freestanding_dir`` the runtime (default: ``freestanding/`` next to the first C source)."""
    sources = [Path(s) for s in sources]
    c_files = [s for s in sources if s.suffix == ".c"]
    include_dirs = sorted({str(s.parent) for s in sources})
    if runtime_of(profile) != FREESTANDING:
        flags = (*cflags, "-std=gnu11", *(f"-I{d}" for d in include_dirs))
        return DriverBuild(LIBC, tuple(c_files), tuple(sources), flags, ("-lpthread",))
    directory = freestanding_dir or next(s for s in sources if s.suffix == ".c").parent / "freestanding"
    extra = _freestanding_files(directory)
    c_files = [c for c in c_files if c.name != PTHREAD_WORKERS] + [p for p in extra if p.suffix == ".c"]
    own = (*FREESTANDING_FLAGS, *(ZIG_FREESTANDING_FLAGS if _zig_needs_compiler_rt(compiler) else ()))
    # The runtime's headers first: <stdio.h> & co must never come from a C library.
    flags = (*cflags, "-std=gnu11", *own, *profile.toolchain.freestanding_cflags,
             f"-I{directory / 'include'}", *(f"-I{d}" for d in include_dirs))
    gcc_probe = (*compiler.argv, *compiler.cflags, *profile.toolchain.freestanding_cflags)
    libs = ("-lgcc",) if compiler.kind == "gcc" and _libgcc_usable(gcc_probe) else ()
    return DriverBuild(FREESTANDING, tuple(c_files), tuple(sources) + tuple(extra), flags, libs)


@dataclass(frozen=True)
class DriverCommands:
    compiles: tuple[tuple[str, ...], ...]  # run in this order
    link: tuple[str, ...] | None  # None: the one compile command links too
    objects: tuple[Path, ...] = ()  # what the compiles write and the link reads


def driver_commands(profile: Profile, compiler: toolchains.Compiler, plan: DriverBuild, output: str | Path,
                    objdir: str | Path) -> DriverCommands:
    """The commands that build the driver into ``output``: one compile-and-link command, or for
    a compiler with a ``linker`` one ``-c`` per C file into ``objdir`` (zig cc writes only the
    first object of several ``-c`` files) and the linker's static link of those objects with
    the plan's libraries, exactly as the linker's own route links (``toolchains.compile_argv``)."""
    if compiler.linker is None:
        argv = (*toolchains.compile_argv(profile, compiler, plan.c_files, output, extra_flags=plan.flags), *plan.libs)
        return DriverCommands((argv,), None)
    objects = tuple(Path(objdir) / f"{c.stem}.o" for c in plan.c_files)
    compiles = tuple(tuple(toolchains.compile_argv(profile, compiler, [c], o, compile_only=True, extra_flags=plan.flags))
                     for c, o in zip(plan.c_files, objects))
    link = (*toolchains.compile_argv(profile, compiler.linker, objects, output), *plan.libs)
    return DriverCommands(compiles, link, objects)


def with_runtime(profile: Profile, runtime: str, reason: str = "built both ways for comparison") -> Profile:
    """The profile with its driver built against ``runtime`` (the exec backend caches the two
    builds apart: the flags are in the key)."""
    tc = profile.toolchain
    if runtime == runtime_of(profile):
        return profile
    if runtime == FREESTANDING:
        new = dataclasses.replace(tc, runtime=FREESTANDING, runtime_reason=reason, run_blocker="")
    else:
        new = dataclasses.replace(tc, runtime=LIBC, runtime_reason="", freestanding_gcc_triple="",
                                  freestanding_cflags=())
    return dataclasses.replace(profile, toolchain=new)


def workaround_profile(profile: Profile) -> Profile:
    """The profile whose every route adds ``[toolchain.workaround] cflags`` after its own
    (clang and gcc take the last -mcpu/-O given).  The compiler identity carries the flags,
    so the exec backend caches this build apart from the default one."""
    tc = profile.toolchain
    if tc.workaround is None:
        raise ValueError(f"profile {profile.name} has no [toolchain.workaround]")
    extra = tc.workaround.cflags
    return dataclasses.replace(profile, toolchain=dataclasses.replace(
        tc, zig_cflags=(*tc.zig_cflags, *extra), gcc_cflags=(*tc.gcc_cflags, *extra), workaround=None))
