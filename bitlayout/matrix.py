"""Run a spec's checks over arch x check x backend; the library behind ``bitlayout matrix``.

``run_matrix(spec, arches, backends, checks, jobs, progress=None) -> MatrixResult``

For each selected arch (in parallel, one worker per arch):

1. the layout engine reads the spec's headers for that arch (``layout_headers``);
2. ``checks.plan_arch`` derives the bitmap geometries and flags, and each
   check predicts (the ``model`` backend's rows come from here);
3. every observing backend gets all the probes of all checks in one batch
   (one emulator run per arch for ``exec``) and each check judges its answers.

Every arch x check x backend asked for gets exactly one row; a backend that
cannot run (module not built yet, tool missing, arch incompatible) yields skip
rows whose detail says why and how to get it — nothing is dropped silently.
Rendering lives in ``commands/matrix.py`` and ``bitlayout.report``.
"""

from __future__ import annotations

import importlib
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .bitmap_types import geometry_of
from .checks import (ALL_CHECKS, CHECKS, ArchPlan, CheckOutcome, Skip, model_row, outcome_row, plan_arch, stress_ms,
                     pointer_member)
from .errors import EXIT_CHECK_FAILED, EXIT_OK, BitlayoutError, KernelNotPrepared, SpecError, UsageError
from .profiles import Profile
from .results import MATRIX_SCHEMA, MatrixRow, Observation
from .spec import Spec, check_names

BACKENDS = ("model", "host", "compiled", "exec")
STATUS_ORDER = {"error": 3, "fail": 2, "pass": 1, "skip": 0}

# progress(done, total, label): called after each arch finishes.
Progress = Callable[[int, int, str], None]


