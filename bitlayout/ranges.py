"""Compact spelling of bit-number sets, shared by checks, report and diff."""

from __future__ import annotations

from typing import Iterable


def format_bit_ranges(nrs: Iterable[int], sep: str = ", ", empty: str = "") -> str:
    """[32, 33, 34, 40] -> '32..34, 40' (sorted, duplicates dropped)."""
    nrs = sorted(set(nrs))
    parts = []
    i = 0
    while i < len(nrs):
        j = i
        while j + 1 < len(nrs) and nrs[j + 1] == nrs[j] + 1:
            j += 1
        parts.append(str(nrs[i]) if i == j else f"{nrs[i]}..{nrs[j]}")
        i = j + 1
    return sep.join(parts) or empty
