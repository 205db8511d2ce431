"""``bitlayout doctor [--arch SEL]``: which compilers and runners exist here, and how to get the rest.

Per arch: the compiler found (route and version), the runner found (native or
the qemu-user command line), and for whatever is missing the exact install
command.  Nothing is compiled; always exits 0 (it is a report, not a check).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import EXIT_OK
from . import add_verb

SCHEMA = "bitlayout.doctor/1"


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "show compilers/runners found per arch and install commands"


def add_parser(subparsers: Any) -> None:
    add_verb(subparsers, "doctor", help=HELP,
             description=__doc__.splitlines()[0], formats=("text", "json"), run=run)


def doctor_rows(profiles: list) -> list[dict]:
    from .. import toolchains

    rows = []
    for p in profiles:
        compilers = toolchains.find_compilers(p)
        runner = toolchains.find_runner(p)
        tc = p.toolchain
        if runner is not None:
            run_text = "native" if runner.kind == "native" else " ".join(runner.argv)
        elif tc.run_blocker:
            run_text = f"none: {tc.run_blocker}"
        elif not tc.qemu:
            run_text = "none: no runner route in the profile"
        else:
            run_text = f"none: {tc.qemu} not found"
        rows.append({
            "name": p.name,
            "compiler": compilers[0].identity if compilers else None,
            "other_compilers": [c.identity for c in compilers[1:]],
            "runner": run_text if runner else None,
            "runner_note": None if runner else run_text,
            "install": toolchains.install_hint(p) or None,
            "known_issues": list(tc.known_issues),
            "linux_compilers": list(tc.linux_compilers),
            "model_choice": p.model_choice(),
            "workaround": (f"{', '.join(tc.workaround.checks)} also {tc.workaround.label}"
                           if tc.workaround else None),
            **_runtime(p),
        })
    return rows


def _runtime(profile) -> dict:
    """How the exec driver is built: libc, or freestanding (with why, and by which compiler)."""
    from ..backends import runtimes

    tc = profile.toolchain
    if tc.runtime == "libc":
        return {"runtime": "libc", "runtime_note": None}
    driver = runtimes.driver_compiler(profile)
    by = driver.identity if driver else f"MISSING: {runtimes.missing_reason(profile)}"
    flags = f" {' '.join(tc.freestanding_cflags)}" if tc.freestanding_cflags else ""
    return {"runtime": tc.runtime, "runtime_note": f"driver built by {by}{flags}, no libc: {tc.runtime_reason}"}


def host_shim() -> dict:
    """The in-process C shim (host backend): where it came from, or why it is unavailable."""
    from ..errors import BitlayoutError

    try:
        from ..backends import host

        return host.shim_origin()
    except (BitlayoutError, ImportError, OSError) as exc:
        return {"built": None, "path": None, "reason": str(exc)}


def _host_shim_text(shim: dict) -> str:
    if shim["built"] is None:
        return f"host shim: unavailable: {shim['reason']}"
    text = f"host shim: {'compiled at install time' if shim['built'] == 'install' else 'built in the cache'}" \
           f" ({shim['path']})"
    return text + (f"; {shim['reason']}" if shim["reason"] else "")


def run(args: argparse.Namespace) -> int:
    from ..profiles import select_profiles

    profiles = select_profiles(args.arch)
    rows = doctor_rows(profiles)
    shim = host_shim()
    if args.format == "json":
        sys.stdout.write(json.dumps({"schema": SCHEMA, "arches": rows, "host_shim": shim}, indent=1))
        sys.stdout.write("\n")
        return EXIT_OK
    width = max(len(r["name"]) for r in rows)
    out = []
    for r in rows:
        comp = r["compiler"] or "MISSING"
        if r["other_compilers"]:
            comp += f" (also: {', '.join(r['other_compilers'])})"
        out.append(f"{r['name'].ljust(width)}  compiler: {comp}")
        out.append(f"{''.ljust(width)}  runner:   {r['runner'] or r['runner_note']}")
        out.append(f"{''.ljust(width)}  linux:    built with {', '.join(r['linux_compilers'])}; {r['model_choice']}")
        if r["runtime_note"]:
            out.append(f"{''.ljust(width)}  runtime:  {r['runtime']}: {r['runtime_note']}")
        if r["install"]:
            out.append(f"{''.ljust(width)}  install:  {r['install']}")
        for issue in r["known_issues"]:
            out.append(f"{''.ljust(width)}  known:    {issue}")
        if r["workaround"]:
            out.append(f"{''.ljust(width)}  workaround: {r['workaround']}")
    n_comp = sum(1 for r in rows if r["compiler"])
    n_run = sum(1 for r in rows if r["runner"])
    out.append(f"{len(rows)} arches: {n_comp} with a compiler, {n_run} with a runner")
    out.append(_host_shim_text(shim))
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_OK