@dataclass
class MatrixResult:
    spec_path: str
    arches: list[str]
    checks: list[str]
    backends: list[str]
    backend_notes: dict[str, str]  # backend -> "ran on N arches" / why it was skipped
    rows: list[MatrixRow]
    seconds: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)
    # What the run already computed per arch, for the report to reuse instead of laying the
    # headers out again: arch -> LayoutSet (None when it failed or could not be sent back from a
    # worker process) and arch -> layout error.  Not part of the matrix/1 JSON.
    layouts: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    layout_errors: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Exactly the ``bitlayout.matrix/1`` contract (DESIGN.md)."""
        return {"schema": MATRIX_SCHEMA, "results": [r.to_json() for r in self.rows]}

    @property
    def exit_code(self) -> int:
        return EXIT_CHECK_FAILED if any(r.status in ("fail", "error") for r in self.rows) else EXIT_OK

    def cell(self, arch: str, check: str) -> str:
        """The worst status over backends for one arch x check (the grid's cell)."""
        statuses = [r.status for r in self.rows if r.arch == arch and r.check == check]
        return max(statuses, key=STATUS_ORDER.__getitem__) if statuses else "skip"

    def counts(self) -> dict[str, dict[str, int]]:
        """check -> status -> number of rows."""
        out: dict[str, dict[str, int]] = {c: {s: 0 for s in STATUS_ORDER} for c in self.checks}
        for r in self.rows:
            out[r.check][r.status] += 1
        return out


# ---------------------------------------------------------------------------
# Observers: one adapter per backend module, all answering probe requests.


class Observer:
    name = ""

    def unavailable(self) -> str:
        """'' if the backend can run at all here, else the reason (and the install hint)."""
        return ""

    def available(self, profile: Profile) -> tuple[bool, str]:
        return True, ""

    def observe(self, profile: Profile, requests: Sequence[dict[str, Any]]) -> list[Observation]:
        raise NotImplementedError


def _import(module: str) -> tuple[Any, str]:
    try:
        return importlib.import_module(module), ""
    except ImportError as exc:
        return None, f"{module} not importable ({exc})"


EXEC_TIMEOUT_ENV = "BITLAYOUT_EXEC_TIMEOUT"


def exec_timeout() -> float:
    """Seconds per exec driver run: ``$BITLAYOUT_EXEC_TIMEOUT``, default 60 (ExecBackend's).

    A tiny value makes every exec run time out: the way to see the timeout path (error
    rows naming the timeout, never a crash) without a hanging emulator.
    """
    raw = os.environ.get(EXEC_TIMEOUT_ENV, "").strip()
    if not raw:
        return 60.0
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{EXEC_TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


class ProbeObserver(Observer):
    """host and exec: the C shim answers ``bitlayout.probes`` requests."""

    def __init__(self, name: str):
        self.name = name
        self._mod = None
        self._backend = None
        self._why: str | None = None
        probes, why = _import("bitlayout.probes")
        self.probes = probes
        if probes is None:
            self._why = why
            return
        self._mod, why = _import(f"bitlayout.backends.{name}")
        if self._mod is None:
            self._why = why

    def unavailable(self) -> str:
        if self._why is None:
            try:
                if self.name == "exec":
                    self._backend = self._mod.ExecBackend(jobs=1, timeout=exec_timeout())
                else:
                    self._mod.host_info()  # builds/loads the cffi module once
                self._why = ""
            except (BitlayoutError, ImportError, OSError) as exc:
                # A missing compiler, cffi or cache directory is a skip reason; a
                # programming error (NameError, TypeError, ...) must not hide as a skip.
                self._why = f"{type(exc).__name__}: {exc}"
        return self._why

    def available(self, profile: Profile) -> tuple[bool, str]:
        if self.unavailable():
            return False, self._why
        if self.name == "exec":
            return self._backend.available(profile)
        # The host shim emulates any word width, but not another byte order.
        import sys

        if profile.little_endian != (sys.byteorder == "little"):
            return False, (f"the host is {sys.byteorder}-endian and {profile.name} is {profile.endianness}-endian "
                           "(use --backend exec)")
        return True, ""

    def observe(self, profile: Profile, requests: Sequence[dict[str, Any]]) -> list[Observation]:
        encoded = [self.probes.make_request(r["probe"], **r["args"]) for r in requests]
        if self.name == "exec":
            # exec takes encoded request lines (bitlayout.probes owns the wire format)
            outcome = self._backend.run_one(profile, [r.to_line() for r in encoded])
            if outcome.status != "ok":
                raise ObserveFailed(outcome.status, outcome.reason, dict(outcome.evidence))
            return list(outcome.observations)
        return list(self._mod.run_many(encoded))


class ObserveFailed(Exception):
    def __init__(self, status: str, reason: str, evidence: dict[str, Any]):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.evidence = evidence


def make_observers(backends: Sequence[str]) -> dict[str, Observer]:
    return {b: ProbeObserver(b) for b in backends if b in ("host", "exec")}


# ---------------------------------------------------------------------------


def parse_backends(text: str | Sequence[str] | None) -> tuple[list[str], bool]:
    """'model,host' / 'auto' -> (backend names, auto?)."""
    if text is None:
        return ["model"], False
    parts = [p.strip() for item in ([text] if isinstance(text, str) else text) for p in item.split(",") if p.strip()]
    if parts == ["auto"]:
        return list(BACKENDS), True
    for p in parts:
        if p not in BACKENDS:
            raise UsageError(f"unknown backend {p!r} (known: {', '.join(BACKENDS)}, auto)")
    return list(dict.fromkeys(parts)), False


def parse_checks(text: str | Sequence[str] | None) -> list[str]:
    if not text:
        return list(CHECKS)
    parts = [p.strip() for item in ([text] if isinstance(text, str) else text) for p in item.split(",") if p.strip()]
    for p in parts:
        if p not in CHECKS:
            raise UsageError(f"unknown check {p!r} (known: {', '.join(CHECKS)})")
    return [c for c in CHECKS if c in parts]


def _layout(spec: Spec, profile: Profile) -> tuple[Any, str, bool]:
    """(LayoutSet, '', False), or (None, why, skipped): skipped when the arch cannot be laid out
    here at all (a kernel tree not prepared for it), which makes skip rows instead of errors."""
    try:
        from .kernel.inputs import KernelSource, layout_for
    except ImportError as exc:
        return None, f"layout engine not available ({exc})", False
    try:
        kernel = KernelSource.open(spec.kernel) if spec.kernel else None
        return layout_for(spec.headers, profile, spec.include_dirs, spec.defines, kernel=kernel), "", False
    except KernelNotPrepared as exc:
        return None, str(exc), True
    except BitlayoutError as exc:
        return None, f"{type(exc).__name__}: {exc}", False


def _names_of(layout: Any) -> tuple[set[str], set[str]]:
    types = set(getattr(layout, "types", {}))
    names = set(getattr(layout, "enum_constants", {})) | set(getattr(layout, "macros", {}))
    return types, names


def run_arch(spec: Spec, profile: Profile, checks: Sequence[str], backends: Sequence[str],
             layout: Any = None, layout_error: str = "", layout_skipped: bool = False) -> list[MatrixRow]:
    """All rows for one arch (model first, then each observing backend)."""
    if layout is None and not layout_error:
        layout, layout_error, layout_skipped = _layout(spec, profile)
    plan = plan_arch(spec, profile, layout, layout_error, layout_skipped)
    observers = make_observers(backends)
    rows: list[MatrixRow] = []
    predictions: dict[str, Any] = {}
    model_rows: dict[str, MatrixRow] = {}
    for name in checks:
        check = ALL_CHECKS[name]
        row, predicted = model_row(check, plan)
        model_rows[name] = row
        predictions[name] = predicted
    if "model" in backends:
        rows.extend(model_rows[n] for n in checks)
    for backend in backends:
        if backend == "model":
            continue
        if backend == "compiled":
            rows.extend(_compiled_rows(plan, checks, predictions))
            continue
        rows.extend(_observed_rows(plan, checks, predictions, backend, observers[backend]))
    return rows


def _skip_all(plan: ArchPlan, checks: Sequence[str], backend: str, reason: str, status: str = "skip",
              evidence: dict[str, Any] | None = None) -> list[MatrixRow]:
    return [MatrixRow(plan.arch, c, backend, status, reason, evidence=evidence or {}) for c in checks]


def _ask_checks(checks: Sequence[str], predictions: dict[str, Any],
                ask: Callable[[Any, Any], list]) -> tuple[dict[str, list], dict[str, str]]:
    """check -> ``ask(check, prediction)`` (what it wants observed), and check -> skip reason for the
    checks without a prediction or whose ``ask`` raised Skip."""
    wanted: dict[str, list] = {}
    skipped: dict[str, str] = {}
    for name in checks:
        predicted = predictions[name]
        if isinstance(predicted, Exception):
            skipped[name] = f"no prediction to compare: {predicted}"
            continue
        try:
            wanted[name] = ask(ALL_CHECKS[name], predicted)
        except Skip as exc:
            skipped[name] = str(exc)
    return wanted, skipped


def _observed_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any], backend: str,
                   observer: Observer) -> list[MatrixRow]:
    why = observer.unavailable()
    if why:
        return _skip_all(plan, checks, backend, f"{backend} backend not available: {why}")
    ok, why = observer.available(plan.profile)
    if not ok:
        return _skip_all(plan, checks, backend, f"{backend} backend cannot run {plan.arch} here: {why}")
    # Collect every check's requests, run them in one batch, hand the answers back.
    wanted, skipped = _ask_checks(checks, predictions, lambda check, pred: check.requests(plan, pred, backend))
    for name, reqs in wanted.items():
        if not reqs:
            skipped[name] = f"{backend} backend has no probe for {name}" + (
                "" if ALL_CHECKS[name].model_verdict else " (see the model row)")
    flat = [(name, r) for name, reqs in wanted.items() for r in reqs]
    observations: list[Observation] = []
    if flat:
        try:
            observations = observer.observe(plan.profile, [r for _, r in flat])
        except ObserveFailed as exc:
            # A known blocker (profile toolchain.run_blocker: no emulator for it here) is a skip
            # like a missing tool; a crash, a bad exit or a failed build is an error.
            status = "skip" if exc.status == "skip" or plan.profile.toolchain.run_blocker else "error"
            failure = (status, f"{backend}: {exc.reason}", exc.evidence)
        except BitlayoutError as exc:
            failure = ("error", f"{backend}: {exc}", {})
        except Exception as exc:  # noqa: BLE001 - a backend bug is an error row, not a traceback
            failure = ("error", f"{backend} backend failed: {type(exc).__name__}: {exc}", {})
        else:
            failure = None
        if failure is not None:
            status, reason, ev = failure
            return [MatrixRow(plan.arch, n, backend, "skip", skipped[n]) if n in skipped
                    else MatrixRow(plan.arch, n, backend, status, reason, evidence=ev) for n in checks]
        if len(observations) != len(flat):
            return _skip_all(plan, checks, backend, f"{backend} answered {len(observations)} of {len(flat)} probes",
                             "error")
    by_check: dict[str, list[tuple[dict[str, Any], Observation]]] = {}
    for (name, req), obs in zip(flat, observations):
        by_check.setdefault(name, []).append((req, obs))
    rows = []
    for name in checks:
        if name in skipped:
            rows.append(MatrixRow(plan.arch, name, backend, "skip", skipped[name]))
            continue
        check = ALL_CHECKS[name]
        try:
            out = check.judge(plan, predictions[name], backend, by_check.get(name, []))
        except Skip as exc:
            out = CheckOutcome("skip", str(exc))
        except Exception as exc:  # noqa: BLE001 - an unexpected answer is an error row, not a traceback
            out = CheckOutcome("error", f"{backend} answer could not be judged: {type(exc).__name__}: {exc}")
        if by_check.get(name):
            ev = getattr(by_check[name][0][1], "evidence", {}) or {}
            out.evidence = {"backend": backend, **{k: v for k, v in ev.items() if not isinstance(v, (dict, list))},
                            **out.evidence}
        rows.append(outcome_row(check, plan, backend, out))
    return rows


