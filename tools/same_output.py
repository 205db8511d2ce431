#!/usr/bin/env python3
"""Show that two versions of bitlayout print the same ``matrix`` and ``report`` JSON.

    python3 tools/same_output.py --before REV [BITLAYOUT ARGS...]
    python3 tools/same_output.py --compare BEFORE_DIR AFTER_DIR

The first form exports ``REV`` with ``git archive`` into a temporary directory,
runs ``bitlayout matrix --format json`` and ``bitlayout report --format json``
from that tree and from this checkout (one after the other, same environment,
same caches; extra arguments such as ``--arch mips,i386`` go to both verbs),
normalises both outputs and compares them.  The second form compares captures
made earlier (``matrix.json`` and ``report.json`` in each directory).  Exit 0
when both verbs print the same JSON after normalising, 1 otherwise (the first
differences are listed by JSON path).

What is normalised, and why (everything else must be equal, value for value):

* durations and timestamps, which differ on every run: the report's
  ``run.generated_utc``, ``run.matrix_seconds`` and ``run.seconds``, and the
  evidence keys in ``TIMING_KEYS``;
* build-cache state, which depends on what an earlier run left in the cache:
  the evidence keys in ``CACHE_KEYS`` (``compile_argv`` is only recorded on a
  cache miss, so it is dropped; ``cache_hit`` is masked);
* the counters of the stress probes (tear, lost-update), which are race
  outcomes within a time budget: the ``observed`` keys in ``STRESS_KEYS`` and,
  in every string, what ``STRESS_PATTERNS`` matches (which types tore in how
  many reads, how many updates ran, and which types a plain ``__set_bit``
  race happened to lose an update on); the verdict and the prediction stay.
  The report folds matrix rows with equal details into one finding, so the
  findings of the stress checks are compared one per arch (``_stress_findings``);
* the location of the checkout, which ``--before`` puts in a temporary
  directory: that prefix becomes ``<checkout>/`` in every string;
* one deliberate change of the evidence vocabulary: ``compiler`` meant the
  compiler identity in compiled rows, the kind ("zig", "gcc") in exec rows and
  the C compiler's ``__VERSION__`` in the rows of the shim's ``info`` probe.
  ``bitlayout.results.Evidence`` now names them ``toolchain``, ``compiler``
  and ``compiler_version``; ``renamed_evidence`` reads an old row that way (on a new
  row it changes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TIMING_KEYS = ("seconds", "compile_seconds", "startup_seconds", "run_seconds", "elapsed_us")
CACHE_KEYS = ("cache_hit", "compile_argv")
RUN_KEYS = ("generated_utc", "matrix_seconds", "seconds")
STRESS_CHECKS = ("tear", "lost-update")
STRESS_KEYS = ("torn", "reads", "first_us", "ops", "lost")
STRESS_PATTERNS = (
    # tear: "(observed by exec: vm_flags_t torn in 72811/95744 reads (2 loads of 4); ...)" or
    # "(exec: no tear in 1200000 reads)": which types tore within the budget is a race outcome.
    (re.compile(r" \(observed by [\w-]+: (?:[^()]|\([^()]*\))*\)"), " (observed: <stress outcome>)"),
    (re.compile(r" \([\w-]+: no tear in \d+ reads\)"), " (observed: <stress outcome>)"),
    (re.compile(r"lost none of \d+ updates"), "lost none of N updates"),
    (re.compile(r"; plain __set_bit lost \d+ updates on [^()]*\(non-atomic RMW races, as expected\)"), ""),
)
MASK = "<normalised>"
VERBS = ("matrix", "report")


def _strings(value: Any, fix) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_strings(v, fix) for v in value]
    if isinstance(value, dict):
        return {k: _strings(v, fix) for k, v in value.items()}
    return value


def renamed_evidence(backend: str | None, evidence: dict) -> dict:
    """An old row's ``compiler`` evidence under its new name (see the module docstring)."""
    value = evidence.get("compiler")
    if value is None or value in ("zig", "gcc"):
        return evidence
    evidence = dict(evidence)
    del evidence["compiler"]
    if backend == "compiled":
        evidence["toolchain"] = value
        evidence["compiler"] = "zig" if str(value).startswith("zig ") else "gcc"
    else:
        evidence["compiler_version"] = value
    return evidence


def _row(row: dict) -> dict:
    """One matrix row (or a report evidence item, which has the same keys)."""
    row = dict(row)
    evidence = dict(row.get("evidence") or {})
    evidence.pop("compile_argv", None)
    for key in TIMING_KEYS + CACHE_KEYS:
        if key in evidence:
            evidence[key] = MASK
    evidence = renamed_evidence(row.get("backend"), evidence)
    if "evidence" in row:
        row["evidence"] = evidence
    if row.get("check") in STRESS_CHECKS and isinstance(row.get("observed"), list):
        row["observed"] = [{k: MASK if k in STRESS_KEYS else v for k, v in item.items()}
                           if isinstance(item, dict) else item for item in row["observed"]]
    return row


