"""The exec backend: the C shim cross-compiled with its driver and run for real.

For every profile with a toolchain, all of ``csrc/*.c`` (the shim plus
``driver.c``'s ``main``) is built statically — zig (``python -m ziglang cc
-target <zig_target>``) by default, Debian cross gcc where zig lacks the arch,
host gcc for x86_64 — and run natively or under qemu-user.  The driver reads
probe requests on stdin and prints one response line per request; each line
becomes the same ``bitlayout.results.Observation`` the host backend returns
(``bitlayout.probes.parse_response_line``), so checks cannot tell the backends
apart.

Public API::

    backend = ExecBackend(jobs=None, timeout=60.0)     # jobs: parallel build+run slots (default: cores)
    # measure_startup=False: the empty start-up run only after a failed run (the matrix's way)
    ok, why = backend.available(profile)               # (False, reason + install hint) if it cannot run
    outcomes = backend.run(profiles, requests)         # dict[arch name, ExecOutcome]

    ExecOutcome(arch, status, observations, reason, evidence)
        status "ok": one Observation per request, in request order;
        status "skip": no compiler or no emulator here (reason carries the install hint);
        status "error": built but could not be run or gave a wrong answer — a crash (signal),
            a non-zero exit, a timeout, missing or unparsable output, or the profile's known
            ``run_blocker`` (the binary is still built: compile-only evidence).
        evidence: toolchain identity, compiler argv (``compile_argvs`` + ``link_argv`` where one
            compiler builds the objects and another links them), target, runtime, cache hit, emulator argv,
            compile_seconds, startup_seconds (when measured), run_seconds, returncode, signal,
            stderr_tail.

Faults are results, never silent passes: nothing here raises for a broken
guest; only a bad argument from the caller raises (``ShimError``).

Builds go through ``buildcache.BuildCache`` (keyed on the sources' digest,
compiler identity, target and flags; ``BITLAYOUT_CACHE_DIR`` overrides the
location).  Builds and runs share a pool of ``jobs`` worker threads (the work
is in subprocesses), so a session builds every arch in one parallel batch.
"""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import probes, progress, toolchains
from ..errors import ShimError, ToolchainError
from ..profiles import Profile
from ..results import Backend, Evidence, Observation
from . import runtimes
from .base import ObserveFailed, ProbeObserver, encode_requests, register
from .buildcache import BuildCache, build_key, source_digest

BACKEND = Backend.EXEC
STDERR_TAIL_CHARS = 2000
# Emulator start-up is measured with an empty request stream; a healthy driver exits at
# once, so this only needs to cover qemu loading a static binary on a busy CI box.
STARTUP_TIMEOUT = 10.0


def csrc_dir() -> Path:
    """The shim sources: the repository's csrc/ (installed as bitlayout/data/csrc)."""
    return Path(__file__).resolve().parent.parent / "data" / "csrc"


def shim_sources(directory: str | Path | None = None) -> list[Path]:
    """Every C source and header the exec binary is built from (all go into the cache key)."""
    d = Path(directory) if directory is not None else csrc_dir()
    return sorted(p for p in d.iterdir() if p.suffix in (".c", ".h") and p.is_file())