def _compiled_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any]) -> list[MatrixRow]:
    """The compiled backend: one compile per arch of every type the checks ask about."""
    mod, why = _import("bitlayout.backends.compiled")
    if mod is None:
        return _skip_all(plan, checks, "compiled", f"compiled backend not available: {why}")
    if plan.layout_skipped:  # e.g. a kernel tree not prepared for this arch: nothing to compile with
        return _skip_all(plan, checks, "compiled", plan.layout_error)
    wanted, skipped = _ask_checks(checks, predictions, lambda check, pred: check.compiled_types(plan, pred))
    names = list(dict.fromkeys(t for ts in wanted.values() for t in ts))
    facts: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    if names:
        # the kernel route compiles with Kbuild's compiler, present wherever the arch was laid out
        comp = mod.find_compiler(plan.profile) if not plan.spec.kernel else None
        if comp is None and not plan.spec.kernel:  # a missing compiler is a skip with the install hint
            from .toolchains import missing_reason

            return [MatrixRow(plan.arch, n, "compiled", "skip", skipped.get(n) or f"compiled: {missing_reason(plan.profile)}")
                    for n in checks]
        t0 = time.perf_counter()
        try:
            from .kernel.inputs import KernelSource, compiled_for

            kernel = KernelSource.open(plan.spec.kernel) if plan.spec.kernel else None
            facts = compiled_for(plan.spec.headers, plan.profile, names, plan.spec.include_dirs, plan.spec.defines,
                                 kernel=kernel)["types"]
            evidence = {"backend": "compiled", "compiler": getattr(comp, "identity", ""),
                        "target": getattr(comp, "target", ""), "seconds": round(time.perf_counter() - t0, 3)}
            if kernel is not None:  # Kbuild's compiler and the prepared build whose flags it used
                from .kernel.kbuild import command_for

                kc = command_for(kernel.tree, plan.profile)
                evidence.update(compiler=kc.compiler_version, target=f"kbuild {kc.build}")
        except BitlayoutError as exc:
            return [MatrixRow(plan.arch, n, "compiled", "skip" if n in skipped else "error",
                              skipped.get(n) or f"compiled: {exc}") for n in checks]
        except Exception as exc:  # noqa: BLE001 - a backend bug is an error row
            return _skip_all(plan, checks, "compiled", f"compiled backend failed: {type(exc).__name__}: {exc}",
                             "error")
    rows = []
    for name in checks:
        if name in skipped:
            rows.append(MatrixRow(plan.arch, name, "compiled", "skip", skipped[name]))
            continue
        try:
            out = ALL_CHECKS[name].judge_compiled(plan, predictions[name], facts)
        except Skip as exc:
            out = CheckOutcome("skip", str(exc))
        out.evidence = {**evidence, **out.evidence}
        rows.append(outcome_row(ALL_CHECKS[name], plan, "compiled", out))
    return rows


