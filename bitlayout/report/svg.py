"""Inline SVG pictures for the HTML report: rendering only.

Every number drawn comes from the report dict built by ``report.model``;
this module only turns byte offsets and bit numbers into coordinates.
Elements carry ``data-*`` attributes (flag, nr, word, byte, bit, arch class)
so tests can check placement in the DOM a browser produced.

Colours are chosen to survive greyscale printing: filled vs hatched vs
outlined carries the meaning, the hue only reinforces it.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

CELL_W = 14  # one bit
CELL_H = 22
BYTE_GAP = 4
ROW_BYTES = 8  # bytes drawn per row, in address order
LEFT = 64

INK = "#1a202c"
MUTED = "#718096"
GRID = "#cbd5e0"
FLAG = "#2b6cb0"
OOB = "#c53030"
TEAR = "#d69e2e"
FREE = "#2f855a"
HOLE = "#dd6b20"
UNUSED = "#a0aec0"


def _a(value: Any) -> str:
    return escape(str(value), quote=True)


def _attrs(**attrs: Any) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f'{name}="{_a(value)}"')
    return " ".join(parts)


def _defs(uid: str) -> str:
    return (
        f'<defs>'
        f'<pattern id="{uid}-guard" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff5f5"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{OOB}" stroke-width="1.4" stroke-opacity="0.45"/></pattern>'
        f'<pattern id="{uid}-hole" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(-45)"><rect width="6" height="6" fill="#fffaf0"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HOLE}" stroke-width="1.4" stroke-opacity="0.6"/></pattern>'
        f'<pattern id="{uid}-pad" width="5" height="5" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="5" height="5" fill="#f7fafc"/>'
        f'<line x1="0" y1="0" x2="0" y2="5" stroke="{MUTED}" stroke-width="1" stroke-opacity="0.5"/></pattern>'
        f'</defs>'
    )


def _byte_x(byte_in_row: int) -> int:
    return LEFT + byte_in_row * (8 * CELL_W + BYTE_GAP)


def _bit_x(byte_in_row: int, bit_in_byte: int) -> int:
    # Bits are drawn most significant first, as in a hex dump read as binary.
    return _byte_x(byte_in_row) + (7 - bit_in_byte) * CELL_W


# ---------------------------------------------------------------------------
# Bitmap memory map


def bitmap_map(group: Mapping[str, Any], uid: str) -> str:
    """One layout class of one bitmap type: bytes in address order, 8 per row."""
    size = group["size_bytes"]
    total = size + group["guard_bytes"]
    nrows = max(1, -(-total // ROW_BYTES))
    # Room under each row for the longest flag label, drawn vertically (~6 px per character).
    label_area = max(24, int(6.2 * max((len(f["short"]) for f in group["flags"]), default=0)) + 12)
    row_h = 32 + CELL_H + label_area
    top = 16
    width = _byte_x(ROW_BYTES) + 6
    height = top + nrows * row_h + 8
    cls = group["class"]
    flags_at: dict[tuple[int, int], dict] = {(f["byte"], f["bit_in_byte"]): f for f in group["flags"]}
    tear_bytes: dict[int, list[dict]] = {}
    for m in group["masks"]:
        if m["tears"]:
            for b in m["bytes"]:
                tear_bytes.setdefault(b, []).append(m)
    out = [
        f'<svg class="bitmap-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'{_attrs(data_type=group["type"], data_arch_class=cls, data_arches=",".join(group["arches"]), data_size_bytes=size, data_word_bytes=group["word_bytes"], data_little_endian=str(group["little_endian"]).lower())}>',
        f'<title>{_a(group["type"])} on {_a(group["label"])}: {size} bytes, '
        f'{group["nwords"]} x {group["word_bytes"]}-byte word(s)</title>',
        _defs(uid),
    ]
    # Bit-in-byte header once, above the first row.
    # One <text> per byte, one x per glyph (SVG positions glyphs individually).
    for b in range(ROW_BYTES):
        xs = " ".join(f"{_bit_x(b, bit) + CELL_W / 2 - 2.2:g}" for bit in range(7, -1, -1))
        out.append(f'<text x="{xs}" y="{top - 4}" class="tiny" fill="{MUTED}">76543210</text>')
    out.append(f'<text x="4" y="{top - 4}" class="tiny" fill="{MUTED}">bit</text>')
    for r in range(nrows):
        y0 = top + r * row_h
        cy = y0 + 30
        out.append(f'<text x="4" y="{cy + CELL_H / 2 + 4}" class="small" fill="{MUTED}">+{r * ROW_BYTES}</text>')
        for b in range(ROW_BYTES):
            addr = r * ROW_BYTES + b
            if addr >= total:
                continue
            in_type = addr < size
            bx = _byte_x(b)
            out.append(f'<text x="{bx + 4 * CELL_W}" y="{cy - 4}" class="small" text-anchor="middle" '
                       f'fill="{INK if in_type else OOB}">byte {addr}</text>')
            if not in_type:
                out.append(f'<rect x="{bx - 1}" y="{cy - 1}" width="{8 * CELL_W + 2}" height="{CELL_H + 2}" '
                           f'fill="url(#{uid}-guard)" {_attrs(class_="guard", data_byte=addr)}/>')
            for bit in range(8):
                x = _bit_x(b, bit)
                f = flags_at.get((addr, bit))
                if f is None:
                    out.append(f'<rect x="{x}" y="{cy}" width="{CELL_W}" height="{CELL_H}" '
                               f'fill="{"#ffffff" if in_type else "none"}" stroke="{GRID}" stroke-width="0.6"/>')
                    continue
                colour = UNUSED if not f["in_use"] else FLAG if f["in_bounds"] else OOB
                tip = (f'{f["name"]} = bit {f["nr"]}: word {f["word"]} bit {f["bit_in_word"]}, '
                       f'byte {f["byte"]} bit {f["bit_in_byte"]}'
                       f'{"" if f["in_bounds"] else " - OUT OF BOUNDS"}'
                       f'{"" if f["in_use"] else " (flag not in use on these arches)"}'
                       + "".join(f'; also {a["name"]} on {", ".join(a["arches"])}' for a in f.get("aliases", [])))
                tears = tear_bytes.get(addr, [])
                flag_tears = any(f["name"] in m["flags"] for m in tears)
                out.append(
                    f'<g class="flag{" oob" if not f["in_bounds"] else ""}{" unused" if not f["in_use"] else ""}{" tears" if flag_tears else ""}" '
                    + _attrs(data_flag=f["name"], data_nr=f["nr"], data_word=f["word"],
                             data_byte=f["byte"], data_bit=f["bit_in_byte"], data_arch_class=cls,
                             data_in_bounds=str(f["in_bounds"]).lower(),
                             data_in_use=str(f["in_use"]).lower())
                    + f'><title>{_a(tip)}</title>'
                    f'<rect x="{x}" y="{cy}" width="{CELL_W}" height="{CELL_H}" fill="{colour}" '
                    f'stroke="{TEAR if flag_tears else "#ffffff"}" stroke-width="{2.2 if flag_tears else 0.6}"/>'
                    f'<text x="{x + CELL_W / 2}" y="{cy + CELL_H / 2 + 3}" class="cellnum" '
                    f'text-anchor="middle" fill="#ffffff">{f["nr"]}</text>'
                    f'<text x="{x + CELL_W / 2 + 3.5}" y="{cy + CELL_H + 4}" class="flaglabel" text-anchor="end" '
                    f'transform="rotate(-90 {x + CELL_W / 2 + 3.5} {cy + CELL_H + 4})" '
                    f'fill="{colour}">{_a(f["short"])}</text></g>'
                )
        # Word outlines (and the guard's outline) over the cells of this row.
        wb = group["word_bytes"]
        first, last = r * ROW_BYTES, min(total, (r + 1) * ROW_BYTES)
        addr = first
        while addr < last:
            w = addr // wb
            w_end = min(last, (w + 1) * wb)
            x0 = _byte_x(addr - first) - 2
            x1 = _byte_x(w_end - first - 1) + 8 * CELL_W + 2
            inside = addr < size
            dash = "" if inside else 'stroke-dasharray="5 3" '
            out.append(
                f'<rect class="word{"" if inside else " guard-word"}" x="{x0}" y="{cy - 2}" width="{x1 - x0}" '
                f'height="{CELL_H + 4}" fill="none" stroke="{INK if inside else OOB}" '
                f'stroke-width="1.6" {dash}rx="2" '
                + _attrs(data_word=w) + f'><title>word {w}{"" if inside else " (past the end of the type)"}'
                f'</title></rect>'
            )
            label = f"word {w}" if inside else f"word {w}: past the end"
            out.append(f'<path d="M{x0 + 1} {cy - 13} V{cy - 17} H{x1 - 1} V{cy - 13}" fill="none" '
                       f'stroke="{INK if inside else OOB}" stroke-width="0.8"/>')
            out.append(f'<text x="{(x0 + x1) / 2}" y="{cy - 20}" class="small wordlabel" '
                       f'text-anchor="middle" fill="{INK if inside else OOB}">{_a(label)}</text>')
            addr = w_end
        # Atomic-unit separators when a single load is narrower than a word (u64 on 32-bit).
        ub = group["unit_bytes"]
        if ub < wb:
            for a in range(first + ub, last, ub):
                if a % wb:
                    x = _byte_x(a - first) - BYTE_GAP / 2
                    out.append(f'<line class="unit" x1="{x}" y1="{cy - 6}" x2="{x}" y2="{cy + CELL_H + 6}" '
                               f'stroke="{TEAR}" stroke-width="2" stroke-dasharray="3 2">'
                               f'<title>{ub}-byte single-copy-atomic access boundary</title></line>')
        # End-of-type marker.
        if first < size <= last and size < total:
            x = _byte_x(size - first) - BYTE_GAP / 2 - 1
            out.append(f'<line class="end" x1="{x}" y1="{cy - 14}" x2="{x}" y2="{cy + CELL_H + 8}" '
                       f'stroke="{OOB}" stroke-width="2.5"><title>end of {_a(group["type"])} '
                       f'({size} bytes)</title></line>')
    out.append('</svg>')
    return "".join(out)


# ---------------------------------------------------------------------------
# Pointer tag bits


def tag_diagram(entry: Mapping[str, Any], uid: str) -> str:
    """One row per arch: the low 8 bits of the pointer, free vs requested."""
    rows = [r for r in entry["per_arch"]]
    shown_bits = 8
    cw, ch = 22, 22
    left = 110
    width = left + shown_bits * cw + 30 + 330
    row_h = ch + 12
    height = 30 + row_h * len(rows) + 6
    out = [
        f'<svg class="tag-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" {_attrs(data_field=entry["field"])}>',
        f'<title>{_a(entry["field"])}: {entry["tag_bits"]} tag bit(s) wanted, {_a(entry["allocator"])} allocator</title>',
        _defs(uid),
    ]
    for i in range(shown_bits):
        bit = shown_bits - 1 - i
        out.append(f'<text x="{left + 18 + i * cw + cw / 2}" y="18" class="tiny" text-anchor="middle" '
                   f'fill="{MUTED}">{bit}</text>')
    for n, r in enumerate(rows):
        y = 28 + n * row_h
        out.append(f'<text x="4" y="{y + ch / 2 + 4}" class="small" fill="{INK}">{_a(r["arch"])}</text>')
        if r.get("ok") is None:
            out.append(f'<text x="{left}" y="{y + ch / 2 + 4}" class="small" fill="{MUTED}">'
                       f'no layout: {_a(r.get("reason", ""))}</text>')
            continue
        free = r["free_bits"]
        want = r["tag_bits"]
        out.append(f'<g {_attrs(class_="tag-row", data_arch=r["arch"], data_free_bits=free, data_tag_bits=want, data_ok=str(r["ok"]).lower())}>')
        out.append(f'<rect x="{left}" y="{y}" width="16" height="{ch}" fill="#edf2f7" stroke="{GRID}"/>'
                   f'<text x="{left + 8}" y="{y + ch / 2 + 4}" class="tiny" text-anchor="middle" '
                   f'fill="{MUTED}">…</text>')
        for i in range(shown_bits):
            bit = shown_bits - 1 - i
            x = left + 18 + i * cw
            is_free = bit < free
            is_tag = bit < want
            if is_tag and not is_free:
                fill, stroke, label = OOB, OOB, "T"
            elif is_tag:
                fill, stroke, label = FREE, INK, "T"
            elif is_free:
                fill, stroke, label = "#c6f6d5", FREE, ""
            else:
                fill, stroke, label = "#edf2f7", GRID, ""
            state = ("conflict" if is_tag and not is_free else "tag" if is_tag
                     else "free" if is_free else "address")
            tip = f'bit {bit}: {state}'
            out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch}" fill="{fill}" stroke="{stroke}" '
                       f'stroke-width="{1.8 if is_tag else 0.8}" {_attrs(data_bit=bit, data_state=state)}>'
                       f'<title>{_a(tip)}</title></rect>')
            if label:
                out.append(f'<text x="{x + (cw - 2) / 2}" y="{y + ch / 2 + 4}" class="small" text-anchor="middle" '
                           f'fill="#ffffff" font-weight="700">{label}</text>')
        verdict = "ok" if r["ok"] else "NOT ENOUGH"
        text = (f'_Alignof {r["pointee_align_bytes"]} · {r["allocator"]} guarantees '
                f'{r.get("guaranteed_align_bytes") or "?"} → {free} free / {want} wanted: {verdict}')
        out.append(f'<text x="{left + 18 + shown_bits * cw + 12}" y="{y + ch / 2 + 4}" class="small" '
                   f'fill="{INK if r["ok"] else OOB}">{_a(text)}</text></g>')
    out.append('</svg>')
    return "".join(out)


# ---------------------------------------------------------------------------
# Struct layout bar

STRUCT_ROW_BYTES = 64
BYTE_W = 14


def struct_bar(type_name: str, group: Mapping[str, Any], uid: str) -> str:
    """Members, holes and padding on a byte ruler; dashed lines at cacheline boundaries."""
    size = max(1, group["size_bytes"])
    row_bytes = min(STRUCT_ROW_BYTES, max(8, -(-size // 8) * 8))
    nrows = -(-size // row_bytes)
    left = 44
    row_h = 46
    width = left + row_bytes * BYTE_W + 8
    height = 18 + nrows * row_h
    out = [
        f'<svg class="struct-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'{_attrs(data_type=type_name, data_size_bytes=group["size_bytes"], data_arches=",".join(group["arches"]))}>',
        f'<title>{_a(type_name)}: {group["size_bytes"]} bytes, align {group["align_bytes"]}</title>',
        _defs(uid),
    ]
    for r in range(nrows):
        y = 14 + r * row_h
        out.append(f'<text x="2" y="{y + 16}" class="small" fill="{MUTED}">+{r * row_bytes}</text>')
        for b in range(0, row_bytes, 8):
            if r * row_bytes + b < size:
                out.append(f'<text x="{left + b * BYTE_W + 2}" y="{y - 3}" class="tiny" fill="{MUTED}">'
                           f'{r * row_bytes + b}</text>')
        cols = min(row_bytes, size - r * row_bytes)
        out.append(f'<rect x="{left}" y="{y}" width="{cols * BYTE_W}" height="24" fill="none" stroke="{GRID}"/>')
    colour_cycle = ("#2b6cb0", "#2c7a7b", "#6b46c1", "#2f855a", "#b7791f", "#4a5568")
    n_member = 0
    for seg in group["segments"]:
        start, length = seg["offset_bits"], seg["size_bits"]
        kind = seg["kind"]
        if kind == "member":
            fill = colour_cycle[n_member % len(colour_cycle)]
            n_member += 1
        elif kind == "hole":
            fill = f"url(#{uid}-hole)"
        else:
            fill = f"url(#{uid}-pad)"
        tip = (f'{seg["name"] or kind}: offset {start // 8}'
               f'{"" if start % 8 == 0 else f" bit {start % 8}"}, '
               f'{length // 8 if length % 8 == 0 else f"{length} bits"}'
               f'{" bytes" if length % 8 == 0 else ""}'
               f'{" (" + seg.get("c_type", "") + ")" if seg.get("c_type") else ""}'
               f'{" crosses a cacheline" if seg.get("crosses_cacheline") else ""}')
        # Split the segment at row boundaries.
        pos = start
        end = start + length
        first_piece = True
        while pos < end:
            r = pos // (row_bytes * 8)
            row_end = (r + 1) * row_bytes * 8
            piece_end = min(end, row_end)
            x = left + (pos - r * row_bytes * 8) / 8 * BYTE_W
            w = (piece_end - pos) / 8 * BYTE_W
            y = 14 + r * row_h
            out.append(f'<g {_attrs(class_="seg " + kind, data_member=seg["name"] or None, data_kind=kind, data_offset_bits=start, data_size_bits=length)}>'
                       f'<title>{_a(tip)}</title>'
                       f'<rect x="{x:.1f}" y="{y}" width="{max(w - 0.8, 0.8):.1f}" height="24" fill="{fill}" '
                       f'stroke="{"#ffffff" if kind == "member" else HOLE if kind == "hole" else MUTED}" '
                       f'stroke-width="0.8"/>')
            label = seg["name"] if kind == "member" else ("hole" if kind == "hole" else "pad")
            fits = int((w - 4) // 6)  # characters that fit at ~6 px each
            if len(label) > fits >= 3:
                label = label[: fits - 1] + "…"
            if first_piece and w >= 6 * len(label) + 4:
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + 16}" class="small" text-anchor="middle" '
                           f'fill="{"#ffffff" if kind == "member" else INK}">{_a(label)}</text>')
            out.append('</g>')
            first_piece = False
            pos = piece_end
    line = group["cacheline_bytes"]
    for off in range(line, size, line):
        r = off // row_bytes
        x = left + (off - r * row_bytes) * BYTE_W
        y = 14 + r * row_h
        if off % row_bytes == 0:
            continue  # a row start is its own boundary; the ruler shows the offset
        out.append(f'<line class="cacheline" x1="{x}" y1="{y - 6}" x2="{x}" y2="{y + 30}" stroke="{OOB}" '
                   f'stroke-width="1.5" stroke-dasharray="4 2"><title>cacheline boundary at {off}</title></line>')
    out.append('</svg>')
    return "".join(out)
