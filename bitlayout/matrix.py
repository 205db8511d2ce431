"""Run a spec's checks over arch x check x backend; the library behind ``bitlayout matrix``.

``run_matrix(spec, arches, backends, checks, options, progress=None) -> MatrixResult``

For each selected arch (in parallel, one worker per arch):

1. ``pipeline.plan_for`` lays the spec's headers out for that arch and derives
   the bitmap geometries and flags; each check predicts (the ``model``
   backend's rows come from here);
2. every observing backend gets all the probes (or type names) of all checks
   in one batch (one emulator run per arch for ``exec``) and each check judges
   its answers.  How a backend is asked depends only on what it observes
   (``backends.Observes``), never on its name.

Every arch x check x backend asked for gets exactly one row; a backend that
cannot run (tool missing, arch incompatible) yields skip rows whose detail
says why and how to get it — nothing is dropped silently.  The plans come
back with the rows (``MatrixResult.plans``) for the report to reuse.
Rendering lives in ``commands/matrix.py`` and ``bitlayout.report``.
"""

from __future__ import annotations

import os
import pickle
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .backends import (LayoutObserver, ObserveFailed, Observer, Observes, ProbeObserver, backend_names,
                       observe_distinct, open_backends)
from .bitmap_types import geometry_of
from .checks import (ALL_CHECKS, CHECKS, ArchPlan, CheckOutcome, LayoutFailure, ModelContext, Skip, model_row,
                     outcome_row, pointer_member)
from .checks.workaround import workaround_rows
from .errors import EXIT_CHECK_FAILED, EXIT_OK, BitlayoutError, KernelNotPrepared, SpecError, UsageError
from .expressions import ExprEvalError, UnknownMember
from .options import Options
from .pipeline import plan_for
from .profiles import Profile
from .results import (FAILED, MATRIX_SCHEMA, RAN, STATUS_RANK, Backend, Evidence, MatrixRow, Observation, Status,
                      worst_status)