@dataclass
class _ArchRun:
    """What one worker sends back for one arch (picklable: plain data and the LayoutSet)."""

    arch: str
    rows: list[MatrixRow]
    types: set[str]
    names: set[str]
    seconds: float
    layout_error: str
    layout: Any = None
    layout_skipped: bool = False
    # spec key -> reason it is unusable on this arch ('' = usable); see _spec_problems
    problems: dict[str, str] = field(default_factory=dict)


def _worker(args: tuple) -> _ArchRun:
    spec, profile, checks, backends, in_child = args
    t0 = time.perf_counter()
    layout, layout_error, skipped = _layout(spec, profile)
    types, names = _names_of(layout) if layout is not None else (set(), set())
    rows = run_arch(spec, profile, checks, backends, layout=layout, layout_error=layout_error, layout_skipped=skipped)
    problems = _spec_problems(spec, profile, layout) if layout is not None else {}
    if in_child and layout is not None:
        try:
            pickle.dumps(layout)
        except Exception:  # noqa: BLE001 - the report lays this arch out again instead
            layout = None
    return _ArchRun(profile.name, rows, types, names, time.perf_counter() - t0, layout_error, layout, skipped,
                    problems)


def _spec_problems(spec: Spec, profile: Profile, layout: Any) -> dict[str, str]:
    """Per spec key, why the spec's name is unusable on this arch ('' when it is usable).

    ``tagged_pointer[i].field``: the member is missing or not a pointer; ``bitmap[i].type(s)``:
    the type is declared but not bitmap-like (an integer, an array of integers or a struct
    wrapping one).  A type (or container) merely undeclared here is an arch difference, not listed.
    """
    out: dict[str, str] = {}
    for tp in spec.tagged_pointers:
        if tp.container not in layout.types:
            continue
        try:
            pointer_member(layout, tp.field)
            out[f"{tp.key}.field"] = ""
        except BitlayoutError as exc:
            out[f"{tp.key}.field"] = str(exc)
    for b in spec.bitmaps:
        key = f"{b.key}.type{'s' if len(b.types) > 1 else ''}"
        for tname in b.types:
            t = layout.types.get(tname)
            if t is None:
                continue
            try:
                geometry_of(t, profile, tname)
                reason = ""
            except BitlayoutError as exc:
                reason = str(exc)
            out[f"{key}:{tname}"] = reason
    return out