def normalise(doc: dict, checkout: str | None = None) -> dict:
    """A ``bitlayout.matrix/1`` or ``bitlayout.report/1`` document without what differs run to run."""
    doc = dict(doc)
    if "results" in doc:
        doc["results"] = [_row(r) for r in doc["results"]]
    if "evidence" in doc and isinstance(doc["evidence"], list):
        doc["evidence"] = [_row(r) for r in doc["evidence"]]
    if isinstance(doc.get("run"), dict):
        doc["run"] = {k: MASK if k in RUN_KEYS else v for k, v in doc["run"].items()}
    prefix = checkout.rstrip("/") + "/" if checkout else None

    def fix(text: str) -> str:
        if prefix:
            text = text.replace(prefix, "<checkout>/")
        for pattern, repl in STRESS_PATTERNS:
            text = pattern.sub(repl, text)
        return text

    doc = _strings(doc, fix)
    if isinstance(doc.get("findings"), list):
        doc["findings"] = _stress_findings(doc["findings"])
    return doc


def _stress_findings(findings: list) -> list:
    """The report's findings with those of the stress checks one per arch, sorted, after the others.

    A matrix finding stands for every row with the same status, backend and detail; a tear
    detail names the race's counts, so which arches share one finding differs run to run."""
    others, stress = [], []
    for f in findings:
        checks = f.get("checks") or ()
        if f.get("source") != "matrix" or not checks or not set(checks) <= set(STRESS_CHECKS):
            others.append(f)
            continue
        head = f"{', '.join(checks)} [{f['backend']}] on {', '.join(f['arches'])}: "
        detail = f["text"][len(head):] if f["text"].startswith(head) else f["text"]
        for arch in f["arches"]:
            stress.append({**f, "arches": [arch], "text": f"{', '.join(checks)} [{f['backend']}] on {arch}: {detail}"})
    return others + sorted(stress, key=lambda f: json.dumps(f, sort_keys=True))


def differences(a: Any, b: Any, path: str = "$", limit: int = 20) -> list[str]:
    """JSON paths where ``a`` and ``b`` differ (at most ``limit``)."""
    out: list[str] = []

    def walk(x: Any, y: Any, where: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in list(x) + [k for k in y if k not in x]:
                if k not in x or k not in y:
                    out.append(f"{where}.{k}: only in {'after' if k not in x else 'before'}")
                else:
                    walk(x[k], y[k], f"{where}.{k}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                out.append(f"{where}: {len(x)} items before, {len(y)} after")
            for i, (p, q) in enumerate(zip(x, y)):
                walk(p, q, f"{where}[{i}]")
        elif isinstance(x, str) and isinstance(y, str) and x != y:
            at = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            start = max(0, at - 60)
            out.append(f"{where}: ...{x[start:at + 120]!r} != ...{y[start:at + 120]!r}")
        elif x != y:
            out.append(f"{where}: {json.dumps(x)[:200]} != {json.dumps(y)[:200]}")

    walk(a, b, path)
    return out


def capture(tree: Path, outdir: Path, args: list[str]) -> None:
    """Run both verbs from ``tree`` and keep their JSON in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    for verb in VERBS:
        cmd = [sys.executable, "-m", "bitlayout", verb, "--format", "json", "-q", *args]
        with open(outdir / f"{verb}.json", "w") as fh:
            proc = subprocess.run(cmd, cwd=tree, env=env, stdout=fh, stderr=subprocess.PIPE, text=True)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{tree}: bitlayout {verb} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
        (outdir / f"{verb}.exit").write_text(f"{proc.returncode}\n")
        (outdir / "checkout").write_text(str(tree))


def compare(before: Path, after: Path) -> bool:
    same = True
    for verb in VERBS:
        docs = []
        for d in (before, after):
            checkout = (d / "checkout").read_text().strip() if (d / "checkout").exists() else None
            docs.append(normalise(json.loads((d / f"{verb}.json").read_text()), checkout))
        exits = [(d / f"{verb}.exit").read_text().strip() if (d / f"{verb}.exit").exists() else "?"
                 for d in (before, after)]
        diff = differences(*docs)
        if exits[0] != exits[1]:
            diff.insert(0, f"exit status {exits[0]} before, {exits[1]} after")
        size = len(docs[0].get("results") or docs[0].get("evidence") or [])
        if diff:
            same = False
            print(f"{verb}: DIFFERENT ({len(diff)} differences shown)")
            for line in diff:
                print(f"  {line}")
        else:
            print(f"{verb}: identical after normalising ({size} rows, exit {exits[0]})")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="git revision to compare this checkout with")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE_DIR", "AFTER_DIR"), help="compare two captures")
    parser.add_argument("--keep", metavar="DIR", help="keep the captures in DIR/before and DIR/after")
    args, extra = parser.parse_known_args(argv)
    if args.compare:
        return 0 if compare(Path(args.compare[0]), Path(args.compare[1])) else 1
    if not args.before:
        parser.error("give --before REV or --compare BEFORE_DIR AFTER_DIR")
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bitlayout-before-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(here), "archive", args.before], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        keep = Path(args.keep) if args.keep else Path(tmp)
        capture(tree, keep / "before", extra)
        capture(here, keep / "after", extra)
        return 0 if compare(keep / "before", keep / "after") else 1


if __name__ == "__main__":
    sys.exit(main())
