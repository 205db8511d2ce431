"""The HTML report: one self-contained file (inline CSS and SVG, no scripts,
no fonts, no network), readable offline and attachable to a review.

Rendering only: every fact comes from the report dict (``report.model``).
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from ..results import SHOWN, Status
from . import svg
from .findings import inline
from .model import NO_ROWS

STATUS_SYMBOL = {Status.PASS: "✓", Status.FAIL: "✗", Status.ERROR: "!", Status.SKIP: "–", NO_ROWS: "·"}

CSS = """
:root { --ink:#1a202c; --muted:#718096; --line:#e2e8f0; --bg:#ffffff; --panel:#f7fafc;
  --pass:#2f855a; --pass-bg:#c6f6d5; --fail:#c53030; --fail-bg:#fed7d7; --error:#6b46c1;
  --error-bg:#e9d8fd; --skip:#4a5568; --skip-bg:#edf2f7; --flag:#2b6cb0; --tear:#d69e2e; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); line-height: 1.45; font-size: 15px; }
body { margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 0 28px 60px; }
header.top { background: #1a202c; color: #f7fafc; padding: 26px 28px 20px; }
header.top .inner { max-width: 1180px; margin: 0 auto; }
header.top h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
header.top p { margin: 2px 0; color: #cbd5e0; font-size: 14px; }
header.top code { color: #f7fafc; }
.chips { margin-top: 12px; display: flex; flex-wrap: wrap; gap: 8px; }
.chip { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 13px; font-weight: 600;
  border: 1px solid transparent; }
.chip.pass { background: var(--pass-bg); color: var(--pass); }
.chip.fail { background: var(--fail-bg); color: var(--fail); }
.chip.error { background: var(--error-bg); color: var(--error); }
.chip.skip, .chip.missing { background: var(--skip-bg); color: var(--skip); }
.chip.note { background: #fefcbf; color: #744210; }
nav.toc { margin: 18px 0 8px; padding: 10px 14px; background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; font-size: 14px; }
nav.toc ol { margin: 4px 0 0; padding-left: 20px; columns: 2; }
nav.toc a { color: var(--flag); text-decoration: none; }
h2 { font-size: 21px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 17px; margin: 24px 0 6px; }
h4 { font-size: 15px; margin: 18px 0 4px; }
h2 a.anchor, h3 a.anchor { color: var(--muted); text-decoration: none; font-weight: 400; margin-left: 6px;
  visibility: hidden; }
h2:hover a.anchor, h3:hover a.anchor { visibility: visible; }
p.lead { color: #4a5568; margin: 4px 0 10px; max-width: 80ch; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.92em; }
ul.findings { list-style: none; padding: 0; margin: 8px 0; }
ul.findings li { padding: 6px 10px 6px 12px; margin: 4px 0; border-left: 4px solid var(--muted);
  background: var(--panel); border-radius: 0 4px 4px 0; }
ul.findings li.fail { border-color: var(--fail); background: #fff5f5; }
ul.findings li.error { border-color: var(--error); background: #faf5ff; }
ul.findings li.warn { border-color: var(--tear); background: #fffff0; }
ul.findings li .sev { font-weight: 700; text-transform: uppercase; font-size: 11px; letter-spacing: .05em;
  margin-right: 8px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
table.grid td.cell { text-align: center; font-weight: 700; min-width: 40px; white-space: nowrap; }
table.grid td.cell sub { font-weight: 400; font-size: 9px; color: #4a5568; margin-left: 1px; }
table.grid th.check { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  font-weight: 600; padding: 6px 3px; }
td.pass { background: var(--pass-bg); color: var(--pass); }
td.fail { background: var(--fail-bg); color: var(--fail); }
td.error { background: var(--error-bg); color: var(--error); }
td.skip { background: var(--skip-bg); color: var(--skip); }
td.missing { color: var(--muted); }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 0 6px; border-radius: 3px;
  background: var(--skip-bg); color: var(--skip); margin-left: 4px; vertical-align: 1px; }
.badge.unverified { background: #fefcbf; color: #744210; border: 1px dashed #b7791f; }
.badge.cls { background: #ebf8ff; color: var(--flag); }
.badge.oob { background: var(--fail-bg); color: var(--fail); }
.badge.tear { background: #fefcbf; color: #744210; }
tr.unverified td:first-child { background: repeating-linear-gradient(45deg,#fffff0,#fffff0 4px,#fefcbf 4px,#fefcbf 8px); }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; color: #4a5568; margin: 6px 0 10px; }
.legend span.sw { display: inline-block; width: 14px; height: 14px; vertical-align: -2px; margin-right: 5px;
  border: 1px solid #a0aec0; }
.sw.flag { background: var(--flag); } .sw.oob { background: var(--fail); } .sw.unused { background: #a0aec0; }
.sw.guard { background: repeating-linear-gradient(45deg,#fff5f5,#fff5f5 3px,#feb2b2 3px,#feb2b2 5px); }
.sw.tear { background: #fff; border: 2.5px solid var(--tear) !important; }
.sw.free { background: #c6f6d5; } .sw.tag { background: var(--pass); }
.sw.hole { background: repeating-linear-gradient(-45deg,#fffaf0,#fffaf0 3px,#fbd38d 3px,#fbd38d 5px); }
.sw.pad { background: repeating-linear-gradient(45deg,#f7fafc,#f7fafc 3px,#cbd5e0 3px,#cbd5e0 5px); }
.sw.word { background: #fff; border: 2px solid var(--ink) !important; }
.map { margin: 6px 0 18px; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; break-inside: avoid; }
.map .meta { font-size: 13px; color: #4a5568; margin-bottom: 4px; }
.map svg { max-width: 100%; height: auto; display: block; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg .tiny { font-size: 8px; } svg .small { font-size: 10.5px; } svg .cellnum { font-size: 8px; font-weight: 700; }
svg .flaglabel { font-size: 9.5px; font-weight: 600; }
svg g.flag:hover rect { stroke: #000; stroke-width: 2; }
details { margin: 6px 0; } ul.why { margin: 0; padding-left: 16px; } summary { cursor: pointer; color: #2d3748; font-size: 13px; }
.missing-note { font-size: 13px; color: var(--muted); }
table.evidence { width: 100%; table-layout: fixed; }
table.evidence th:nth-child(1) { width: 11%; } table.evidence th:nth-child(2) { width: 9%; }
table.evidence th:nth-child(3) { width: 8%; } table.evidence th:nth-child(4) { width: 34%; }
td.ev { font-size: 11px; word-break: break-word; color: #4a5568; }
.evid { margin-top: 6px; } .ev-item { white-space: normal; }
.ev-item.pass { color: var(--pass); } .ev-item.fail { color: var(--fail); } .ev-item.error { color: var(--error); }
.error-note { color: var(--error); }
.ev-arches { color: var(--muted); font-size: 12px; }
ul.skips { font-size: 12px; color: #4a5568; margin: 2px 0 10px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  header.top { background: none; color: var(--ink); border-bottom: 2px solid var(--ink); }
  header.top p, header.top code { color: var(--ink); }
  nav.toc { display: none; }
  .map, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _slug(text: str) -> str:
    out = []
    for ch in text.lower():
        out.append(ch if ch.isalnum() else "-")
    return "-".join(p for p in "".join(out).split("-") if p)


def _h(level: int, text: str, anchor: str) -> str:
    return f'<h{level} id="{_e(anchor)}">{_e(text)}<a class="anchor" href="#{_e(anchor)}">#</a></h{level}>'


def _arch_badges(arch: Mapping[str, Any]) -> str:
    out = f'<span class="badge cls">{_e(arch["layout_class"])}</span>'
    if not arch["verified"]:
        out += f'<span class="badge unverified" title="{_e(arch["unverified_reason"])}">unverified</span>'
    elif not arch.get("verified_by"):
        out += f'<span class="badge" title="{_e(arch["unverified_reason"])}">model only</span>'
    elif arch.get("verified_by") == "compiler":
        out += f'<span class="badge" title="{_e(arch["unverified_reason"])}">compiler only</span>'
    return out


def _header(report: Mapping[str, Any]) -> str:
    s = report["summary"]
    spec = report.get("spec") or {}
    run = report.get("run") or {}
    chips = [
        *(f'<span class="chip {st}">{s[st]} {st}</span>' for st in SHOWN),
        f'<span class="chip note">{s["verified_arches"]}/{s["arches"]} arches verified</span>',
    ]
    lines = []
    if spec.get("path"):
        lines.append(f'spec <code>{_e(spec["path"])}</code>'
                     + (f' · headers {", ".join(f"<code>{_e(h)}</code>" for h in spec.get("headers", []))}'
                        if spec.get("headers") else ""))
    if run:
        bits = []
        for key in ("generated_utc", "seconds", "backends", "bitlayout"):
            if key in run:
                v = run[key]
                bits.append(f'{key.replace("_", " ")} {_e(", ".join(v) if isinstance(v, list) else v)}')
        lines.append(" · ".join(bits))
    return (f'<header class="top"><div class="inner"><h1>{_e(report["title"])}</h1>'
            + "".join(f"<p>{line}</p>" for line in lines)
            + f'<div class="chips">{"".join(chips)}</div></div></header>')


def _toc(report: Mapping[str, Any]) -> str:
    items = ['<li><a href="#findings">Findings</a></li>', '<li><a href="#overview">Overview: arch × check</a></li>']
    for b in report["bitmaps"]:
        items.append(f'<li><a href="#bitmap-{_slug(b["type"])}">Bit map: {_e(b["type"])}</a></li>')
    for t in report["tagged_pointers"]:
        items.append(f'<li><a href="#tag-{_slug(t["field"])}">Tag bits: {_e(t["field"])}</a></li>')
    if report["structs"]:
        items.append('<li><a href="#structs">Struct layouts</a></li>')
    items.append('<li><a href="#evidence">Evidence</a></li>')
    items.append('<li><a href="#arches">Architectures</a></li>')
    return f'<nav class="toc"><strong>Contents</strong><ol>{"".join(items)}</ol></nav>'


def _finding_items(findings) -> str:
    return "".join(f'<li class="{_e(f["severity"])}"><span class="sev">{_e(f["severity"])}</span>{_e(f["text"])}</li>'
                   for f in findings)


def _findings(report: Mapping[str, Any]) -> str:
    out = [_h(2, "Findings", "findings")]
    if not report["findings"]:
        out.append('<p class="lead">Nothing to report: every check agreed with the model.</p>')
        return "".join(out)
    # The model's findings and every disagreement up front; the failing matrix rows
    # (the same hazards, per check and backend, with their observed counts) folded.
    rows = [f for f in report["findings"] if not f["headline"]]
    head = [f for f in report["findings"] if f["headline"]]
    out.append(f'<ul class="findings">{_finding_items(head)}</ul>')
    if rows:
        n = sum(len(f["arches"]) for f in rows)
        out.append(f'<details><summary>{len(rows)} groups of failing checks ({n} arch rows), as each backend '
                   f'saw them</summary><ul class="findings">{_finding_items(rows)}</ul></details>')
    return "".join(out)


def _overview(report: Mapping[str, Any]) -> str:
    grid = report["grid"]
    out = [_h(2, "Overview: arch × check", "overview"),
           '<p class="lead">Each cell is the worst status over the backends that ran the check '
           '(error &gt; fail &gt; pass &gt; skip); hover for the backends and details.</p>',
           '<div class="legend">'
           + "".join(f'<span><span class="chip {s}">{STATUS_SYMBOL[s]} {s}</span></span>'
                     for s in SHOWN)
           + '<span><span class="badge unverified">unverified</span> no compiler or CPU observed this arch</span>'
           '<span><span class="badge">compiler only</span> layouts from its compiler, no CPU ran</span>'
           '<span>small letters: the backends that gave the cell its status — <b>e</b> the arch\'s CPU '
           '(exec), <b>c</b> its compiler, <b>h</b> the host shim, <b>m</b> the model alone</span>'
           '</div>']
    if not grid["checks"]:
        out.append('<p class="missing-note">No matrix rows: the page shows model predictions only.</p>')
    out.append('<table class="grid"><thead><tr><th>arch</th>'
               + "".join(f'<th class="check">{_e(c)}</th>' for c in grid["checks"]) + "</tr></thead><tbody>")
    for a in report["arches"]:
        cells = grid["cells"].get(a["name"], {})
        tr_cls = "" if a["verified"] else ' class="unverified"'
        row = [f'<tr{tr_cls}><td><a href="#arch-{_e(a["name"])}">{_e(a["name"])}</a>{_arch_badges(a)}</td>']
        for c in grid["checks"]:
            cell = cells.get(c, {"status": NO_ROWS, "backends": {}, "detail": ""})
            tip = ", ".join(f"{b}: {s}" for b, s in cell["backends"].items())
            if cell["detail"]:
                detail = cell["detail"]
                tip += " — " + (detail if len(detail) <= 240 else detail[:239] + "…")
            # The letters name the backends that produced the cell's status (see model._status_by).
            seen = "".join(sorted(b[:1] or "?" for b in cell.get("status_by", ())))  # the backend's initial
            row.append(f'<td class="cell {cell["status"]}" title="{_e(tip)}" '
                       f'data-arch="{_e(a["name"])}" data-check="{_e(c)}" data-status="{cell["status"]}">'
                       f'{STATUS_SYMBOL.get(cell["status"], "?")}<sub>{seen}</sub></td>')
        row.append("</tr>")
        out.append("".join(row))
    out.append("</tbody></table>")
    return "".join(out)


BITMAP_LEGEND = (
    '<div class="legend"><span><span class="sw flag"></span>flag bit in the type</span>'
    '<span><span class="sw oob"></span>flag bit out of bounds</span>'
    '<span><span class="sw unused"></span>flag not in use on these arches (spec <code>only_on</code>)</span>'
    '<span><span class="sw guard"></span>memory past the end of the type</span>'
    '<span><span class="sw word"></span>{word}</span>'
    '<span><span class="sw tear"></span>bits of a mask read together that can tear</span></div>'
)


def _bitmap(entry: Mapping[str, Any], index: int) -> str:
    anchor = f'bitmap-{_slug(entry["type"])}'
    out = [_h(2, f'Bit map: {entry["type"]}', anchor)]
    lead = (f'{entry["flag_count"]} flags. Bytes are drawn in address order, eight per row, bit 7 on '
            f'the left; each coloured cell is a flag bit (its number inside, its name below).')
    if entry.get("label"):
        lead = f'{_e(entry["label"])}. ' + lead
    # What one outlined word is depends on the type: an unsigned long of a bitmap
    # array, or the whole value of a scalar flags word (model: word_legend).
    word = _e(entry.get("word_legend", "one unsigned long word")).replace("unsigned long", "<code>unsigned long</code>")
    out.append(f'<p class="lead">{lead}</p>{BITMAP_LEGEND.replace("{word}", word)}')
    for n, g in enumerate(entry["groups"]):
        badges = ""
        if g["out_of_bounds"]:
            badges += f'<span class="badge oob">{len(g["out_of_bounds"])} out of bounds</span>'
        if any(m["tears"] for m in g["masks"]):
            badges += '<span class="badge tear">mask read tears</span>'
        if g["full_read_tears"]:
            badges += '<span class="badge tear">whole-value read tears</span>'
        out.append(f'<div class="map" id="{anchor}-{_slug(g["label"])}" data-arch-class="{_e(g["class"])}">')
        out.append(f'<h4>{_e(g["label"])}{badges}</h4>')
        out.append(f'<div class="meta">{_e(", ".join(g["arches"]))} — {g["size_bytes"]} bytes = {g["nwords"]} × '
                   f'{g["word_bytes"]}-byte word, {"little" if g["little_endian"] else "big"}-endian, '
                   f'single-copy-atomic {g["atomic_bytes"]} bytes'
                   + (f' · C type <code>{_e(g["c_type"])}</code>' if g.get("c_type") else "") + '</div>')
        if g.get("differs_because"):
            out.append(f'<div class="meta"><strong>Drawn apart from {_e(g["class"])}:</strong> '
                       f'{_e("; ".join(g["differs_because"]))}</div>')
        out.append(svg.bitmap_map(g, f"bm{index}-{n}"))
        out.append(_claim_evidence(g.get("observers"), len(g["arches"])))
        for m in g["masks"]:
            if m["tears"]:
                out.append(f'<div class="meta">⚠ reading <code>{_e(" | ".join(m["flags"]))}</code> together '
                           f'touches {len(m["units"])} separate {g["unit_bytes"]}-byte accesses: it can tear.</div>')
        out.append(_flag_table(g))
        out.append("</div>")
    for m in entry["missing"]:
        out.append(f'<p class="missing-note">{_e(m["arch"])}: not drawn — {_e(m["reason"])}</p>')
    return "".join(out)


def _claim_evidence(obs: Any, total: int) -> str:
    """'Observed by exec on 4/5 (…): bit-position, bounds, tear' under a picture."""
    if not obs or not (obs["by"] or obs["errors"]):
        return ('<div class="meta evid"><span class="badge unverified">model only</span> no compiler or CPU '
                'observed these claims in this run</div>')
    by_verb: dict[str, list[str]] = {}
    for o in obs["by"]:
        by_verb.setdefault(o.get("verb", "observed"), []).append(
            f'<span class="ev-item"><strong>{_e(o["backend"])}</strong> on {len(o["arches"])}/{total} '
            f'<span class="ev-arches">({_e(", ".join(o["arches"]))})</span>: {_e(", ".join(o["checks"]))}</span>')
    # "Emulated by": the shim re-ran the kernel allocator's formula, it did not observe the kernel.
    out = "".join(f'<div class="meta evid">{_e(verb.capitalize())} by ' + " · ".join(parts) + "</div>"
                  for verb, parts in sorted(by_verb.items(), key=lambda kv: kv[0] != "observed"))
    out = out or '<div class="meta evid">Observed by nothing but the model</div>'
    if obs.get("note"):
        out += f'<div class="meta evid"><small>{_e(obs["note"])}</small></div>'
    if obs["errors"]:
        text = "; ".join(f'{x["check"]} [{x["backend"]}] on {", ".join(x["arches"])}' for x in obs["errors"])
        out += f'<div class="meta evid error-note">! error (see Evidence): {_e(text)}</div>'
    return out


def _flag_table(g: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr{"" if f["in_bounds"] else " class=oob"}><td><code>{_e(f["name"])}</code>'
        + "".join(f'<br><small>= {_e(a["name"])} ({_e(", ".join(a["arches"]))})</small>' for a in f.get("aliases", []))
        + f'</td><td>{f["nr"]}</td>'
        f'<td>{f["word"]}</td><td>{f["bit_in_word"]}</td><td>{f["byte"]}</td><td>{f["bit_in_byte"]}</td>'
        f'<td>{"yes" if f["in_bounds"] else "<strong style=color:var(--fail)>NO</strong>"}</td></tr>'
        for f in g["flags"])
    return ('<details><summary>flag positions (table)</summary><table><thead><tr><th>flag</th><th>nr</th>'
            '<th>word</th><th>bit in word</th><th>byte</th><th>bit in byte</th><th>in bounds</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></details>')


def _tagged(entry: Mapping[str, Any], index: int) -> str:
    out = [_h(2, f'Tag bits: {entry["field"]}', f'tag-{_slug(entry["field"])}')]
    out.append(f'<p class="lead">{entry["tag_bits"]} low bit(s) of <code>{_e(entry["field"])}</code> wanted as '
               f'tags; the pointee is <code>{_e(entry["pointee"])}</code> from the <code>{_e(entry["allocator"])}'
               f'</code> allocator. Free bits are the low bits that are zero in every such pointer: log2 of the '
               f'alignment the pointee type and the allocator guarantee together (the tagging model).</p>')
    out.append('<div class="legend"><span><span class="sw free"></span>free (always zero)</span>'
               '<span><span class="sw tag"></span>tag bit, free</span>'
               '<span><span class="sw oob"></span>tag bit that is NOT free</span></div>')
    out.append(f'<div class="map">{svg.tag_diagram(entry, f"tag{index}")}')
    out.append(_claim_evidence(entry.get("observers"), len(entry["per_arch"])))
    if entry.get("reasoning"):
        items = "".join(
            f'<tr><td>{_e(", ".join(w["arches"]))}</td><td><ul class="why">'
            + "".join(f"<li>{_e(line)}</li>" for line in w["lines"]) + "</ul></td></tr>"
            for w in entry["reasoning"])
        out.append('<details><summary>why (the tagging model\'s reasoning)</summary><table><thead><tr>'
                   f'<th>arches</th><th>reasoning</th></tr></thead><tbody>{items}</tbody></table></details>')
    out.append("</div>")
    return "".join(out)


def _structs(report: Mapping[str, Any]) -> str:
    if not report["structs"]:
        return ""
    out = [_h(2, "Struct layouts", "structs"),
           '<p class="lead">Arches with identical layouts are drawn once. Holes are alignment gaps '
           'between members, padding is at the tail; dashed red lines are cacheline boundaries.</p>',
           '<div class="legend"><span><span class="sw flag"></span>member</span>'
           '<span><span class="sw hole"></span>hole</span><span><span class="sw pad"></span>tail padding</span></div>']
    for i, s in enumerate(report["structs"]):
        out.append(_h(3, s["type"], f'struct-{_slug(s["type"])}'))
        for j, g in enumerate(s["groups"]):
            holes = g["hole_bits"] // 8
            lines = g.get("cacheline_arches") or {str(g["cacheline_bytes"]): g["arches"]}
            line_note = ""
            if len(lines) > 1:
                line_note = (' <span class="note">(drawn with {}-byte cachelines; {})</span>'.format(
                    g["cacheline_bytes"], _e("; ".join(f"{c} on {', '.join(a)}" for c, a in lines.items()))))
            out.append(f'<div class="map"><div class="meta"><strong>{g["size_bytes"]} bytes</strong>, align '
                       f'{g["align_bytes"]}, {g["cachelines"]} cacheline(s) of {g["cacheline_bytes"]}, '
                       f'holes {holes} bytes, padding {g["padding_bits"] // 8} bytes — '
                       f'{_e(", ".join(g["arches"]))}{line_note}</div>')
            out.append(svg.struct_bar(s["type"], g, f"st{i}-{j}"))
            out.append(_claim_evidence(g.get("observers"), len(g["arches"])))
            rows = "".join(
                f'<tr><td>{_e(seg["name"] or "(" + seg["kind"] + ")")}</td><td>{seg["offset_bits"] // 8}'
                f'{"" if seg["offset_bits"] % 8 == 0 else ":" + str(seg["offset_bits"] % 8)}</td>'
                f'<td>{seg["size_bits"] // 8 if seg["size_bits"] % 8 == 0 else str(seg["size_bits"]) + " bits"}</td>'
                f'<td><code>{_e(seg.get("c_type", ""))}</code></td></tr>'
                for seg in g["segments"])
            out.append('<details><summary>members</summary><table><thead><tr><th>member</th><th>offset</th>'
                       f'<th>size</th><th>type</th></tr></thead><tbody>{rows}</tbody></table></details></div>')
        for m in s["missing"]:
            out.append(f'<p class="missing-note">{_e(m["arch"])}: {_e(m["reason"])}</p>')
    return "".join(out)


def _evidence(report: Mapping[str, Any]) -> str:
    out = [_h(2, "Evidence", "evidence"),
           '<p class="lead">Every claim above comes from these rows: what the model predicted, what '
           'the backend observed, on which toolchain and runner, with counts and rates for stress runs. '
           '<code>model</code> rows were not observed by any compiler or CPU.</p>']
    if not report["evidence"]:
        out.append('<p class="missing-note">No matrix run in this report.</p>')
        return "".join(out)
    rows = report["evidence"]
    for ec in report["evidence_by_check"]:
        summary = ", ".join(f"{n} {st}" for st, n in ec["counts"].items())
        body = "".join(
            f'<tr><td>{_e(r["arch"])}</td><td>{_e(r["backend"])}</td>'
            f'<td class="{_e(r["status"])}">{STATUS_SYMBOL.get(r["status"], "?")} {_e(r["status"])}</td>'
            f'<td>{_e(r["detail"])}</td>'
            f'<td class="mono ev">{_e(inline(r["evidence"], pair="=", items="; ", seq=", "))}</td></tr>'
            for r in (rows[i] for i in ec["rows"]))
        skips = "".join(f'<li><strong>{_e(x["backend"])}</strong> on {_e(", ".join(x["arches"]))}: '
                        f'{_e(x["detail"])}</li>' for x in ec["skipped"])
        out.append(f'<details{" open" if ec["counts"].get(Status.ERROR) else ""}>'
                   f'<summary><strong>{_e(ec["check"])}</strong> — {_e(summary)}</summary>'
                   '<table class="evidence"><thead><tr><th>arch</th><th>backend</th><th>status</th><th>detail</th>'
                   f'<th>evidence</th></tr></thead><tbody>{body}</tbody></table>'
                   + (f'<p class="missing-note">skipped rows, by reason:</p><ul class="skips">{skips}</ul>'
                      if skips else "") + '</details>')
    return "".join(out)


def _arches(report: Mapping[str, Any]) -> str:
    out = [_h(2, "Architectures", "arches"),
           '<table><thead><tr><th>arch</th><th>kernel</th><th>class</th><th>atomic</th><th>atomic64</th>'
           '<th>cacheline</th><th>observed by</th><th>toolchain / runner</th></tr></thead><tbody>']
    for a in report["arches"]:
        observed = _e(", ".join(a["observed_by"])) if a["verified"] else (
            '<span class="badge unverified">unverified</span>')
        if a["unverified_reason"]:
            observed += f'<br><small>{_e(a["unverified_reason"])}</small>'
        out.append(f'<tr id="arch-{_e(a["name"])}"><td><strong>{_e(a["name"])}</strong><br>'
                   f'<small>{_e(a["description"])}</small></td><td>{_e(a["kernel_arch"])}</td>'
                   f'<td>{_e(a["layout_class"])}</td><td>{a["single_copy_atomic_bytes"]}</td>'
                   f'<td>{_e(a["atomic64"])}</td><td>{a["cacheline_bytes"]}</td><td>{observed}</td>'
                   f'<td class="mono">{_e(", ".join(a["toolchains"] + a["runners"]))}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def render_html(report: Mapping[str, Any]) -> str:
    body = [_header(report), "<main>", _toc(report), _findings(report), _overview(report)]
    body += [_bitmap(b, i) for i, b in enumerate(report["bitmaps"])]
    body += [_tagged(t, i) for i, t in enumerate(report["tagged_pointers"])]
    body += [_structs(report), _evidence(report), _arches(report)]
    body.append(f'<footer>{_e(report["schema"])} · generated by bitlayout · the model predicts, a backend '
                'observes, Python asserts they agree.</footer></main>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(report["title"])}</title><style>{CSS}</style></head><body>'
            + "".join(body) + "</body></html>\n")