from .spec import Spec, check_names
from .workers import fork_context

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
    evidence: dict[str, Any] = field(default_factory=dict)  # per-arch seconds and jobs of the run
    # Each arch's plan (its LayoutSet, geometries and flags), for the report to reuse instead of
    # laying the headers out again; None when a worker could not send it back.  Not in the JSON.
    plans: dict[str, ArchPlan | None] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Exactly the ``bitlayout.matrix/1`` contract (docs/internals.md)."""
        return {"schema": MATRIX_SCHEMA, "results": [r.to_json() for r in self.rows]}

    @property
    def exit_code(self) -> int:
        return EXIT_CHECK_FAILED if any(r.status in FAILED for r in self.rows) else EXIT_OK

    def cell(self, arch: str, check: str) -> Status:
        """The worst status over backends for one arch x check (the grid's cell)."""
        return worst_status(r.status for r in self.rows if r.arch == arch and r.check == check) or Status.SKIP

    def counts(self) -> dict[str, dict[Status, int]]:
        """check -> status -> number of rows."""
        out: dict[str, dict[Status, int]] = {c: {s: 0 for s in STATUS_RANK} for c in self.checks}
        for r in self.rows:
            out[r.check][r.status] += 1
        return out


def _split(text: str | Sequence[str]) -> list[str]:
    return [p.strip() for item in ([text] if isinstance(text, str) else text) for p in item.split(",") if p.strip()]


def parse_backends(text: str | Sequence[str] | None) -> tuple[list[str], bool]:
    """'model,host' / 'auto' -> (backend names, auto?)."""
    if text is None:
        return [Backend.MODEL], False
    known = backend_names()
    parts = _split(text)
    if parts == ["auto"]:
        return known, True
    for p in parts:
        if p not in known:
            raise UsageError(f"unknown backend {p!r} (known: {', '.join(known)}, auto)")
    return list(dict.fromkeys(parts)), False


def parse_checks(text: str | Sequence[str] | None) -> list[str]:
    if not text:
        return list(CHECKS)
    parts = _split(text)
    for p in parts:
        if p not in CHECKS:
            raise UsageError(f"unknown check {p!r} (known: {', '.join(CHECKS)})")
    return [c for c in CHECKS if c in parts]


# ---------------------------------------------------------------------------
# One arch: the model's rows, then each backend's, built from what it observes.


def run_arch(plan: ArchPlan, checks: Sequence[str], backends: Sequence[Observer]) -> list[MatrixRow]:
    """All rows for one arch, backend by backend (the model's are the predictions).

    A backend that observes through one of the arch's compilers is judged against the model's
    plan for that compiler (``Observer.compiler_abi``, ``ArchPlan.for_compiler``): where GCC and
    clang lay a type out differently, each is compared with its own prediction.
    """
    predictions: dict[int, dict[str, Any]] = {}
    model_rows: dict[str, MatrixRow] = {}

    def predicted(view: ArchPlan) -> dict[str, Any]:
        if id(view) not in predictions:
            predictions[id(view)] = {name: model_row(ALL_CHECKS[name], view)[1] for name in checks}
        return predictions[id(view)]

    for name in checks:
        model_rows[name], _ = model_row(ALL_CHECKS[name], plan)
    rows: list[MatrixRow] = []
    for backend in backends:
        why = backend.unavailable()
        if backend.observes is Observes.NOTHING:
            rows.extend(model_rows[n] for n in checks)
            continue
        if why:
            rows.extend(_skip_all(plan, checks, backend.name, f"{backend.name} backend not available: {why}"))
            continue
        view = plan.for_compiler(backend.compiler_abi(plan.profile))
        if isinstance(backend, ProbeObserver):
            rows.extend(_probe_rows(view, checks, predicted(view), backend))
        elif isinstance(backend, LayoutObserver):
            rows.extend(_layout_rows(view, checks, predicted(view), backend))
        else:
            raise TypeError(f"backend {backend.name!r} observes {backend.observes}: no ProbeObserver or LayoutObserver")
    return rows


def _skip_all(plan: ArchPlan, checks: Sequence[str], backend: str, reason: str, status: Status = Status.SKIP,
              evidence: Evidence | None = None) -> list[MatrixRow]:
    return [MatrixRow(plan.arch, c, backend, status, reason, evidence=evidence or Evidence()) for c in checks]


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


def _probe_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any],
                backend: ProbeObserver) -> list[MatrixRow]:
    name = backend.name
    # The arch's own profile picks the compiler and runs the binary; ``plan`` (maybe the other
    # compiler's view) only predicts.
    profile = plan.reference.profile
    ok, why = backend.available(profile)
    if not ok:
        return _skip_all(plan, checks, name, f"{name} backend cannot run {plan.arch} here: {why}")
    # Collect every check's requests, run them in one batch, hand the answers back.
    wanted, skipped = _ask_checks(checks, predictions, lambda check, pred: check.requests(plan, pred, backend))
    for check, reqs in wanted.items():
        if not reqs:
            skipped[check] = f"{name} backend has no probe for {check}" + (
                "" if ALL_CHECKS[check].model_verdict else " (see the model row)")
    flat = [(check, r) for check, reqs in wanted.items() for r in reqs]
    observations: list[Observation] = []
    if flat:
        try:
            observations = observe_distinct(backend, profile, [r for _, r in flat])
        except ObserveFailed as exc:
            # A known blocker (profile toolchain.run_blocker: no emulator for it here) is a skip
            # like a missing tool; a crash, a bad exit or a failed build is an error.
            status = Status.SKIP if exc.status == Status.SKIP or profile.toolchain.run_blocker else Status.ERROR
            failure = (status, f"{name}: {exc.reason}", exc.evidence)
        except BitlayoutError as exc:
            failure = (Status.ERROR, f"{name}: {exc}", Evidence())
        except Exception as exc:  # noqa: BLE001 - a backend bug is an error row, not a traceback
            failure = (Status.ERROR, f"{name} backend failed: {type(exc).__name__}: {exc}", Evidence())
        else:
            failure = None
        if failure is not None:
            status, reason, ev = failure
            return [MatrixRow(plan.arch, c, name, Status.SKIP, skipped[c]) if c in skipped
                    else MatrixRow(plan.arch, c, name, status, reason, evidence=ev) for c in checks]
    by_check: dict[str, list[tuple[dict[str, Any], Observation]]] = {}
    for (check, req), obs in zip(flat, observations):
        by_check.setdefault(check, []).append((req, obs))

    def seen(check: str) -> Evidence:
        answers = by_check.get(check)
        return Evidence(backend=name).merged(answers[0][1].evidence.scalars()) if answers else Evidence()

    def judge(check: str) -> CheckOutcome:
        return ALL_CHECKS[check].judge(plan, predictions[check], backend, by_check.get(check, []))

    rows = _judged_rows(plan, checks, skipped, backend, seen, judge)
    # A profile's [toolchain.workaround] build observes its checks once more, in rows of their own.
    rows.extend(workaround_rows(plan, [c for c in checks if c not in skipped], predictions, backend))
    return rows


