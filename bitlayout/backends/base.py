"""What a backend is, and the registry every backend module adds itself to.

A backend is one class: its ``name``, what it ``observes`` and whether its
observations come from the arch's own toolchain (``on_arch``), plus the
methods of its kind.  The module that defines it registers it with
``@register``; ``bitlayout.backends`` imports every module of the package,
so a new backend is one new module (``docs/internals.md``, "Adding a
backend").  The matrix builds each kind's rows generically from these
methods; the checks and the report read ``on_arch`` and ``observes``, never
a backend's name.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from ..errors import BitlayoutError
from ..options import Options
from ..profiles import Profile
from ..results import Evidence, Observation

if TYPE_CHECKING:
    from ..checks.plan import ArchPlan


class Observes(StrEnum):
    """What a backend observes, which decides the Check methods that talk to it."""

    # The model: its rows are the predictions themselves (Check.predict / model_outcome).
    NOTHING = "nothing"
    # Behaviour: answers ``bitlayout.probes`` requests (Check.requests -> observe -> Check.judge).
    PROBES = "probes"
    # Layout facts of C types from a compiler (Check.layout_types -> observe_layout -> Check.judge_layout).
    LAYOUT = "layout"


class ObserveFailed(Exception):
    """A backend could not answer (a build failed, the driver crashed): status and reason for its rows."""

    def __init__(self, status: str, reason: str, evidence: Mapping[str, Any] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.evidence = Evidence.of(evidence)


class Observer:
    """One backend, opened for one run with the run's options."""

    name: ClassVar[str] = ""
    observes: ClassVar[Observes] = Observes.NOTHING
    # True: what it observes comes from the arch's own toolchain (its compiler, its CPU), so it
    # verifies the arch, and a profile's known toolchain defects can explain its disagreements.
    # False: it runs on this machine (the host shim emulates the arch's word geometry).
    on_arch: ClassVar[bool] = False
    # Place among the backends: ``--backend auto`` order, and so the order of a run's rows.
    order: ClassVar[int] = 100
    # Which of the arch's installed compilers it observes through (``toolchains.find_compilers``
    # order): 0 the preferred one (the profile's [layout] compiler when installed), 1 the other
    # one (the ``-alternate`` backends: both halves of a GCC/clang divergence).  Ignored by
    # backends that do not use the arch's compiler.
    rank: ClassVar[int] = 0

    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self._why: str | None = None

    def start(self) -> None:
        """Open what the backend needs once per run (a cffi module, a build cache); raise a
        BitlayoutError, ImportError or OSError when it cannot run here at all."""

    def unavailable(self) -> str:
        """'' if the backend can run at all here, else the reason (and the install hint)."""
        if self._why is None:
            try:
                self.start()
                self._why = ""
            except (BitlayoutError, ImportError, OSError) as exc:
                # A missing compiler, cffi or cache directory is a skip reason; a
                # programming error (NameError, TypeError, ...) must not hide as a skip.
                self._why = f"{type(exc).__name__}: {exc}"
        return self._why

    def available(self, profile: Profile) -> tuple[bool, str]:
        """Whether it can observe ``profile`` here (after ``unavailable()`` said it runs at all)."""
        return True, ""

    def compiler_abi(self, profile: Profile) -> str | None:
        """The compiler family ("gcc"/"clang") whose output it observes on ``profile``, or None
        (the model, the host): the matrix judges it against the model's plan for that compiler
        (``ArchPlan.for_compiler``)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class ProbeObserver(Observer):
    """A backend that answers ``bitlayout.probes`` requests with Observations."""

    observes = Observes.PROBES

    def observe(self, profile: Profile, requests: Sequence[Mapping[str, Any]]) -> list[Observation]:
        """Check-style requests (``checks.probe(...)`` dicts) -> one Observation each, in order;
        ObserveFailed when the backend could not answer."""
        raise NotImplementedError


class LayoutObserver(Observer):
    """A backend that reports the layout (size, alignment, members) of named C types."""

    observes = Observes.LAYOUT

    def observe_layout(self, plan: ArchPlan, type_names: Sequence[str]) -> tuple[dict[str, Any], Evidence]:
        """``{type name: {"size", "align", "members"}}`` (the ``bitlayout.layout/1`` form) for the
        spec's headers on the plan's arch, and how it was seen."""
        raise NotImplementedError


def observe_distinct(backend: ProbeObserver, profile: Profile,
                     requests: Sequence[Mapping[str, Any]]) -> list[Observation]:
    """``backend.observe`` with each distinct request sent once, one Observation per request.

    Requests equal in probe and arguments (on a 64-bit arch, the tear probe of ``vm_flags_t``
    and of ``u64`` is the same 64-bit load) are one run of the driver: the requests share that
    Observation object, so a judge that sums the work done counts the run once
    (``checks.concurrency``).  ObserveFailed when the backend answers a different number.
    """
    first: dict[str, int] = {}
    slots = [first.setdefault(json.dumps([r["probe"], r["args"]], sort_keys=True, default=str), len(first))
             for r in requests]
    distinct = [requests[slots.index(n)] for n in range(len(first))]
    answers = backend.observe(profile, distinct)
    if len(answers) != len(distinct):
        raise ObserveFailed("error", f"answered {len(answers)} of {len(distinct)} distinct probes")
    return [answers[n] for n in slots]


def encode_requests(requests: Sequence[Mapping[str, Any]]) -> list:
    """Check-style requests -> validated ``probes.ProbeRequest`` objects (ShimError names a bad value)."""
    from ..probes import make_request

    return [make_request(r["probe"], **r["args"]) for r in requests]


# ---------------------------------------------------------------------------
# The registry

_REGISTRY: dict[str, type[Observer]] = {}
_LOADED = False


def register(cls: type[Observer]) -> type[Observer]:
    """Class decorator: make ``cls`` a backend under ``cls.name`` (a name registered again is replaced)."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no backend name")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load() -> None:
    """Import every module of ``bitlayout.backends`` once: each registers the backends it defines."""
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil

    from .. import backends

    for info in pkgutil.iter_modules(backends.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{backends.__name__}.{info.name}")
    _LOADED = True


def registered() -> dict[str, type[Observer]]:
    """name -> backend class, in ``order``."""
    _load()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def backend_names() -> list[str]:
    return list(registered())


def backend_class(name: str) -> type[Observer] | None:
    return registered().get(name)


def open_backends(names: Sequence[str], options: Options | None = None) -> list[Observer]:
    """One opened backend per name (in the order given)."""
    known = registered()
    return [known[n](options) for n in names]