def _raise_unusable_everywhere(spec: Spec, runs: Sequence[_ArchRun]) -> None:
    """A spec name unusable on every arch that laid the headers out is bad input (exit 2)."""
    keys: dict[str, list[str]] = {}
    for run in runs:
        for key, reason in run.problems.items():
            keys.setdefault(key, []).append(reason)
    for key, reasons in keys.items():
        if all(reasons):
            raise SpecError(f"{reasons[0]} (on every selected arch)", path=spec.path, key=key.partition(":")[0])


def run_matrix(spec: Spec, arches: str | Iterable[str] | Sequence[Profile] | None = None,
               backends: str | Sequence[str] | None = ("model",), checks: str | Sequence[str] | None = None,
               jobs: int | None = None, progress: Progress | None = None) -> MatrixResult:
    """Run the matrix; return every row (the caller renders and picks the exit status)."""
    t0 = time.perf_counter()
    exec_timeout()  # a bad $BITLAYOUT_EXEC_TIMEOUT is bad input (exit 2), not a skip reason per arch
    stress_ms()  # likewise $BITLAYOUT_STRESS_MS
    if arches and not isinstance(arches, str) and all(isinstance(a, Profile) for a in arches):
        profiles = list(arches)
    else:
        profiles = spec.select_arches(arches)
    backend_list, auto = parse_backends(backends)
    check_list = parse_checks(checks)
    notes: dict[str, str] = {}
    if auto:
        kept = ["model"]
        for b in backend_list[1:]:
            why = _backend_unavailable(b)
            if why:
                notes[b] = f"skipped: {why}"
            else:
                kept.append(b)
        backend_list = kept
    jobs = max(1, jobs or os.cpu_count() or 1)
    work = [(spec, p, check_list, backend_list, False) for p in profiles]
    runs: dict[str, _ArchRun] = {}

    def collect(run: _ArchRun) -> None:
        runs[run.arch] = run
        if progress:
            progress(len(runs), len(work), run.arch)

    if jobs == 1 or len(work) == 1:
        for w in work:
            collect(_worker(w))
    else:
        # The first arch runs here: it fills the per-process caches (toolchain discovery, compiler
        # identities) that the forked workers then inherit instead of each rediscovering them.
        collect(_worker(work[0]))
        with ProcessPoolExecutor(max_workers=min(jobs, len(work) - 1), mp_context=_mp_context()) as pool:
            futures = [pool.submit(_worker, (*w[:-1], True)) for w in work[1:]]
            for fut in as_completed(futures):
                collect(fut.result())
    layout_errors = {name: run.layout_error for name, run in runs.items()}
    all_types = set().union(*(run.types for run in runs.values()))
    all_names = set().union(*(run.names for run in runs.values()))
    if layout_errors and all(layout_errors.values()):
        # Headers that no arch can lay out are bad input (exit 2), not a finding per arch; so is a
        # kernel tree prepared for none of the selected arches.
        failed = [run.layout_error for run in runs.values() if not run.layout_skipped]
        if not failed:
            raise KernelNotPrepared(f"no selected arch can be laid out here: {next(iter(layout_errors.values()))}")
        if not failed[0].startswith("layout engine not available"):
            raise SpecError(f"cannot lay out the headers on any selected arch: {failed[0]}", path=spec.path,
                            key="headers")
    if all_types:
        # A name no selected arch defines is a typo in the spec (exit 2), not a finding.
        check_names(spec, all_types, all_names)
        _raise_unusable_everywhere(spec, [runs[p.name] for p in profiles])
    rows = [r for p in profiles for r in runs[p.name].rows]
    for b in backend_list:
        if b not in notes:
            ran = {r.arch for r in rows if r.backend == b and r.status in ("pass", "fail")}
            errored = any(r.backend == b and r.status == "error" for r in rows)
            if ran:
                notes[b] = f"ran on {len(ran)}/{len(profiles)} arches"
            elif errored:
                notes[b] = "failed on every arch: " + _first_reason(rows, b, "error")
            else:
                notes[b] = "skipped: " + _first_reason(rows, b)
    timings = {p.name: round(runs[p.name].seconds, 3) for p in profiles}
    return MatrixResult(spec.path, [p.name for p in profiles], check_list, backend_list, notes, rows,
                        round(time.perf_counter() - t0, 3), {"arch_seconds": timings, "jobs": jobs},
                        layouts={p.name: runs[p.name].layout for p in profiles},
                        layout_errors={p.name: runs[p.name].layout_error for p in profiles})


def _first_reason(rows: Sequence[MatrixRow], backend: str, status: str | None = None) -> str:
    for r in rows:
        if r.backend == backend and status in (None, r.status):
            return r.detail
    return "no rows"


def _backend_unavailable(backend: str) -> str:
    if backend == "compiled":
        mod, why = _import("bitlayout.backends.compiled")
        return why
    obs = ProbeObserver(backend)
    return obs.unavailable()


def _mp_context():
    import multiprocessing

    # fork keeps the parent's loaded profiles and imported modules; spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
