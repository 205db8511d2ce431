"""The report's compiler-divergence section: where GCC and clang disagree, and what was compared.

Built from the matrix rows alone (pure): the ``divergence`` check's model rows carry both
compilers' predicted answers per diverging type; its layout-backend rows say which compiler
confirmed its half (``evidence.compiler_abi``); the probe rows of the two builds of the driver
(``rank`` 0 and 1 of the same on-arch probe backend: ``exec`` and ``exec-alternate``) show a
bitop result the two compilers' code disagrees on.

``divergence_section(rows) -> dict``::

    {"compared": [{"arch", "compilers", "types", "follows", "model_choice", "confirmed_by": {abi: backend}}],
     "not_compared": [{"arch", "reason"}],
     "divergences": [{"type", "differs", "members", "compilers", "answers", "text", "arches",
                      "confirmed": {abi: [arch]}, "model_choices": [text]}],
     "probe_differences": [{"arch", "check", "rows": [{"backend", "status", "detail", "toolchain"}]}],
     "types_compared": N}
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from ..backends import Observes, backend_class
from ..checks.divergence import describe
from ..profiles import model_choice_text
from ..results import RAN, Backend, MatrixRow, Status

CHECK = "divergence"


def _probe_rank(backend: str) -> int | None:
    cls = backend_class(backend)
    if cls is None or cls.observes is not Observes.PROBES or not cls.on_arch:
        return None
    return cls.rank


def divergence_section(rows: Sequence[MatrixRow]) -> dict[str, Any]:
    compared: list[dict] = []
    not_compared: list[dict] = []
    groups: dict[tuple[str, str], dict] = {}
    mine = [r for r in rows if r.check == CHECK]
    confirmations: dict[str, dict[str, str]] = {}
    for r in mine:
        abi = r.evidence.get("compiler_abi") if r.evidence else None
        if r.backend != Backend.MODEL and abi and r.status in RAN:
            confirmations.setdefault(r.arch, {})[abi] = r.backend
    for r in (r for r in mine if r.backend == Backend.MODEL):
        p = r.predicted if isinstance(r.predicted, Mapping) else None
        if r.status not in RAN or p is None:
            not_compared.append({"arch": r.arch, "reason": r.detail})
            continue
        confirmed_by = confirmations.get(r.arch, {})
        compared.append({"arch": r.arch, "compilers": p["compilers"], "types": p["compared"],
                         "follows": p["follows"], "model_choice": p["model_choice"], "confirmed_by": confirmed_by})
        for name, d in p["diverging"].items():
            key = (name, json.dumps(d["answers"], sort_keys=True))
            g = groups.setdefault(key, {
                "type": name, "differs": d["differs"], "members": d["members"], "compilers": p["compilers"],
                "answers": d["answers"], "text": describe(name, d["answers"], p["compilers"]), "arches": [],
                "confirmed": {c: [] for c in p["compilers"]}, "choice": {}})
            g["arches"].append(r.arch)
            for abi in confirmed_by:
                g["confirmed"].setdefault(abi, []).append(r.arch)
            g["choice"].setdefault((p["follows"], tuple(p["linux_compilers"])), []).append(r.arch)
    for g in groups.values():
        # arches that follow the same compiler for the same reason say it once
        g["model_choices"] = [model_choice_text(follows, linux, ", ".join(arches))
                              for (follows, linux), arches in g.pop("choice").items()]
    return {"compared": compared, "not_compared": not_compared,
            "divergences": sorted(groups.values(), key=lambda g: (-len(g["arches"]), g["type"])),
            "probe_differences": _probe_differences(rows),
            "types_compared": max((c["types"] for c in compared), default=0)}


def _probe_differences(rows: Sequence[MatrixRow]) -> list[dict]:
    """Checks whose two driver builds (the arch's two compilers) answered differently."""
    by_cell: dict[tuple[str, str], dict[int, MatrixRow]] = {}
    for r in rows:
        rank = _probe_rank(r.backend)
        if rank is not None and r.status != Status.SKIP and r.evidence.get("build") is None:
            by_cell.setdefault((r.arch, r.check), {})[rank] = r
    out = []
    for (arch, check), ranks in by_cell.items():
        if len(ranks) > 1 and len({r.status for r in ranks.values()}) > 1:
            out.append({"arch": arch, "check": check, "rows": [
                {"backend": r.backend, "status": r.status, "detail": r.detail,
                 "toolchain": r.evidence.get("toolchain")} for _, r in sorted(ranks.items())]})
    return out
