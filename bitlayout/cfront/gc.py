"""Garbage-collector control for the allocation bursts of parsing and laying out."""

from __future__ import annotations

import contextlib
import gc

# allocations (net, since the last collection) above which no_gc freezes what exists
FREEZE_AFTER = 5_000


@contextlib.contextmanager
def no_gc():
    """Run a burst of allocations without the cyclic garbage collector.

    Tokenizing, parsing and laying out create many small acyclic objects; each generation-0
    threshold crossing makes the collector walk them again.  Reference counting still frees
    everything; cycles made meanwhile are collected at the next collection after this block.
    Nested use is fine; the collector is re-enabled only by the block that disabled it.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_count()[0] > FREEZE_AFTER:
                # A big burst (a declaration table, a set of layouts) mostly survives in caches:
                # left young, the next collections would walk all of it again.  Move what exists
                # to the permanent generation instead (gc.freeze): reference counting still
                # frees it; only a reference cycle already unreachable now is never reclaimed.
                gc.freeze()
            gc.enable()
