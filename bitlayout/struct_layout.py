"""A laid-out struct as pahole shows it: members in offset order, the holes between them, the
tail padding and the cachelines (pure; for ``bitlayout.report`` and ``bitlayout.diff``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .layout import TypeLayout


def anonymous_name(t: Any) -> str:
    """An anonymous struct/union member, named by what it holds: 'union {vm_flags, flags}'."""
    kind = getattr(t, "kind", "")
    inner = [m.name or "..." for m in getattr(t, "members", ())]
    return f"{kind} {{{', '.join(inner)}}}" if inner else f"({kind or 'anonymous'})"


def struct_layout(tl: TypeLayout, cacheline_bytes: int) -> dict:
    """Members in offset order with the holes between them and the tail padding."""
    size_bits = tl.size_bytes * 8
    segments = []
    cursor = 0
    holes = 0
    for m in sorted(tl.members, key=lambda m: (m.offset_bits, -m.size_bits)):
        if m.offset_bits > cursor:
            segments.append({"kind": "hole", "name": "", "offset_bits": cursor,
                             "size_bits": m.offset_bits - cursor})
            holes += m.offset_bits - cursor
        end = m.offset_bits + m.size_bits
        line_first = m.offset_bits // (cacheline_bytes * 8)
        line_last = max(m.offset_bits, end - 1) // (cacheline_bytes * 8)
        segments.append({
            "kind": "member", "name": m.name or anonymous_name(m.type),
            "offset_bits": m.offset_bits, "size_bits": m.size_bits,
            "bitfield": bool(m.bitfield), "c_type": getattr(m.type, "c_type", "") or getattr(m.type, "name", ""),
            "align_bytes": getattr(m.type, "align_bytes", None),
            "crosses_cacheline": line_last != line_first,
        })
        cursor = max(cursor, end)
    padding = size_bits - cursor if size_bits > cursor else 0
    if padding:
        segments.append({"kind": "padding", "name": "", "offset_bits": cursor, "size_bits": padding})
    return {
        "size_bytes": tl.size_bytes, "align_bytes": tl.align_bytes, "kind": tl.kind,
        "cacheline_bytes": cacheline_bytes,
        "cachelines": -(-tl.size_bytes // cacheline_bytes) if tl.size_bytes else 0,
        "hole_bits": holes, "padding_bits": padding, "segments": segments,
    }