def _layout_rows(plan: ArchPlan, checks: Sequence[str], predictions: dict[str, Any],
                 backend: LayoutObserver) -> list[MatrixRow]:
    """One observation per arch of every type the checks ask about (one compile for ``compiled``)."""
    name = backend.name
    wanted, skipped = _ask_checks(checks, predictions, lambda check, pred: check.layout_types(plan, pred, backend))
    type_names = list(dict.fromkeys(t for ts in wanted.values() for t in ts))
    facts: dict[str, Any] = {}
    evidence = Evidence()
    if type_names:
        ok, why = backend.available(plan.reference.profile)
        if not ok:  # a missing compiler is a skip with the install hint, not an error
            return [MatrixRow(plan.arch, c, name, Status.SKIP, skipped.get(c) or f"{name}: {why}") for c in checks]
        try:
            facts, evidence = backend.observe_layout(plan, type_names)
        except BitlayoutError as exc:  # skips_arch: a kernel tree not prepared for this arch
            return [MatrixRow(plan.arch, c, name, Status.SKIP if c in skipped or exc.skips_arch else Status.ERROR,
                              skipped.get(c) or f"{name}: {exc}") for c in checks]
        except Exception as exc:  # noqa: BLE001 - a backend bug is an error row
            return _skip_all(plan, checks, name, f"{name} backend failed: {type(exc).__name__}: {exc}",
                             Status.ERROR)
    return _judged_rows(plan, checks, skipped, backend, lambda check: evidence,
                        lambda check: ALL_CHECKS[check].judge_layout(plan, predictions[check], backend, facts))


def _judged_rows(plan: ArchPlan, checks: Sequence[str], skipped: dict[str, str], backend: Observer,
                 evidence_of: Callable[[str], Evidence], judge: Callable[[str], CheckOutcome]) -> list[MatrixRow]:
    """One row per check: its skip reason, or its judgement of the backend's answers with the
    evidence of how they were seen."""
    rows = []
    for name in checks:
        if name in skipped:
            rows.append(MatrixRow(plan.arch, name, backend.name, Status.SKIP, skipped[name]))
            continue
        try:
            out = judge(name)
        except Skip as exc:
            out = CheckOutcome(Status.SKIP, str(exc))
        except Exception as exc:  # noqa: BLE001 - an unexpected answer is an error row, not a traceback
            out = CheckOutcome(Status.ERROR, f"{backend.name} answer could not be judged: {type(exc).__name__}: {exc}")
        out.evidence = evidence_of(name).merged(out.evidence)
        rows.append(outcome_row(ALL_CHECKS[name], plan, backend, out))
    return rows


# ---------------------------------------------------------------------------
# Workers: one arch each; the plan comes back with the rows.


@dataclass
class _ArchRun:
    """What one worker sends back for one arch (picklable: plain data and the plan)."""

    arch: str
    rows: list[MatrixRow]
    types: set[str]
    names: set[str]
    seconds: float
    layout_error: LayoutFailure | None
    plan: ArchPlan | None = None
    # spec key -> reason it is unusable on this arch ('' = usable); see _spec_problems
    problems: dict[str, str] = field(default_factory=dict)


