"""Prepared build directories per arch: find one, or make one with Kbuild.

``prepare_arches`` runs, for each profile, in a cache directory
``user_cache_dir()/kernel/<tree-id>/<profile>``::

    make -C SRC O=DIR ARCH=<arch> CROSS_COMPILE=<prefix> <config>     # the profile's [kernel]
    (fragment lines appended to .config, then make ... olddefconfig; every line must survive)
    make -C SRC O=DIR ARCH=<arch> CROSS_COMPILE=<prefix> prepare      # include/generated, asm-offsets

then captures the Kbuild command line for a TU (``kbuild.capture``) and checks that the compiler
with those flags has the profile's ABI.  A ``.bitlayout-prepared.json`` stamp written last marks
a directory as done; it is reused as long as the profile's ``[kernel]`` table, the config and the
compiler are the same.  Arches run in parallel (threads: the work is in ``make``), one progress
line each.  ``prepared_build`` finds the directory to use for a profile: the tree's own build
directory (Debian linux-headers, a tree prepared in place) when its ``.config`` has the profile's
ABI, else the stamped cache directory, else ``KernelNotPrepared`` saying which command makes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..cachedir import user_cache_dir
from ..errors import BitlayoutError, KernelNotPrepared, KernelTreeError, ToolchainError
from ..profiles import Profile
from ..publish import publish_text
from ..toolchains import gcc_packages
from .tree import KernelTree, config_abi, prepared_problems, prepared_srcarch, read_dotconfig

STAMP = ".bitlayout-prepared.json"
MAKE_TIMEOUT = 1800.0  # seconds; a prepare takes 10-60 s here, a first one with host tools a bit more


def cache_root(tree: KernelTree) -> Path:
    return user_cache_dir() / "kernel" / tree.tree_id


def config_label(config_file: str | Path | None) -> str:
    """'' for the profile's own configuration, else a short hash of the user's .config."""
    if config_file is None:
        return ""
    return hashlib.sha256(Path(config_file).read_bytes()).hexdigest()[:10]


def cache_build_dir(tree: KernelTree, profile: Profile, config_file: str | Path | None = None) -> Path:
    label = config_label(config_file)
    return cache_root(tree) / (profile.name + (f"-config-{label}" if label else ""))


def prepare_command(tree: KernelTree, profile: Profile, arches: str | None = None,
                    config_file: str | Path | None = None) -> str:
    """The command line that prepares ``tree`` for ``profile`` (quoted in error messages)."""
    cmd = f"bitlayout kernel prepare {tree.given or tree.source} --arch {arches or profile.name}"
    return cmd + (f" --config {config_file}" if config_file else "")


# ---------------------------------------------------------------------------
# Which build directory serves a profile


def shipped_build_mismatch(tree: KernelTree, profile: Profile) -> str:
    """'' when the tree's own build directory (Debian headers, prepared in place) has the profile's
    arch and ABI by its .config, else what it was prepared for instead."""
    if tree.build is None:
        return "no build directory"
    srcarch = prepared_srcarch(tree.build)
    if srcarch != profile.kernel_arch:
        return f"prepared for arch/{srcarch}"
    abi = config_abi(tree.build / ".config")
    if abi.bits_per_long != profile.bits_per_long or abi.little_endian not in (None, profile.little_endian):
        return f"prepared for a {abi.describe()} {srcarch} kernel"
    return ""


def _stamp(build: Path) -> dict | None:
    try:
        return json.loads((build / STAMP).read_text())
    except (OSError, ValueError):
        return None


def prepared_build(tree: KernelTree, profile: Profile, config_file: str | Path | None = None) -> Path:
    """The prepared build directory to use for ``profile``, or KernelNotPrepared (one line: why,
    and the command that prepares it)."""
    if not profile.kernel.supported:
        raise KernelNotPrepared(f"{profile.name}: no kernel configuration: {profile.kernel.unsupported}")
    if config_file is None and tree.build is not None:
        mismatch = shipped_build_mismatch(tree, profile)
        if not mismatch:
            return tree.build
        if tree.kind == "headers":
            raise KernelNotPrepared(
                f"{profile.name}: {tree.build.name} is {mismatch}, not {profile.description}; use a "
                f"linux-headers tree of that flavour, or a source tree and `bitlayout kernel prepare SRC "
                f"--arch {profile.name}`", path=str(tree.given or tree.build))
    build = cache_build_dir(tree, profile, config_file)
    stamp = _stamp(build)
    if stamp is None or prepared_problems(build):
        raise KernelNotPrepared(f"{profile.name}: not prepared: run `{prepare_command(tree, profile, None, config_file)}`",
                                path=str(tree.given or tree.source))
    if stamp.get("kernel") != kernel_table(profile):
        raise KernelNotPrepared(f"{profile.name}: prepared for another [kernel] configuration than "
                                f"{profile.path or profile.name} has now: run `{prepare_command(tree, profile, None, config_file)}`",
                                path=str(tree.given or tree.source))
    return build


def kernel_table(profile: Profile) -> dict:
    k = asdict(profile.kernel)
    k.pop("source", None)
    k["fragment"] = list(k["fragment"])
    return k


# ---------------------------------------------------------------------------
# Compilers and make


def _headers_cc_suffix(build: Path) -> str:
    """Debian headers trees set ``CC = $(CROSS_COMPILE)gcc-12`` in .kernelvariables: the compiler
    their Makefile will run (plain ``gcc`` elsewhere)."""
    try:
        text = (build / ".kernelvariables").read_text(errors="replace")
    except OSError:
        return "gcc"
    m = re.search(r"^CC\s*=.*\$\(CROSS_COMPILE\)(\S+)\s*$", text, re.M)
    return m.group(1) if m else "gcc"


def compiler_name(tree: KernelTree, build: Path | None, profile: Profile) -> str:
    """The C compiler Kbuild will run for this profile (``CC``)."""
    if profile.kernel.llvm:
        return "clang"
    suffix = _headers_cc_suffix(build) if tree.kind == "headers" and build is not None else "gcc"
    return profile.kernel.cross_compile + suffix


def install_hint(profile: Profile, compiler: str) -> str:
    if profile.kernel.llvm:
        return "apt-get install -y clang lld llvm"
    triple = profile.kernel.cross_compile.rstrip("-")
    host_native = triple == f"{os.uname().machine}-linux-gnu"
    packages = gcc_packages(triple, host_native)
    if _apt_has_no_candidate(packages[0]):
        # loongarch64 on Debian 12: the hint must not name a package apt cannot install
        return (f"this system's apt has no {packages[0]} package: put a {triple}-gcc cross compiler "
                f"on PATH (from a newer distribution release or the architecture's own toolchain)")
    return "apt-get install -y " + " ".join(packages)


def _apt_has_no_candidate(package: str) -> bool:
    """True only when apt-cache answers that ``package`` cannot be installed (no apt: False)."""
    if shutil.which("apt-cache") is None:
        return False
    try:
        out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and ("Candidate:" not in out.stdout or "Candidate: (none)" in out.stdout)


def require_tools(tree: KernelTree, build: Path | None, profile: Profile) -> str:
    """make and the profile's kernel compiler, or ToolchainError naming what to install."""
    if shutil.which("make") is None:
        raise ToolchainError(f"{profile.name}: make not found: apt-get install -y make bc flex bison libssl-dev libelf-dev")
    cc = compiler_name(tree, build, profile)
    if shutil.which(cc) is None:
        raise ToolchainError(f"{profile.name}: {cc} not found (the kernel compiler for ARCH={profile.kernel.arch}): "
                             f"{install_hint(profile, cc)}")
    return cc


