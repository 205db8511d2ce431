"""``bitlayout kernel prepare SRC`` and ``bitlayout kernel command SRC``.

- ``prepare``: a prepared build directory per arch in the cache (``make ARCH=.. O=.. <config>
  prepare`` with the profile's ``[kernel]`` table), arches in parallel, one progress line each on
  stderr and a summary on stdout.  Without ``--arch``: every profile whose kernel compiler is
  installed (the others are listed with what to install); with ``--arch``: exactly those, and a
  missing compiler is an error.
- ``command``: the Kbuild command line (``CC`` + ``c_flags``) per arch, as bitlayout runs it.

Exit status: 0 done, 2 bad input or a failed prepare (one line each saying what to do).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import KernelTreeError, UsageError
from . import add_verb


# The line `bitlayout --help` shows for this verb (read without building the verb's parser).
HELP = "kernel trees: prepare a build per arch, show Kbuild's command"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("kernel", help=HELP,
                              description="Work with a Linux kernel tree (source tree or linux-headers-*).")
    verbs = p.add_subparsers(dest="kernel_verb", metavar="VERB")
    prep = add_verb(verbs, "prepare", help="make a prepared build directory per arch (once, cached)",
                    description="make ARCH=.. O=<cache> <config> prepare, per arch, in parallel.",
                    formats=("table", "json"), run=run_prepare)
    prep.add_argument("tree", metavar="SRC", help="kernel source tree (or a linux-headers-* directory)")
    prep.add_argument("--config", metavar="FILE|defconfig", default="defconfig",
                      help="a .config to start from, or 'defconfig': the profile's [kernel] config (default)")
    prep.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                      help="parallel jobs in total (arches at once x make -j), default: CPU count")
    prep.add_argument("--force", action="store_true", help="run make again even if the directory is prepared")
    cmd = add_verb(verbs, "command", help="print the compiler command Kbuild uses for a file, per arch",
                   description="The CC + c_flags Kbuild uses for a module file (add -E or -c FILE).",
                   formats=("text", "json"), run=run_command)
    cmd.add_argument("tree", metavar="SRC", help="kernel source tree (or a linux-headers-* directory)")
    cmd.add_argument("--config", metavar="FILE|defconfig", default="defconfig")
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser: Any) -> int:
    parser.print_usage(sys.stderr)
    raise UsageError("kernel: give a verb: prepare or command")


def config_option(value: str) -> Path | None:
    """``--config``: None for 'defconfig' (the profile's own), else an existing .config file."""
    if value == "defconfig":
        return None
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"--config {value}: {'not a file' if path.exists() else 'no such file'} "
                         "(give a .config or 'defconfig')")
    return path


def _profiles(args: Any, tree: Any) -> tuple[list, list[str]]:
    """The profiles to prepare and, without --arch, a line for each one left out."""
    from ..kernel.prepare import compiler_name, install_hint, shipped_build_mismatch
    from ..profiles import select_profiles

    profiles = select_profiles(args.arch or "all")
    if args.arch:
        return profiles, []
    chosen, notes = [], []
    for p in profiles:
        if tree.kind == "headers" and shipped_build_mismatch(tree, p):
            continue  # a headers tree serves its own arch only; the others are not worth a line
        if not p.kernel.supported:
            notes.append(f"{p.name}: left out: {p.kernel.unsupported}")
        elif shutil.which(compiler_name(tree, tree.build, p)) is None:
            cc = compiler_name(tree, tree.build, p)
            notes.append(f"{p.name}: left out: {cc} not found: {install_hint(p, cc)}")
        else:
            chosen.append(p)
    if not chosen:
        raise UsageError(f"{tree.given}: no arch can be prepared here" + (f" ({notes[0]})" if notes else ""))
    return chosen, notes


def run_prepare(args: Any) -> int:
    from ..kernel import find_tree, prepare_arches

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    tree = find_tree(args.tree)
    config = config_option(args.config)
    profiles, notes = _profiles(args, tree)

    def progress(line: str) -> None:
        print(f"bitlayout kernel: {line}", file=sys.stderr, flush=True)

    for note in notes:
        progress(note)
    outcomes = prepare_arches(tree, profiles, config, jobs=args.jobs, progress=progress, force=args.force)
    failed = [o for o in outcomes if o.status == "failed"]
    if args.format == "json":
        rows = [{"arch": o.arch, "status": o.status, "seconds": round(o.seconds, 1),
                 "build": str(o.build) if o.build else None, "message": o.message} for o in outcomes]
        sys.stdout.write(json.dumps({"schema": "bitlayout.kernel-prepare/1", "arches": rows}, indent=1) + "\n")
    for o in outcomes if args.format == "table" else ():
        where = str(o.build) if o.build else "-"
        sys.stdout.write(f"{o.arch:12} {o.status:9} {o.seconds:6.1f}s  {where}\n")
    if failed:
        for o in failed:
            print(f"bitlayout: error: {o.message}", file=sys.stderr)
        return failed[0].error.exit_code if failed[0].error is not None else 2
    return 0


def run_command(args: Any) -> int:
    from ..errors import BitlayoutError
    from ..kernel import find_tree
    from ..kernel.kbuild import command_for
    from ..profiles import select_profiles

    tree = find_tree(args.tree)
    config = config_option(args.config)
    errors: list[BitlayoutError] = []
    commands = {}
    for p in select_profiles(args.arch or "all"):
        try:
            commands[p.name] = command_for(tree, p, config)
        except KernelTreeError as exc:
            if args.arch:
                errors.append(exc)
    if errors:
        raise errors[0]
    if args.format == "json":
        doc = {"schema": "bitlayout.kernel-command/1",
               "arches": {a: {"argv": list(c.argv), "build": c.build, "compiler": c.compiler_version}
                          for a, c in commands.items()}}
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return 0
    for arch, command in commands.items():
        sys.stdout.write(f"# {arch} (build: {command.build})\n{shlex.join(command.argv)}\n")
    return 0