def _worker(args: tuple) -> _ArchRun:
    spec, profile, checks, backends, options, in_child = args
    t0 = time.perf_counter()
    plan = plan_for(spec, profile, alternate=_needs_other_compiler(checks, backends))
    layout = plan.layout
    types = set(layout.all_type_names()) if layout is not None else set()
    names = set(layout.enum_constants) | set(layout.macros) if layout is not None else set()
    rows = run_arch(plan, checks, open_backends(backends, options))
    problems = _spec_problems(plan) if layout is not None else {}
    sent: ArchPlan | None = plan
    if in_child:
        try:
            pickle.dumps(plan)
        except Exception:  # noqa: BLE001 - the report plans this arch again instead
            sent = None
    return _ArchRun(profile.name, rows, types, names, time.perf_counter() - t0, plan.layout_error, sent, problems)


def _needs_other_compiler(checks: Sequence[str], backends: Sequence[str]) -> bool:
    """Whether the run plans the spec for the arch's second compiler too: the divergence check
    compares both plans; a backend observing through another compiler is judged by its plan."""
    from .backends import backend_class

    return "divergence" in checks or any(backend_class(b).rank for b in backends)


def _spec_problems(plan: ArchPlan) -> dict[str, str]:
    """Per spec key, why the spec's name is unusable on this arch ('' when it is usable).

    ``tagged_pointer[i].field``: the member is missing or not a pointer; ``bitmap[i].type(s)``:
    the type is declared but not bitmap-like (an integer, an array of integers or a struct
    wrapping one); ``expect[i].that``: an ``offsetof`` member or a ``tag_bits`` field that the
    declared type lacks.  A type (or container) merely undeclared here is an arch difference, not listed.
    """
    spec, layout = plan.spec, plan.layout
    out: dict[str, str] = {}
    for tp in spec.tagged_pointers:
        if layout.find(tp.container) is None:
            continue
        try:
            pointer_member(layout, tp.field)
            out[f"{tp.key}.field"] = ""
        except BitlayoutError as exc:
            out[f"{tp.key}.field"] = str(exc)
    for b in spec.bitmaps:
        key = f"{b.key}.type{'s' if len(b.types) > 1 else ''}"
        for tname in b.types:
            t = layout.find(tname)
            if t is None:
                continue
            try:
                geometry_of(t, plan.profile, tname)
                reason = ""
            except BitlayoutError as exc:
                reason = str(exc)
            out[f"{key}:{tname}"] = reason
    ctx = ModelContext(plan)
    for e in spec.expects:
        for term in e.that.terms:
            if term.func not in ("offsetof", "tag_bits"):
                continue
            where = f"{e.key}.that:{term.label}"
            (_, first), (_, second) = term.args
            try:
                if term.func == "offsetof" and layout.has_type(first):
                    ctx.member_offset_bits(first, second)
                elif term.func == "tag_bits" and first.rpartition(".")[0] in layout.types:
                    pointer_member(layout, first)
                else:
                    continue  # the type is not declared here: an arch difference, not a typo
                out[where] = ""
            except (UnknownMember, BitlayoutError) as exc:
                out[where] = f"{exc} in {e.that.text!r}"
            except ExprEvalError:
                continue  # the type itself cannot be laid out here: an error row says so
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
               backends: str | Sequence[str] | None = (Backend.MODEL,), checks: str | Sequence[str] | None = None,
               options: Options | None = None, progress: Progress | None = None) -> MatrixResult:
    """Run the matrix; return every row (the caller renders and picks the exit status)."""
    t0 = time.perf_counter()
    options = options or Options()
    if arches and not isinstance(arches, str) and all(isinstance(a, Profile) for a in arches):
        profiles = list(arches)
    else:
        profiles = spec.select_arches(arches)
    backend_list, auto = parse_backends(backends)
    check_list = parse_checks(checks)
    notes: dict[str, str] = {}
    if auto:
        kept = []
        for backend in open_backends(backend_list, options):
            why = backend.unavailable()
            if why:
                notes[backend.name] = f"skipped: {why}"
            else:
                kept.append(backend.name)
        backend_list = kept
    jobs = options.workers
    work = [(spec, p, check_list, backend_list, options, False) for p in profiles]
    runs: dict[str, _ArchRun] = {}

    def collect(run: _ArchRun) -> None:
        runs[run.arch] = run
        if progress:
            progress(len(runs), len(work), run.arch)

    if jobs == 1 or len(work) == 1:
        for w in work:
            collect(_worker(w))
    else:
        # Toolchain discovery happens here first: the forked workers inherit its per-process
        # caches (compilers, identities, emulators) instead of each finding them again.  (Running
        # a whole arch here instead left a core idle through that arch's first builds on a cold
        # machine: 15-20 s of a first report.)
        _discover_toolchains(profiles, backend_list, options)
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=fork_context(),
                                 initializer=_worker_init) as pool:
            try:
                futures = [pool.submit(_worker, (*w[:-1], True)) for w in work]
                for fut in as_completed(futures):
                    collect(fut.result())
            except BaseException:
                _stop_workers(pool)
                raise
    failures = [run.layout_error for run in runs.values()]
    all_types = set().union(*(run.types for run in runs.values()))
    all_names = set().union(*(run.names for run in runs.values()))
    if failures and all(failures):
        # Headers that no arch can lay out are bad input (exit 2), not a finding per arch; so is a
        # kernel tree prepared for none of the selected arches.
        failed = [f for f in failures if not f.skip]
        if not failed:
            raise KernelNotPrepared(f"no selected arch can be laid out here: {failures[0].message}")
        raise SpecError(f"cannot lay out the headers on any selected arch: {failed[0]}", path=spec.path,
                        key="headers")
    if all_types:
        # A name no selected arch defines is a typo in the spec (exit 2), not a finding.
        check_names(spec, all_types, all_names)
        _raise_unusable_everywhere(spec, [runs[p.name] for p in profiles])
    rows = [r for p in profiles for r in runs[p.name].rows]
    for b in backend_list:
        if b not in notes:
            ran = {r.arch for r in rows if r.backend == b and r.status in RAN}
            errored = any(r.backend == b and r.status == Status.ERROR for r in rows)
            if ran:
                notes[b] = f"ran on {len(ran)}/{len(profiles)} arches"
            elif errored:
                notes[b] = "failed on every arch: " + _first_reason(rows, b, Status.ERROR)
            else:
                notes[b] = "skipped: " + _first_reason(rows, b)
    timings = {p.name: round(runs[p.name].seconds, 3) for p in profiles}
    return MatrixResult(spec.path, [p.name for p in profiles], check_list, backend_list, notes, rows,
                        round(time.perf_counter() - t0, 3), {"arch_seconds": timings, "jobs": jobs},
                        plans={p.name: runs[p.name].plan for p in profiles})