def make_argv(tree: KernelTree, build: Path, profile: Profile) -> list[str]:
    """``make`` with the directory, ARCH and CROSS_COMPILE for this build; targets follow."""
    k = profile.kernel
    if build == tree.build:  # the tree's own build directory (Debian headers, in place)
        argv = ["make", "-C", str(build), "-f", str(tree.source / "Makefile")]
    else:
        argv = ["make", "-C", str(tree.source), f"O={build}"]
    argv += [f"ARCH={k.arch}", f"CROSS_COMPILE={k.cross_compile}"]
    if k.llvm:
        argv.append("LLVM=1")
    return argv


def make_env() -> dict[str, str]:
    """The environment for make: C locale (messages we parse), and no jobserver or Kbuild
    variables inherited from a make that might be running bitlayout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "KBUILD_OUTPUT", "ARCH", "CROSS_COMPILE", "LLVM")}
    env["LC_ALL"] = "C"
    return env


_RECURSION_LINE = re.compile(r"^make(\[\d+\])?: \*\*\* \[.*\] Error \d+$")


def make_error(output: str) -> str:
    """The line of make's output worth showing: a compiler/Kconfig error, else make's own
    complaint (not the "Error 2" lines of every recursion level), else the last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln.lower() and not _RECURSION_LINE.match(ln):
            return ln[:300]
    for ln in lines:
        if "***" in ln and not _RECURSION_LINE.match(ln):
            return ln[:300]
    return lines[-1][:300] if lines else "(no output)"