@dataclass(frozen=True)
class ExecOutcome:
    arch: str
    status: str  # "ok" | "skip" | "error"
    observations: tuple[Observation, ...] = ()
    reason: str = ""
    evidence: Evidence = field(default_factory=Evidence, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", Evidence.of(self.evidence))

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def by_probe(self, probe: str) -> list[Observation]:
        return [o for o in self.observations if o.probe == probe]


# ---------------------------------------------------------------------------
# Running


def _last_line(text: str) -> str:
    """The last non-blank stderr line: usually the one that says why (qemu's own message)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return f": {lines[-1][:200]}" if lines else ""


def _tail(text: str) -> str:
    return text[-STDERR_TAIL_CHARS:]


# ---------------------------------------------------------------------------
# Protocol glue: bitlayout.probes owns the wire format.


def _request_lines(requests: Sequence[Any]) -> list[str]:
    """One line per request (a ``probes.ProbeRequest``, or a str taken as an encoded line), each
    with its id (1, 2, ...): the driver echoes it, so every answer is matched to its request."""
    lines = [r if isinstance(r, str) else probes.format_request(r) for r in requests]
    for line in lines:
        # The driver skips blank and '#' lines without answering: refuse them here so
        # that "one response per request" stays checkable.
        if "\n" in line or not line.strip() or line.lstrip().startswith("#"):
            raise ShimError(f"not a probe request line: {line[:80]!r}")
        if any(tok.startswith("id=") for tok in line.split()):
            raise ShimError(f"request line with its own id: {line[:80]!r} (the backend numbers them)")
    return [probes.with_id(line.strip(), n) for n, line in enumerate(lines, 1)]


# ---------------------------------------------------------------------------


class ExecBackend:
    """Cross-build the shim per profile (cached) and run probe requests through it."""

    name = BACKEND

    def __init__(self, jobs: int | None = None, timeout: float = 60.0, *,
                 sources: Iterable[str | Path] | None = None, cache: BuildCache | None = None,
                 cflags: Sequence[str] = ("-O2",), rank: int = 0, measure_startup: bool = True):
        if jobs is not None and jobs < 1:
            raise ShimError(f"jobs must be at least 1, got {jobs}")
        if timeout <= 0:
            raise ShimError(f"timeout must be positive, got {timeout}")
        self.jobs = jobs or os.cpu_count() or 1
        self.timeout = float(timeout)
        self.sources = [Path(s) for s in sources] if sources is not None else None
        self.cache = cache or BuildCache()
        self.cflags = tuple(cflags)
        self.rank = rank  # 0: the arch's preferred compiler builds the driver; 1: the other one installed
        self.name = BACKEND if rank == 0 else Backend.EXEC_ALTERNATE
        # False: the empty start-up run happens only when the real run fails, to say why (the
        # matrix's way: one emulator start per arch instead of two on the usual, healthy path).
        self.measure_startup = measure_startup

    # -- discovery ---------------------------------------------------------

    def _sources(self) -> list[Path]:
        sources = self.sources if self.sources is not None else shim_sources()
        if not any(s.suffix == ".c" for s in sources):
            raise ShimError(f"no C sources for the exec driver in {csrc_dir()}")
        return sources

    def available(self, profile: Profile) -> tuple[bool, str]:
        """Whether ``run`` gives this profile a real outcome (ok or error) rather than a skip.

        False, with the reason and the install hint, when the compiler or the
        emulator is missing.  True for a profile with a known ``run_blocker``
        when a compiler exists: the binary is built and the outcome is an error
        naming the blocker (an unrunnable arch is a finding, not a gap).
        """
        compiler = runtimes.driver_compiler(profile, self.rank)
        if compiler is None:
            return False, self._missing(profile)
        if profile.toolchain.run_blocker:
            return True, f"{compiler.identity}, compile-only: {profile.toolchain.run_blocker}"
        runner = toolchains.find_runner(profile)
        if runner is None:
            return False, runtimes.missing_reason(profile)
        return True, f"{compiler.identity} ({profile.toolchain.runtime}) + {_runner_label(runner)}"

    # -- building ------------------------------------------------------------

    def build(self, profile: Profile) -> tuple[Path | None, Evidence, str]:
        """Build (or fetch from the cache) the driver for one profile.

        Returns (binary or None, evidence, failure reason or "").  No compiler:
        (None, evidence, "").
        """
        compiler = runtimes.driver_compiler(profile, self.rank)
        evidence: dict[str, Any] = {"backend": self.name}
        if compiler is None:
            return None, Evidence.of(evidence), ""
        # runtimes owns what the profile's runtime (libc or freestanding) compiles and links.
        plan = runtimes.plan_build(profile, compiler, self._sources(), self.cflags)

        def commands_for(out: str | Path, objdir: str | Path) -> runtimes.DriverCommands:
            # runtimes owns the commands, toolchains the route's flags (-static unless gcc_link =
            # "dynamic", ...); a split route compiles objects with one compiler, links with another.
            return runtimes.driver_commands(profile, compiler, plan, out, objdir)

        key = build_key(sources_sha256=source_digest(plan.inputs), compiler_identity=compiler.identity,
                        target=compiler.target, flags=_key_flags(commands_for("OUT", "OBJ"), compiler))
        linker = compiler.linker
        runtime = plan.runtime if linker is None else f"{compiler.libc} (linked by {linker.identity})"
        evidence.update(toolchain=compiler.identity, compiler=compiler.kind, compiler_abi=compiler.abi,
                        target=compiler.target, runtime=runtime, cache_key=key)

        def run(argv: Sequence[str], step: str, by: toolchains.Compiler) -> None:
            res = toolchains.run_compiler(argv, timeout=600, what=f"{step} with {by.identity}")
            if res.returncode != 0:
                evidence["stderr_tail"] = _tail(res.stderr)
                raise ToolchainError(f"{step} failed ({by.identity}, exit {res.returncode}): "
                                     f"{toolchains.first_error(res.stderr)}")

        def do_build(out: Path) -> None:
            # A cache miss: say what is built and that it happens once (a first static zig build
            # of a musl target compiles musl first, the slow part of a first run).
            if linker is not None:
                how = f"objects by {compiler.identity}"
            elif compiler.kind == "zig" and plan.runtime == runtimes.LIBC:
                how = f"{compiler.identity}; zig first builds musl for this target if it never has: 20-80 s"
            else:
                how = compiler.identity
            progress.notice(f"building the exec driver for {profile.name} with {how} (once, then cached)")
            with tempfile.TemporaryDirectory(prefix=".objects-", dir=out.parent) as objdir:
                commands = commands_for(out, objdir)
                if linker is None:
                    evidence["compile_argv"] = commands.compiles[0]
                    run(commands.compiles[0], "compile", compiler)
                    return
                evidence.update(compile_argvs=commands.compiles, link_argv=commands.link)
                for argv, obj in zip(commands.compiles, commands.objects):
                    run(argv, f"compile of {obj.stem}.c", compiler)
                toolchains.fix_objects(compiler, commands.objects)
                run(commands.link, "link", linker)

        try:
            built = self.cache.get_or_build(key, profile.name, do_build)
        except (ToolchainError, OSError) as exc:
            return None, Evidence.of(evidence), str(exc)
        evidence.update(binary=str(built.path), cache_hit=built.hit,
                        compile_seconds=round(built.compile_seconds, 3))
        if built.rebuilt:
            evidence["cache_rebuilt"] = built.rebuilt
        return built.path, Evidence.of(evidence), ""

    # -- running -------------------------------------------------------------

    def run_one(self, profile: Profile, requests: Sequence[Any]) -> ExecOutcome:
        arch = profile.name
        try:
            sent = _request_lines(requests)
        except (ValueError, TypeError) as exc:  # ShimError (bad request) propagates as is
            raise ShimError(f"cannot encode exec requests: {exc}") from None
        stdin = "".join(line + "\n" for line in sent)
        binary, built_evidence, failure = self.build(profile)
        evidence = dict(built_evidence)
        if binary is None and not failure:
            return ExecOutcome(arch, "skip", reason=self._missing(profile), evidence=evidence)
        if binary is None:
            if profile.toolchain.run_blocker:
                failure += f"; and it could not run here anyway: {profile.toolchain.run_blocker}"
            return ExecOutcome(arch, "error", reason=failure, evidence=evidence)
        if profile.toolchain.run_blocker:
            # Known not to run here: the build above is the (compile-only) evidence.
            return ExecOutcome(arch, "error", evidence=evidence,
                               reason=f"built but cannot run: {profile.toolchain.run_blocker}")
        runner = toolchains.find_runner(profile)
        if runner is None:
            return ExecOutcome(arch, "skip", evidence=evidence, reason=runtimes.missing_reason(profile))
        evidence["emulator"] = _runner_label(runner)

        if self.measure_startup:
            failed = self._startup_failure(profile, binary, evidence)
            if failed:
                return failed
        run = toolchains.run_binary(profile, binary, stdin=stdin, timeout=self.timeout)
        run_evidence = dict(run_seconds=round(run.seconds, 3), returncode=run.returncode,
                            signal=run.guest_signal, stderr_tail=_tail(run.stderr), requests=len(requests))
        why = run.failure(self.timeout, "driver")
        if why and not self.measure_startup:
            # Did it fail on the requests, or can it not run at all?
            failed = self._startup_failure(profile, binary, evidence)
            if failed:
                return failed
        evidence.update(run_evidence)
        if why:
            return ExecOutcome(arch, "error", evidence=evidence,
                               reason=f"{why} under {evidence['emulator']}{_last_line(run.stderr)}")
        return self._collect(arch, sent, run.stdout, evidence)

    def _startup_failure(self, profile: Profile, binary: Path, evidence: dict[str, Any]) -> ExecOutcome | None:
        """Run the driver on an empty request stream (it must exit 0 at once): this splits emulator
        start-up from checking time, and tells "cannot run at all" apart.  The error outcome when
        it fails, else None; ``evidence`` gains ``startup_seconds`` either way."""
        startup_timeout = min(self.timeout, STARTUP_TIMEOUT)
        startup = toolchains.run_binary(profile, binary, stdin="", timeout=startup_timeout)
        evidence["startup_seconds"] = round(startup.seconds, 3)
        why = startup.failure(startup_timeout, "driver start-up")
        if not why:
            return None
        evidence.update(returncode=startup.returncode, signal=startup.guest_signal, stderr_tail=_tail(startup.stderr))
        return ExecOutcome(profile.name, "error", evidence=evidence,
                           reason=f"{why} under {evidence['emulator']}{_last_line(startup.stderr)}")

    def _collect(self, arch: str, sent: Sequence[str], stdout: str, evidence: dict[str, Any]) -> ExecOutcome:
        lines = stdout.splitlines()
        if stdout and not stdout.endswith("\n"):
            return ExecOutcome(arch, "error", evidence=evidence,
                               reason=f"truncated output: last line has no newline: {lines[-1][:80]!r}")
        if len(lines) != len(sent):
            return ExecOutcome(arch, "error", evidence=evidence,
                               reason=f"driver answered {len(lines)} of {len(sent)} requests")
        observations = []
        for n, (request, line) in enumerate(zip(sent, lines), 1):
            try:
                obs = probes.parse_response_line(line, _public(evidence), sent=request)
            except ShimError as exc:  # not a response, or the shim refused the request (ok: false)
                return ExecOutcome(arch, "error", evidence=evidence,
                                   reason=f"bad response line {n} of {len(lines)}: {exc}")
            observations.append(obs)
        return ExecOutcome(arch, "ok", tuple(observations), evidence=evidence)

    def run(self, profiles: Iterable[Profile],
            requests: Sequence[Any] | Callable[[Profile], Sequence[Any]]) -> dict[str, ExecOutcome]:
        """Build and run every profile in parallel (``jobs`` at a time); one outcome per profile.

        ``requests`` is one list for every profile, or a function of the profile
        (e.g. a flags bitmap of ``8 / sizeof(long)`` words).
        """
        profiles = list(profiles)
        per_profile = {p.name: list(requests(p) if callable(requests) else requests) for p in profiles}
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = _interruptible(pool, {p.name: (self.run_one, p, per_profile[p.name]) for p in profiles})
        return {name: f.result() for name, f in futures.items()}

    def _missing(self, profile: Profile) -> str:
        return runtimes.missing_reason(profile) if self.rank == 0 else runtimes.other_compiler_missing(profile)

    def build_all(self, profiles: Iterable[Profile]) -> dict[str, tuple[Path | None, dict[str, Any], str]]:
        """Warm the cache for many profiles at once (a session fixture calls this once)."""
        profiles = list(profiles)
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = _interruptible(pool, {p.name: (self.build, p) for p in profiles})
        return {name: f.result() for name, f in futures.items()}


def _interruptible(pool: ThreadPoolExecutor, calls: dict[str, tuple]) -> dict[str, Any]:
    """Submit every call and wait for all; when the wait is interrupted (Ctrl-C), the queued
    calls are dropped and the guests already running are killed before the pool is left."""
    futures = {name: pool.submit(*call) for name, call in calls.items()}
    try:
        concurrent.futures.wait(list(futures.values()))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        toolchains.stop_guests()
        raise
    return futures


def _key_flags(commands: runtimes.DriverCommands, compiler: toolchains.Compiler) -> list[str]:
    """What the cache key sees of the build commands: each without its compiler's own prefix
    (the identities are in the key), -I paths dropped and sources and objects reduced to their
    names, so the same tree checked out elsewhere, or another temp name, reuses the entry.  A
    one-command route keys exactly as before the split route existed (its caches stay valid)."""
    def reduced(argv: Sequence[str], prefix: Sequence[str]) -> list[str]:
        words = [a for a in argv[len(prefix):] if not a.startswith("-I/")]
        return [Path(a).name if a.endswith((".c", ".o")) else a for a in words]

    if commands.link is None:
        return reduced(commands.compiles[0], compiler.argv)
    flags: list[str] = []
    for argv in commands.compiles:
        flags += [*reduced(argv, compiler.argv), "&&"]
    return flags + ["link:", *reduced(commands.link, compiler.linker.argv)]


def _runner_label(runner: toolchains.Runner) -> str:
    return "native" if runner.kind == "native" or not runner.argv else " ".join(runner.argv)


def _public(evidence: dict[str, Any]) -> dict[str, Any]:
    """The per-observation evidence: how it was seen, not the long stderr."""
    keys = ("backend", "toolchain", "compiler", "compiler_abi", "target", "runtime", "emulator", "compile_seconds",
            "startup_seconds", "run_seconds")
    return {k: evidence[k] for k in keys if k in evidence}


@register
class ExecObserver(ProbeObserver):
    """The exec backend in the matrix: one driver run per arch answers every check's requests,
    the driver built by the arch's preferred installed compiler."""

    name = BACKEND
    on_arch = True
    order = 30

    def start(self) -> None:
        self.backend = ExecBackend(jobs=1, timeout=self.options.exec_timeout, rank=self.rank, measure_startup=False)

    def available(self, profile: Profile) -> tuple[bool, str]:
        return self.backend.available(profile)

    def compiler_abi(self, profile: Profile) -> str | None:
        comp = runtimes.driver_compiler(profile, self.rank)
        return comp.abi if comp is not None else None

    def observe(self, profile: Profile, requests) -> list[Observation]:
        # exec takes encoded request lines (bitlayout.probes owns the wire format)
        outcome = self.backend.run_one(profile, [r.to_line() for r in encode_requests(requests)])
        if outcome.status != "ok":
            raise ObserveFailed(outcome.status, outcome.reason, outcome.evidence)
        return list(outcome.observations)


@register
class ExecAlternateObserver(ExecObserver):
    """The exec backend with the driver built by the arch's other installed compiler (zig's clang
    where Debian's GCC builds the ``exec`` driver: clang's objects linked by that GCC against its
    glibc where the profile has ``zig_glibc_target``, else static musl): the same probes, so a
    bitop result the two compilers' code disagrees on shows as two rows that differ."""

    name = Backend.EXEC_ALTERNATE
    order = 31
    rank = 1
