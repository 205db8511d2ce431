"""Progress of long runs on stderr: a live bar on a terminal, one plain line per step otherwise.

``ArchProgress(verb)`` is the ``progress(done, total, label)`` callback ``matrix.run_matrix``
calls after each arch; on a terminal it draws one line that a timer redraws every second
(bar, arches done, the last ones finished, elapsed time, ETA) and ``close()`` clears it.
``notice(text)`` prints one line about a slow step now under way (a first build of a
cross-compiled driver), above the bar, from any process of the run (matrix workers are
forked and share stderr).  ``ArchProgress(verb, quiet=True)`` (``-q``) silences both until
its ``close()``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_quiet = False
_LOCK = threading.Lock()
BAR_CELLS = 24


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def notice(text: str, stream: TextIO | None = None) -> None:
    """One line on stderr (``bitlayout: TEXT``); on a terminal it clears the bar's line first
    (the bar is drawn again at its next tick)."""
    if _quiet:
        return
    stream = stream or sys.stderr
    clear = "\r\x1b[K" if stream.isatty() else ""
    with _LOCK:
        stream.write(f"{clear}bitlayout: {text}\n")
        stream.flush()


def eta_seconds(elapsed: float, done: int, total: int) -> float | None:
    """Time left if the remaining steps take as long as the finished ones on average."""
    return elapsed / done * (total - done) if done else None


def bar_line(verb: str, done: int, total: int, recent: list[str], elapsed: float) -> str:
    """The terminal line: ``matrix [#####-----] 12/26 mips, ppc  31s, ETA 36s``."""
    filled = BAR_CELLS * done // total if total else BAR_CELLS
    eta = eta_seconds(elapsed, done, total)
    eta_text = f", ETA {eta:.0f}s" if eta is not None and done < total else ""
    names = ", ".join(recent[-3:]) if recent else "starting"
    return f"{verb} [{'#' * filled}{'-' * (BAR_CELLS - filled)}] {done}/{total} {names}  {elapsed:.0f}s{eta_text}"


def plain_line(verb: str, done: int, total: int, label: str, elapsed: float) -> str:
    eta = eta_seconds(elapsed, done, total)
    eta_text = f", ETA {eta:.0f}s" if eta is not None and done < total else ""
    return f"bitlayout {verb}: [{done}/{total}] {label} done ({elapsed:.1f}s{eta_text})"


class ArchProgress:
    """The ``progress(done, total, label)`` of a run, drawn as a bar on a terminal."""

    def __init__(self, verb: str, stream: TextIO | None = None, tty: bool | None = None, quiet: bool = False):
        set_quiet(quiet)
        self.verb = verb
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.t0 = time.monotonic()
        self.done, self.total = 0, 0
        self.recent: list[str] = []
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        if self.tty and not _quiet:
            self._timer = threading.Thread(target=self._tick, name="bitlayout-progress", daemon=True)
            self._timer.start()

    def __call__(self, done: int, total: int, label: str) -> None:
        self.done, self.total = done, total
        self.recent.append(label)
        if _quiet:
            return
        if self.tty:
            self._draw()
        else:
            with _LOCK:
                self.stream.write(plain_line(self.verb, done, total, label, time.monotonic() - self.t0) + "\n")
                self.stream.flush()

    def _draw(self) -> None:
        line = bar_line(self.verb, self.done, self.total, self.recent, time.monotonic() - self.t0)
        with _LOCK:
            self.stream.write("\r" + line + "\x1b[K")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if self.total:
                self._draw()

    def close(self) -> None:
        """Stop the timer and clear the bar's line (the result follows on stdout); notices
        are shown again (a -q run does not silence the next run of this process)."""
        self._stop.set()
        set_quiet(False)
        if self._timer is not None:
            self._timer.join()
            with _LOCK:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
