"""``bitlayout profiles [--arch SEL] [--format table|json]``: every profile and whether it is verified here.

For each selected profile the key facts (bits, endianness, long / pointer /
long long size and alignment, layout class, slab minalign, atomic64) and two
verdicts measured on this machine: ``verified`` (the probe was compiled by a
real compiler here and every number matched) and ``executable`` (a runner
exists and the probe ran).  Probes run in parallel and are cached
(``bitlayout.profile_truth``).  Exit status 0, or 1 if a profile disagrees with
its compiler; ``--no-probe`` lists the profiles without compiling anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from . import add_verb

if TYPE_CHECKING:
    from ..profiles import Profile

SCHEMA = "bitlayout.profiles/1"


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "list architecture profiles and whether they are verified here"


def add_parser(subparsers: Any) -> None:
    p = add_verb(subparsers, "profiles", help=HELP,
                 description=__doc__.splitlines()[0], formats=("table", "json"), run=run)
    p.add_argument("--no-probe", action="store_true", help="do not compile or run probes (verified = unknown)")
    p.add_argument("--no-run", action="store_true", help="compile-only probes (no qemu)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="parallel probes (default: cores)")


def profile_row(profile: Profile, probe: Any | None, ran: bool = True) -> dict:
    """One profile's facts and verdicts as plain data (the JSON row)."""
    from .. import toolchains

    tc = profile.toolchain
    sc = profile.scalars
    compilers = toolchains.find_compilers(profile)
    runner = toolchains.find_runner(profile)
    row = {
        "name": profile.name,
        "kernel_arch": profile.kernel_arch,
        "description": profile.description,
        "bits_per_long": profile.bits_per_long,
        "endianness": profile.endianness,
        "layout_class": profile.layout_class,
        "char_signed": profile.char_signed,
        "long": {"size": sc["long"].size_bytes, "align": sc["long"].align_bytes},
        "pointer": {"size": sc["pointer"].size_bytes, "align": sc["pointer"].align_bytes},
        "long_long": {"size": sc["long_long"].size_bytes, "align": sc["long_long"].align_bytes,
                      "gnu_align": sc["long_long"].gnu_align_bytes},
        "arch_slab_minalign": profile.allocators.arch_slab_minalign,
        "arch_kmalloc_minalign": profile.allocators.arch_kmalloc_minalign,
        "atomic64": profile.atomicity.atomic64,
        "toolchain": {
            "zig_target": tc.zig_target or None,
            "gcc_triple": tc.gcc_triple or None,
            "compiler": compilers[0].identity if compilers else None,
            "compiler_kind": compilers[0].kind if compilers else None,
            "compilers": [c.identity for c in compilers],
            "runner": _runner_text(runner),
            "run_blocker": tc.run_blocker or None,
            "runtime": tc.runtime,
            "runtime_reason": tc.runtime_reason or None,
            "known_issues": list(tc.known_issues),
            "linux_compilers": list(tc.linux_compilers),
            "model_follows": profile.compiler,
            "model_choice": profile.model_choice(),
        },
        "verified": None,
        "executable": None,
        "mismatches": [],
        "note": "",
    }
    if probe is not None:
        row["verified"] = probe.verified
        row["executable"] = probe.executable if ran else None
        row["mismatches"] = [
            {"field": m.field, "profile": m.profile_value, "observed": m.compiler_value, "via": m.via}
            for m in probe.mismatches
        ]
        row["note"] = probe.error or probe.reason
    return row


def _runner_text(runner: Any) -> str | None:
    if runner is None:
        return None
    if runner.kind == "native":
        return "native"
    return " ".join([runner.argv[0].rsplit("/", 1)[-1], *runner.argv[1:]])


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else "yes" if value else "NO"


def _table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["arch", "kernel", "class", "long", "ptr", "llong", "slab", "atomic64", "verified", "exec", "linux",
              "toolchain"]
    body = []
    for r in rows:
        ll = r["long_long"]
        llong = f"{ll['size']}/{ll['align']}" + (f"({ll['gnu_align']})" if ll["gnu_align"] != ll["align"] else "")
        tc = r["toolchain"]
        tool = tc["compiler_kind"] or "none"
        if tc["runner"]:
            tool += " + " + tc["runner"].split()[0]
        body.append([
            r["name"], r["kernel_arch"], r["layout_class"],
            f"{r['long']['size']}/{r['long']['align']}", f"{r['pointer']['size']}/{r['pointer']['align']}",
            llong, str(r["arch_slab_minalign"]), r["atomic64"],
            _yes_no(r["verified"]), _yes_no(r["executable"]), _linux_text(tc), tool,
        ])
    return header, body


def _linux_text(tc: dict) -> str:
    """The compilers that build Linux for the arch, the one the model follows starred: "gcc*+clang"."""
    return "+".join(c + ("*" if c == tc["model_follows"] else "") for c in tc["linux_compilers"]) + \
        ("" if tc["model_follows"] in tc["linux_compilers"] else f" ({tc['model_follows']}*)")


def render_plain(rows: list[dict]) -> str:
    header, body = _table_rows(rows)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    lines += _footnotes(rows)
    return "\n".join(lines) + "\n"


def _footnotes(rows: list[dict]) -> list[str]:
    notes = []
    unverified = [r["name"] for r in rows if r["verified"] is False]
    if unverified:
        notes.append(f"UNVERIFIED here ({len(unverified)}): {', '.join(unverified)}")
    for r in rows:
        for m in r["mismatches"]:
            notes.append(f"MISMATCH {r['name']}: {m['field']}: profile {m['profile']!r}, {m['via']} {m['observed']!r}")
        if r["note"] and (r["verified"] is False or r["executable"] is False):
            notes.append(f"{r['name']}: {r['note']}")
    notes.append("long/ptr/llong = size/_Alignof (__alignof__ if different); slab = ARCH_SLAB_MINALIGN")
    notes.append("linux = the compilers that build Linux for the arch; * = the one whose ABI the model follows "
                 "where GCC and clang differ ([layout] compiler)")
    return notes


def render_rich(rows: list[dict], console: Any) -> None:
    from rich import box
    from rich.table import Table

    header, body = _table_rows(rows)
    table = Table(title="bitlayout architecture profiles", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)
    for h in header:
        table.add_column(h, no_wrap=h != "toolchain", overflow="fold")
    for b in body:
        cells = list(b)
        for i in (8, 9):
            cells[i] = {"yes": "[green]yes[/]", "NO": "[bold red]NO[/]"}.get(cells[i], "[dim]?[/]")
        table.add_row(*cells)
    console.print(table)
    for note in _footnotes(rows):
        console.print(note, markup=False, style="red" if note.startswith(("UNVERIFIED", "MISMATCH")) else None)


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    from ..profiles import select_profiles

    profiles = select_profiles(args.arch)
    probes: list[Any] = [None] * len(profiles)
    if not args.no_probe:
        from ..profile_truth import verify_profiles

        probes = verify_profiles(profiles, run=not args.no_run, jobs=args.jobs)
    rows = [profile_row(p, r, ran=not args.no_run) for p, r in zip(profiles, probes)]
    if args.format == "json":
        sys.stdout.write(json.dumps({"schema": SCHEMA, "profiles": rows}, indent=1))
        sys.stdout.write("\n")
    elif sys.stdout.isatty():
        from rich.console import Console

        render_rich(rows, Console())
    else:
        sys.stdout.write(render_plain(rows))
    return EXIT_CHECK_FAILED if any(r["mismatches"] for r in rows) else EXIT_OK