def _first_reason(rows: Sequence[MatrixRow], backend: str, status: Status | None = None) -> str:
    for r in rows:
        if r.backend == backend and status in (None, r.status):
            return r.detail
    return "no rows"


def _discover_toolchains(profiles: Sequence[Profile], backends: Sequence[str], options: Options) -> None:
    """Ask every backend whether it can observe every profile: this finds the arches' compilers
    and emulators once, in this process (``functools.cache`` and the on-disk version cache)."""
    for backend in open_backends(backends, options):
        if backend.unavailable():
            continue
        for profile in profiles:
            backend.available(profile)
            backend.compiler_abi(profile)


def _worker_init() -> None:
    """In each worker process: on SIGTERM (the parent stopping it, or dying: PR_SET_PDEATHSIG)
    kill the guests it runs and exit, so no emulator outlives bitlayout; Ctrl-C is the
    parent's to handle (the terminal sends it to the workers too)."""
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGINT, _stop_worker)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


def _stop_worker(signum: int, frame) -> None:
    from .toolchains import stop_guests

    stop_guests()
    os._exit(128 + signum)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """The run is interrupted: no new arch starts, and every worker (with its guests) stops now."""
    import multiprocessing

    pool.shutdown(wait=False, cancel_futures=True)
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(5)
