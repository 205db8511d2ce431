"""The run options: parsed once at the edge (the CLI, the pytest plugin), passed down as one object.

The library never reads these from the environment itself: ``Options()`` is
the defaults, ``Options.from_environ()`` is what the CLI and the plugin call
(README, "Knobs"), with command-line values on top.  Every bad value is a
``UsageError`` naming the variable or option and the value (exit status 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from .errors import UsageError
from .probes import MAX_STRESS_MS, MAX_U32

STRESS_MS = 60  # default per stress probe (docs/spec.md): a 32-bit tear shows within milliseconds; cheap in CI
# Operation cap per stress probe and thread at the default budget.  Where the model predicts a race
# it shows within a few thousand operations (torn reads after ~1,000 reads under qemu); the cap
# bounds the runs that find nothing, which the host and fast emulated arches reach well inside the
# time budget.  200,000 (was 400,000) brings the warm default matrix from 6.0-6.7 s to 4.4-4.9 s
# on 2 cores (benchmarks/bench_matrix.py); --stress-ms scales it for a longer soak.
STRESS_MAX = 200000
EXEC_TIMEOUT = 60.0  # seconds per exec driver run
# A day: longer than any emulator run needs, and far below what the OS wait calls accept (an
# unbounded value such as 1e9 overflows them).
MAX_EXEC_TIMEOUT = 86400.0

STRESS_MS_ENV = "BITLAYOUT_STRESS_MS"
EXEC_TIMEOUT_ENV = "BITLAYOUT_EXEC_TIMEOUT"


@dataclass(frozen=True)
class Options:
    stress_ms: int = STRESS_MS  # time budget per stress probe (tear, lost-update)
    exec_timeout: float = EXEC_TIMEOUT  # seconds per exec driver run
    jobs: int | None = None  # parallel arches (None: one per core)

    def __post_init__(self) -> None:
        _check_stress_ms(self.stress_ms, "stress_ms")
        _check_timeout(self.exec_timeout, "exec_timeout")
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"-j must be at least 1, got {self.jobs}")

    @property
    def stress_max(self) -> int:
        """Operation cap per stress probe, scaled with the time budget so a longer run is not
        cut short by the count (each probe is bounded in time and in count)."""
        return min(MAX_U32, STRESS_MAX * max(1, self.stress_ms // STRESS_MS))

    @property
    def workers(self) -> int:
        """How many arches run at once."""
        return max(1, self.jobs or os.cpu_count() or 1)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, *, stress_ms: int | None = None,
                     jobs: int | None = None) -> Options:
        """The options of a run: ``$BITLAYOUT_STRESS_MS`` and ``$BITLAYOUT_EXEC_TIMEOUT`` (README,
        "Knobs"), with the command line's ``--stress-ms`` and ``-j`` on top."""
        env = os.environ if environ is None else environ
        if stress_ms is not None:
            _check_stress_ms(stress_ms, "--stress-ms")
        else:
            stress_ms = _env_stress_ms(env.get(STRESS_MS_ENV, ""))
        return cls(stress_ms=stress_ms, exec_timeout=_env_timeout(env.get(EXEC_TIMEOUT_ENV, "")), jobs=jobs)


def _check_stress_ms(value: int, name: str, raw: object = None) -> None:
    if not isinstance(value, int) or not 1 <= value <= MAX_STRESS_MS:
        raise UsageError(f"{name} must be a whole number of milliseconds in 1..{MAX_STRESS_MS}, "
                         f"got {value if raw is None else raw!r}")


def _check_timeout(value: float, name: str, raw: object = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_EXEC_TIMEOUT:
        raise UsageError(f"{name} must be a number of seconds above 0 and at most {MAX_EXEC_TIMEOUT:g}, "
                         f"got {value if raw is None else raw!r}")


def _env_stress_ms(raw: str) -> int:
    return _env_value(raw, int, STRESS_MS, lambda v: _check_stress_ms(v, STRESS_MS_ENV, raw.strip()))


def _env_timeout(raw: str) -> float:
    """A tiny value makes every exec run time out: the way to see the timeout path (error rows
    naming the timeout, never a crash) without a hanging emulator."""
    return _env_value(raw, float, EXEC_TIMEOUT, lambda v: _check_timeout(v, EXEC_TIMEOUT_ENV, raw.strip()))


def _env_value(raw: str, kind: type, default, check):
    """An environment variable's number: ``default`` when unset or blank, else ``check`` it
    (a value that is not a number at all is checked as an impossible one)."""
    raw = raw.strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = kind(0) if kind is int else float("nan")
    check(value)
    return value
