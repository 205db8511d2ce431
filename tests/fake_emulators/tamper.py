#!/usr/bin/env python3
"""A fake qemu-user for the fault-injection tests: runs the driver natively, then lies.

Used as a profile's ``[toolchain] qemu`` (an absolute path).  ``$BITLAYOUT_FAKE_EMU`` picks
the fault; ``$BITLAYOUT_FAKE_EMU_PIDS``, when set, is a file this emulator appends its pid
(and its children's) to, for the orphan checks.  Lines that are not JSON answers pass
through untouched.

  honest       no fault (the control)
  zero_work    every stress answer did no work (reads, writes, ops = 0)
  reversed     the answers in reverse order
  duplicated   the first answer given again in place of the second
  extra        one answer too many (the first one twice)
  foreign_ids  every id shifted: answers to somebody else's requests
  stale        answers without ids (an old driver)
  partial      one key of every answer's values missing
  truncated    the last answer cut in the middle
  crash        dies by SIGSEGV after reading the requests
  hang         starts a child in its group, then never answers
  orphan       answers honestly, leaving a child behind (its stdio detached) that would outlive it

crash and hang strike runs given requests on stdin (the exec backend's start-up run gets
none and passes); ``$BITLAYOUT_FAKE_EMU_EVERY_RUN=1`` makes them strike every run (the
profile probe reads no stdin).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def note_pid(pid: int) -> None:
    path = os.environ.get("BITLAYOUT_FAKE_EMU_PIDS")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def sleeper(detached: bool = False) -> None:
    stdio = subprocess.DEVNULL if detached else None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             stdin=stdio, stdout=stdio, stderr=stdio)
    note_pid(child.pid)


def tamper(mode: str, lines: list[str]) -> list[str]:
    answers = [(i, json.loads(ln)) for i, ln in enumerate(lines) if ln.startswith("{")]
    for i, data in answers:
        values = data.get("values", {})
        if mode == "zero_work":
            for key in ("reads", "writes", "ops"):
                if key in values:
                    values[key] = 0
        elif mode == "foreign_ids" and "id" in data:
            data["id"] += 1000
        elif mode == "stale":
            data.pop("id", None)
        elif mode == "partial" and values:
            values.pop(sorted(values)[0])
        lines[i] = json.dumps(data)
    if mode == "reversed":
        lines.reverse()
    elif mode == "duplicated" and len(lines) > 1:
        lines[1] = lines[0]
    elif mode == "extra" and lines:
        lines.insert(0, lines[0])
    return lines


def main() -> int:
    mode = os.environ.get("BITLAYOUT_FAKE_EMU", "honest")
    note_pid(os.getpid())
    binary, *args = sys.argv[1:]
    stdin = sys.stdin.read()
    strike = bool(stdin) or os.environ.get("BITLAYOUT_FAKE_EMU_EVERY_RUN") == "1"
    if mode == "crash" and strike:
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "hang" and strike:
        sleeper()
        while True:
            time.sleep(1)
    proc = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    out = proc.stdout
    if mode == "orphan":
        sleeper(detached=True)
    lines = tamper(mode, out.splitlines())
    text = "".join(ln + "\n" for ln in lines)
    if mode == "truncated" and lines:
        text = text[: len(text) - len(lines[-1]) // 2 - 1]
    sys.stdout.write(text)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