def run_make(argv: Sequence[str], profile: Profile, log: Path, what: str, timeout: float = MAKE_TIMEOUT) -> None:
    """Run one make; its output goes to ``log`` (appended); failure is KernelTreeError in one line."""
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(argv) + "\n")
        fh.flush()
        try:
            proc = subprocess.run(list(argv), stdout=fh, stderr=subprocess.STDOUT, env=make_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise KernelTreeError(f"{profile.name}: `make {what}` timed out after {timeout:g} s; log: {log}") from None
        except OSError as exc:
            raise ToolchainError(f"{profile.name}: cannot run make: {exc.strerror}") from None
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-20000:]
        raise KernelTreeError(f"{profile.name}: `make {what}` failed (exit {proc.returncode}): "
                              f"{make_error(tail)}; full log: {log}")


@contextlib.contextmanager
def _locked(build: Path) -> Iterator[None]:
    """One preparer per build directory (two bitlayout runs preparing the same arch wait)."""
    build.parent.mkdir(parents=True, exist_ok=True)
    with open(build.parent / f".{build.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fragment_problems(dotconfig: Path, fragment: Sequence[str]) -> list[str]:
    """Fragment lines that olddefconfig dropped (a dependency not met): the ABI would be wrong."""
    cfg = read_dotconfig(dotconfig)
    bad = []
    for line in fragment:
        if line.startswith("# "):
            name, want = line[2:].split()[0], "n"
        else:
            name, _, want = line.partition("=")
        if cfg.get(name, "n") != want:
            bad.append(f"{line} (now {name}={cfg.get(name, 'n')})")
    return bad


# ---------------------------------------------------------------------------
# Preparing


@dataclass
class PrepareOutcome:
    arch: str
    status: str  # "prepared", "reused", "failed"
    build: Path | None
    seconds: float
    message: str  # one line for the user
    error: BitlayoutError | None = None


Progress = Callable[[str], None]


def _configure(tree: KernelTree, build: Path, profile: Profile, config_file: Path | None, log: Path,
               jobs: int) -> None:
    base = make_argv(tree, build, profile)
    k = profile.kernel
    if config_file is not None:
        shutil.copyfile(config_file, build / ".config")
        run_make([*base, "olddefconfig"], profile, log, f"ARCH={k.arch} olddefconfig ({config_file})")
    else:
        run_make([*base, k.config], profile, log, f"ARCH={k.arch} {k.config}")
        if k.fragment:
            with open(build / ".config", "a") as fh:
                fh.write("\n# bitlayout: the profile's [kernel] fragment\n" + "\n".join(k.fragment) + "\n")
            run_make([*base, "olddefconfig"], profile, log, f"ARCH={k.arch} olddefconfig")
            dropped = _fragment_problems(build / ".config", k.fragment)
            if dropped:
                raise KernelTreeError(f"{profile.name}: {profile.path} [kernel.fragment]: {k.config} does not keep "
                                      f"{'; '.join(dropped)} (a Kconfig dependency is missing)")
    run_make([*base, f"-j{jobs}", "prepare"], profile, log, f"ARCH={k.arch} prepare")


def prepare_one(tree: KernelTree, profile: Profile, config_file: str | Path | None = None, *, jobs: int = 1,
                progress: Progress | None = None, force: bool = False) -> PrepareOutcome:
    """Prepare (or reuse) the build directory of one profile; never raises a BitlayoutError
    (the outcome carries it)."""
    from .kbuild import capture

    say = progress or (lambda line: None)
    t0 = time.monotonic()
    try:
        if not profile.kernel.supported:
            raise KernelNotPrepared(f"{profile.name}: no kernel configuration: {profile.kernel.unsupported}")
        config_path = Path(config_file).resolve() if config_file is not None else None
        if config_path is None and tree.build is not None and not shipped_build_mismatch(tree, profile):
            build = tree.build
            cc = require_tools(tree, build, profile)
            capture(tree, profile, build)
            return PrepareOutcome(profile.name, "reused", build, time.monotonic() - t0,
                                  f"{profile.name}: {tree.label} ships a build prepared for it ({build}), with {cc}")
        if tree.kind == "headers":
            prepared_build(tree, profile)  # raises: a headers tree cannot be prepared for another arch
        build = cache_build_dir(tree, profile, config_path)
        cc = require_tools(tree, None, profile)
        with _locked(build):
            stamp = _stamp(build)
            wanted = {"tree": tree.tree_id, "source": str(tree.source), "kernel": kernel_table(profile),
                      "config_file": str(config_path) if config_path else "",
                      "config_sha256": config_label(config_path)}
            if not force and stamp is not None and all(stamp.get(k) == v for k, v in wanted.items()) \
                    and not prepared_problems(build):
                return PrepareOutcome(profile.name, "reused", build, time.monotonic() - t0,
                                      f"{profile.name}: already prepared ({build})")
            k = profile.kernel
            what = config_path.name if config_path else k.config + (" + fragment" if k.fragment else "")
            say(f"{profile.name}: preparing {tree.label} for ARCH={k.arch} ({what}) with {cc}, "
                f"once per tree and arch, in {build}")
            build.mkdir(parents=True, exist_ok=True)
            (build / STAMP).unlink(missing_ok=True)
            log = build / "bitlayout-prepare.log"
            log.write_text("")
            _configure(tree, build, profile, config_path, log, jobs)
            missing = prepared_problems(build)
            if missing:
                raise KernelTreeError(f"{profile.name}: `make prepare` left no {', '.join(missing)}; log: {log}")
            command = capture(tree, profile, build)
            seconds = time.monotonic() - t0
            stamp = {**wanted, "compiler": command.compiler_version, "seconds": round(seconds, 1),
                     "prepared_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            publish_text(build / STAMP, json.dumps(stamp, indent=1) + "\n")
            return PrepareOutcome(profile.name, "prepared", build, seconds,
                                  f"{profile.name}: prepared in {seconds:.1f} s ({build})")
    except BitlayoutError as exc:
        return PrepareOutcome(profile.name, "failed", None, time.monotonic() - t0, str(exc), exc)


def prepare_arches(tree: KernelTree, profiles: Sequence[Profile], config_file: str | Path | None = None, *,
                   jobs: int | None = None, progress: Progress | None = None,
                   force: bool = False) -> list[PrepareOutcome]:
    """Prepare every profile's build directory, up to ``jobs`` arches at once (default: CPU
    count); the outcomes come back in profile order.  ``progress`` gets one line when an arch
    starts building and one when it is done; failures are only in the outcomes (the caller
    reports them once)."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    width = min(jobs, max(1, len(profiles)))
    per_make = max(1, jobs // width)

    def one(profile: Profile) -> PrepareOutcome:
        outcome = prepare_one(tree, profile, config_file, jobs=per_make, progress=progress, force=force)
        if progress is not None and outcome.status != "failed":
            progress(outcome.message)
        return outcome

    with ThreadPoolExecutor(max_workers=width) as pool:
        return list(pool.map(one, profiles))
