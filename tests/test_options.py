"""bitlayout.options: the run's options, read from the environment only when asked (the edge)."""

from __future__ import annotations

import pytest

from bitlayout.errors import UsageError
from bitlayout.options import EXEC_TIMEOUT, STRESS_MAX, STRESS_MS, Options


def test_defaults_do_not_read_the_environment(monkeypatch):
    monkeypatch.setenv("BITLAYOUT_STRESS_MS", "5000")
    monkeypatch.setenv("BITLAYOUT_EXEC_TIMEOUT", "0.5")
    assert Options() == Options(stress_ms=STRESS_MS, exec_timeout=EXEC_TIMEOUT, jobs=None)
    assert Options.from_environ() == Options(stress_ms=5000, exec_timeout=0.5)
    assert Options.from_environ({"BITLAYOUT_STRESS_MS": " "}).stress_ms == STRESS_MS  # blank: the default


def test_the_command_line_wins_and_everything_is_validated():
    env = {"BITLAYOUT_STRESS_MS": "200"}
    assert Options.from_environ(env, stress_ms=100, jobs=3) == Options(stress_ms=100, jobs=3)
    for make, text in ((lambda: Options.from_environ(env, stress_ms=0), "--stress-ms must be"),
                       (lambda: Options.from_environ({"BITLAYOUT_STRESS_MS": "9e9"}), "BITLAYOUT_STRESS_MS must be"),
                       (lambda: Options.from_environ({"BITLAYOUT_EXEC_TIMEOUT": "-1"}), "got '-1'"),
                       (lambda: Options(jobs=0), "-j must be at least 1")):
        with pytest.raises(UsageError, match=text):
            make()


def test_the_operation_cap_scales_with_the_budget():
    assert Options().stress_max == STRESS_MAX
    assert Options(stress_ms=STRESS_MS * 3).stress_max == STRESS_MAX * 3
    assert Options(stress_ms=60000).stress_max == STRESS_MAX * 1000 <= 0xFFFFFFFF  # within the protocol
