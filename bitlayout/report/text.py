"""The report as plain ASCII within 80 columns, for an email to linux-mm.

Rendering only: every fact comes from the report dict (``report.model``).
"""

from __future__ import annotations

import textwrap
from typing import Any, Mapping

from ..ranges import format_bit_ranges
from ..results import FAILED, Status
from .model import NO_ROWS

WIDTH = 78  # leave two columns for mail quoting
STATUS_CHAR = {Status.PASS: "P", Status.FAIL: "F", Status.ERROR: "E", Status.SKIP: "-", NO_ROWS: "."}


def _wrap(text: str, indent: str = "  ", subsequent: str | None = None) -> list[str]:
    return textwrap.wrap(_ascii(text), WIDTH, initial_indent=indent,
                         subsequent_indent=subsequent if subsequent is not None else indent + "  ",
                         break_on_hyphens=False) or [indent.rstrip()]


def _ascii(text: Any) -> str:
    s = str(text).replace("\u2192", "->").replace("\u00d7", "x").replace("\u2026", "...")
    return s.encode("ascii", "replace").decode("ascii")


def _title(text: str) -> list[str]:
    lines = _wrap(_ascii(text).upper(), "", "  ")
    return ["", *lines, "=" * min(max(len(line) for line in lines), WIDTH)]


def _column_names(groups: list[Mapping[str, Any]]) -> list[str]:
    """LE32, BE32, ...; a class that splits gets LE32b, LE32c for the groups that differ."""
    seen: dict[str, int] = {}
    out = []
    for g in groups:
        n = seen.get(g["class"], 0)
        seen[g["class"]] = n + 1
        out.append(g["class"] if n == 0 else f"{g['class']}{chr(ord('a') + n)}")
    return out


def _bit_rows(g: Mapping[str, Any]) -> list[str]:
    """ASCII memory map: 8 bytes per row in address order, bit 7 first."""
    size, total, wb = g["size_bytes"], g["size_bytes"] + g["guard_bytes"], g["word_bytes"]
    marks: dict[tuple[int, int], str] = {}
    for f in g["flags"]:
        marks[(f["byte"], f["bit_in_byte"])] = "!" if not f["in_bounds"] and f["in_use"] else (
            "o" if not f["in_use"] else "#")
    lines = ["    byte " + "".join(f"{b:<9d}" for b in range(min(8, total))).rstrip()]
    for r in range(0, total, 8):
        cells = []
        for addr in range(r, min(total, r + 8)):
            bits = "".join(marks.get((addr, bit), "." if addr < size else "~") for bit in range(7, -1, -1))
            sep = "|" if addr % wb == 0 else " "
            if addr == size:
                sep = "]"
            cells.append(sep + bits)
        end = "|" if min(total, r + 8) <= size and min(total, r + 8) % wb == 0 else ""
        lines.append(f"  +{r:<3d}" + "".join(cells) + end)
    return lines


def _flag_table(entry: Mapping[str, Any]) -> list[str]:
    groups = entry["groups"]
    names = _column_names(groups)
    lines = []
    for start in range(0, len(groups), 6):
        chunk = list(zip(names, groups))[start:start + 6]
        lines.append("  " + f"{'flag':<28}{'nr':>3} " + "".join(f"{n:>7}" for n, _ in chunk))
        all_flags: dict[str, int] = {}
        for _, g in chunk:
            for f in g["flags"]:
                all_flags.setdefault(f["name"], f["nr"])
        for name, nr in sorted(all_flags.items(), key=lambda kv: (kv[1], kv[0])):
            cols = []
            for _, g in chunk:
                f = next((x for x in g["flags"] if x["name"] == name), None)
                if f is None:
                    cols.append(f"{'-':>7}")
                    continue
                mark = "!" if not f["in_bounds"] and f["in_use"] else ("?" if not f["in_use"] else " ")
                cols.append(f"{f['byte']:>4}.{f['bit_in_byte']}{mark}")
            lines.append("  " + f"{_ascii(name)[:27]:<28}{nr:>3} " + "".join(cols))
        lines.append("")
    lines.append("  byte.bit = byte offset in memory . bit in that byte;  ! = out of bounds;")
    lines.append("  ? = out of use on those arches (spec only_on)")
    return lines


