"""Arches spread over forked worker processes, for work that is all Python (one core each).

A kernel TU takes 0.3-0.7 s an arch to parse and lay out, so ``layout --kernel`` and ``diff
--kernel`` give each core a contiguous run of the arches.  Neighbouring arches share most
declarations (``cfront.declmemo`` replays them), hence contiguous runs rather than every other
arch.  A worker sends back only what the command prints for its arches: a kernel LayoutSet would
pickle to ~2 MB in 0.25 s.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence


def fork_context() -> Any:
    """fork where the platform has it (the workers keep the parent's loaded profiles and imported
    modules); spawn elsewhere."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def contiguous_runs(items: Sequence, jobs: int | None) -> list[list]:
    """``items`` cut into ``jobs`` contiguous runs (default: one per core), none empty."""
    jobs = min(jobs or os.cpu_count() or 1, len(items))
    if jobs < 2:
        return [list(items)]
    size, extra = divmod(len(items), jobs)
    runs, at = [], 0
    for i in range(jobs):
        n = size + (i < extra)
        runs.append(list(items[at:at + n]))
        at += n
    return runs


def map_runs(work: Callable, runs: list[list], *args: Any) -> list:
    """``work(run, *args)`` for each run, each in its own forked worker; the results in run order.
    An exception a run raises is raised here, the first run's first (runs are in arch order, so
    that is the error of the first arch that failed)."""
    from concurrent.futures import ProcessPoolExecutor

    if len(runs) == 1:
        return [work(runs[0], *args)]
    with ProcessPoolExecutor(max_workers=len(runs), mp_context=fork_context()) as pool:
        futures = [pool.submit(work, run, *args) for run in runs]
        return [future.result() for future in futures]