def _bitmaps(report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for entry in report["bitmaps"]:
        out += _title(f"Bit map: {entry['type']}")
        if entry.get("label"):
            out += _wrap(entry["label"])
        names = _column_names(entry["groups"])
        for name, g in zip(names, entry["groups"]):
            out.append("")
            # The map's name is the HTML page's (g["label"]: "BE32: ppc"); a class that splits
            # also names the short column the flag table below uses for it.
            arches = ", ".join(g["arches"])
            head = g["label"] if not g.get("differs") else f"{g['label']} (table column {name})"
            out += _wrap(head if g["label"].endswith(f": {arches}") else f"{head}: {arches}", "  ", "      ")
            out += _wrap(f"{g['size_bytes']} bytes = {g['nwords']} x {g['word_bytes']}-byte word, "
                         f"{'little' if g['little_endian'] else 'big'}-endian, single-copy-atomic "
                         f"{g['atomic_bytes']} bytes", "    ")
            out += _bit_rows(g)
            if g["out_of_bounds"]:
                out += _wrap(f"OUT OF BOUNDS: {', '.join(g['out_of_bounds'])}", "    ")
            for m in g["masks"]:
                if m["tears"]:
                    out += _wrap(f"TEARS: reading {' | '.join(m['flags'])} together touches "
                                 f"{len(m['units'])} separate {g['unit_bytes']}-byte accesses", "    ")
            if g["full_read_tears"]:
                out += _wrap("a whole-value read is more than one access (can tear)", "    ")
        out.append("")
        out.append("  map: # flag bit   ! out of bounds   o flag not in use here   . empty")
        out.append("       ~ past the end of the type   | word start   ] end of the type")
        for m in entry["missing"]:
            out += _wrap(f"{m['arch']}: not drawn: {m['reason']}")
        out.append("")
        out += _flag_table(entry)
    return out


def _tagged(report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for t in report["tagged_pointers"]:
        out += _title(f"Tag bits: {t['field']}")
        out += _wrap(f"{t['tag_bits']} low bit(s) wanted; pointee {t['pointee']} from the "
                     f"{t['allocator']} allocator")
        obs = t.get("observers") or {}
        total = len(t["per_arch"])
        by_verb: dict[str, list[str]] = {}
        for o in obs.get("by", ()):
            by_verb.setdefault(o.get("verb", "observed"), []).append(f"{o['backend']} on {len(o['arches'])}/{total}")
        for verb, who in sorted(by_verb.items(), key=lambda kv: kv[0] != "observed"):
            out += _wrap(f"{verb.capitalize()} by {'; '.join(who)}")
        if not by_verb:
            out += _wrap("Observed by nothing but the model")
        if obs.get("note"):
            out += _wrap(f"({obs['note']})")
        out.append("  " + f"{'arch':<14}{'align':>6}{'guar.':>7}{'free':>6}{'want':>6}  {'ok':<4} low bits 7..0")
        for r in t["per_arch"]:
            if r.get("ok") is None:
                out += _wrap(f"{r['arch']:<14}no layout: {r.get('reason', '')}", "  ", "                ")
                continue
            bits = ""
            for bit in range(7, -1, -1):
                is_free, is_tag = bit < r["free_bits"], bit < r["tag_bits"]
                bits += "X" if is_tag and not is_free else "T" if is_tag else "f" if is_free else "."
            alloc = r.get("guaranteed_align_bytes")
            out.append("  " + f"{_ascii(r['arch'])[:13]:<14}{r['pointee_align_bytes']:>6}"
                       f"{alloc if alloc is not None else '?':>7}{r['free_bits']:>6}{r['tag_bits']:>6}  "
                       f"{'yes' if r['ok'] else 'NO':<4} {bits}")
        out.append("  T = tag bit (free)  X = tag bit NOT free  f = free  . = address bit")
        out.append("  align = _Alignof(pointee); guar. = alignment the allocator guarantees")
        for why in t.get("reasoning", []):
            out += _wrap(f"why, on {', '.join(why['arches'])}:", "  ", "      ")
            for line in why["lines"]:
                out += _wrap(f"- {line}", "    ", "      ")
    return out


def _structs(report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if report["structs"]:
        out += _title("Struct layouts")
    for s in report["structs"]:
        for g in s["groups"]:
            out.append("")
            out += _wrap(f"{s['type']}: {g['size_bytes']} bytes, align {g['align_bytes']}, "
                         f"holes {g['hole_bits'] // 8}, padding {g['padding_bits'] // 8}, "
                         f"{g['cachelines']} x {g['cacheline_bytes']}-byte cacheline(s)", "  ", "      ")
            out += _wrap(f"on: {', '.join(g['arches'])}", "    ", "        ")
            lines = g.get("cacheline_arches") or {}
            if len(lines) > 1:
                # The group shares one member layout, not one cacheline size (arm 64, mips 32,
                # parisc 16): say so, as the HTML does, instead of implying one size for all.
                sizes = "; ".join(f"{c} bytes on " + ", ".join(a) for c, a in lines.items())
                out += _wrap(f"cachelines: {sizes} (crossings marked for {g['cacheline_bytes']})",
                             "    ", "        ")
            out.append(f"    {'offset':>8} {'size':>6}  member")
            for seg in g["segments"]:
                off = seg["offset_bits"]
                off_s = f"{off // 8}" + ("" if off % 8 == 0 else f":{off % 8}")
                size = seg["size_bits"]
                size_s = f"{size // 8}" if size % 8 == 0 else f"{size}b"
                name = seg["name"] if seg["kind"] == "member" else f"({seg['kind']})"
                extra = " <- crosses a cacheline" if seg.get("crosses_cacheline") else ""
                out.append(_ascii(f"    {off_s:>8} {size_s:>6}  {name}{extra}")[:WIDTH])
        for m in s["missing"]:
            out += _wrap(f"{m['arch']}: {m['reason']}")
    return out


def _overview(report: Mapping[str, Any]) -> list[str]:
    grid = report["grid"]
    out = _title("Overview: arch x check")
    checks = grid["checks"]
    if not checks:
        out += _wrap("No matrix rows: model predictions only.")
        return out
    out += _wrap("checks: " + "  ".join(f"{i + 1}={c}" for i, c in enumerate(checks)), "  ", "          ")
    out += _wrap("P pass  F fail  E error  - skip  . not run;  * = unverified (model only)")
    per_line = 24  # columns of status chars that fit after the arch and class
    for start in range(0, len(checks), per_line):
        idx = range(start, min(len(checks), start + per_line))
        out.append("  " + f"{'arch':<15}{'class':<6}" + " ".join(f"{i + 1:>2}" for i in idx))
        for a in report["arches"]:
            cells = grid["cells"].get(a["name"], {})
            row = " ".join(f"{STATUS_CHAR.get(cells.get(checks[i], {}).get('status', NO_ROWS), '?'):>2}"
                           for i in idx)
            star = " " if a["verified"] else "*"
            out.append("  " + f"{_ascii(a['name'])[:13] + star:<15}{a['layout_class']:<6}" + row)
    # One character per cell: say which backend produced each non-passing one.
    by_who: dict[tuple[str, str], list[str]] = {}
    for a in report["arches"]:
        for i, c in enumerate(checks):
            cell = grid["cells"].get(a["name"], {}).get(c, {})
            if cell.get("status") in FAILED:
                who = "+".join(cell.get("status_by", ())) or "?"
                by_who.setdefault((STATUS_CHAR[cell["status"]], who), []).append(f"{a['name']}/{i + 1}")
    for (ch, who), where in sorted(by_who.items(), key=lambda kv: (kv[0][0] != "E", kv[0])):
        out += _wrap(f"{ch} by {who}: {', '.join(where)}", "  ", "      ")
    return out


def _divergence(report: Mapping[str, Any]) -> list[str]:
    d = report["compiler_divergence"]
    out = _title("Compiler divergence: GCC vs clang")
    out += _wrap(d["summary"])
    for g in d["divergences"]:
        out.append("")
        out += _wrap(f"{g['type']} on {', '.join(g['arches'])}:", "  ", "      ")
        for c in g["compilers"]:
            a = g["answers"][c]
            parts = [f"{k} {a[k]}" for k in ("size", "align") if k in a]
            parts += [f"{m} at bit {v['offset_bits']} ({v['size_bits']} bits)" for m, v in a.get("members", {}).items()]
            seen = g["confirmed"].get(c) or []
            out += _wrap(f"{c}: {', '.join(parts)}" + (f" [compiled on {len(seen)}]" if seen else " [model]"),
                         "    ", "      ")
        for choice in g["model_choices"]:
            out += _wrap(choice, "    ", "      ")
    for p in d["probe_differences"]:
        out.append("")
        out += _wrap(f"{p['check']} on {p['arch']}: the two compilers' drivers answer differently", "  ", "      ")
        for r in p["rows"]:
            out += _wrap(f"{r['backend']} ({r['toolchain'] or '?'}): {r['status']}: {r['detail']}", "    ", "      ")
    if d["not_compared"]:
        out.append("")
        out += _wrap("not compared: " + "; ".join(f"{n['arch']} ({n['reason']})" for n in d["not_compared"][:3])
                     + (f"; and {len(d['not_compared']) - 3} more" if len(d["not_compared"]) > 3 else ""),
                     "  ", "    ")
    return out


def _evidence(report: Mapping[str, Any], limit: int) -> list[str]:
    out = _title("Evidence")
    rows = report["evidence"]
    if not rows:
        out += _wrap("No matrix run in this report.")
        return out
    for ec in report["evidence_by_check"]:
        observed = "; ".join(f"{b} on {n}" for b, n in ec["observed_by"].items()) or "model only"
        out += _wrap(f"{ec['check']}: " + ", ".join(f"{n} {st}" for st, n in ec["counts"].items())
                     + f" (observed by {observed})", "  ", "      ")
    fails = [f for f in report["findings"] if not f["headline"]]
    if fails:
        out.append("")
        out += _wrap("Failing checks, as each backend saw them:", "  ")
        for f in fails[:limit]:
            out += _wrap(f"- {f['text']}", "  ", "    ")
        if len(fails) > limit:
            out += _wrap(f"... {len(fails) - limit} more: bitlayout report --format json has them all.")
    return out


def _findings(report: Mapping[str, Any]) -> list[str]:
    out = _title("Findings")
    shown = [f for f in report["findings"] if f["headline"]]
    if not report["findings"]:
        out += _wrap("none: every check agreed with the model")
    for f in shown:
        tag = f"[{f['severity'].upper()}] "
        out += _wrap(f"{tag}{f['text']}", "  ", " " * (2 + len(tag)))
    return out


def render_text(report: Mapping[str, Any], *, evidence_limit: int = 25) -> str:
    s = report["summary"]
    spec = report.get("spec") or {}
    head = _wrap(report["title"], "", "  ")
    head += _wrap(f"spec: {spec.get('path', '(none)')}", "", "  ")
    head += _wrap(f"arches: {s['arches']} ({s['verified_arches']} verified by a compiler or CPU); "
                  f"rows: {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skip']} skip", "", "  ")
    lines: list[str] = head
    lines += _findings(report)
    lines += _overview(report)
    lines += _divergence(report)
    lines += _bitmaps(report)
    lines += _tagged(report)
    lines += _structs(report)
    lines += _evidence(report, evidence_limit)
    lines.append("")
    lines.append(f"-- {report['schema']}, generated by bitlayout")
    text = "\n".join(_ascii(line).rstrip() for line in lines) + "\n"
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long[0]  # internal invariant: every line above is built to fit
    return text


def lines_over(text: str, limit: int = 80) -> list[str]:
    return [line for line in text.splitlines() if len(line) > limit]



# ---------------------------------------------------------------------------
# bitlayout diff


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _diff_cells(facts: Mapping[str, Any]) -> dict[str, str]:
    if "error" in facts:
        return {"size / align": "error"}
    cells = {"size / align": f"{facts['size_bytes']} / {facts['align_bytes']}"}
    bm = facts.get("bitmap")
    if bm:
        cells["bits"] = f"{bm['nbits']} = {bm['nwords']} x {bm['word_bytes'] * 8}"
        nrs = facts["oob_bits"]
        cells["out-of-bounds bits"] = _ranges_text(nrs) if nrs else "none"
        cells["... of them in use here"] = str(len(facts["oob_in_use"]))
        cells["words past the end"] = str(facts["words_past_end"])
        cells["whole-value read tears"] = _yes(facts["full_read_tears"])
        cells["masks that tear"] = str(len(facts["tearing_masks"]))
    elif "not_bitmap" in facts:
        cells["bits"] = "not a bitmap type"
    c = facts.get("container")
    if c is not None:
        if not c.get("declared"):
            cells["container"] = "not declared"
        else:
            cells["container size / align"] = f"{c['size_bytes']} / {c['align_bytes']}"
            cells["container holes"] = f"{c['hole_bytes']} bytes"
            if c.get("member"):
                cells["offset in container"] = f"{c['offsets'].get(c['member'], '?')} ({c['member']})"
    return cells


def _ranges_text(nrs: list[int]) -> str:
    return format_bit_ranges(nrs, sep=",")

def render_diff_text(diff: Mapping[str, Any]) -> str:
    from ..diff import header_label

    old, new = diff["old"], diff["new"]
    lines = ["bitlayout diff"]
    lines += _wrap(f"old: {old['type']}  ({header_label(old['path'])})")
    lines += _wrap(f"new: {new['type']}  ({header_label(new['path'])})")
    fl = diff["flags"]
    lines += _wrap(f"flags: {fl['count']} names, {fl.get('bit_numbers', '?')} bit numbers, from "
                   f"{fl.get('describe', fl['source'])}"
                   + (f"; container: {diff['container']}" if diff.get("container") else ""))
    s = diff["summary"]
    lines += _wrap(f"{len(s['changed'])} of {s['arches']} arches change; new out-of-bounds flags on "
                   f"{len(s['new_out_of_bounds'])}, fixed on {len(s['fixed_out_of_bounds'])}")
    for g in diff["groups"]:
        lines.append("")
        lines += _wrap(f"{', '.join(g['arches'])}  [{', '.join(g['layout_classes'])}]", "", "  ")
        oc, nc = _diff_cells(g["old"]), _diff_cells(g["new"])
        lines.append(f"  {'':<24}{'old':<26}{'new':<26}")
        for key in list(dict.fromkeys(list(oc) + list(nc))):
            o, n = oc.get(key, "-"), nc.get(key, "-")
            # The member may be named differently in each design; only the offset counts.
            same = o.split(" ")[0] == n.split(" ")[0] if key == "offset in container" else o == n
            mark = " " if same else "*"
            lines.append(f"{mark} {key:<24}{o[:25]:<26}{n[:25]:<26}".rstrip())
        for err in (g["old"].get("error"), g["new"].get("error")):
            if err:
                lines += _wrap(f"error: {err}", "  ", "    ")
        if g["changes"]:
            for c in g["changes"]:
                lines += _wrap(f"- {c}", "  ", "    ")
        else:
            lines += _wrap("no change")
    lines.append("")
    lines.append("  * = differs between old and new")
    text = "\n".join(_ascii(line).rstrip() for line in lines) + "\n"
    assert not lines_over(text), lines_over(text)[0]
    return text
