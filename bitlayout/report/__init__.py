"""The layout report: ``facts`` gathers the inputs, ``model`` computes the data, ``findings``
words it, the others render it.

``build_report`` (in ``model``) returns the ``bitlayout.report/1`` dict;
``render(report, fmt)`` turns it into HTML (inline SVG and CSS), 80-column
text or JSON.
"""

from __future__ import annotations

from typing import Any, Mapping

from .model import REPORT_SCHEMA, build_report

FORMATS = ("html", "text", "json")


def render(report: Mapping[str, Any], fmt: str) -> str:
    if fmt == "html":
        from .html import render_html
        return render_html(report)
    if fmt == "text":
        from .text import render_text
        return render_text(report)
    if fmt == "json":
        from .json import render_json
        return render_json(report)
    raise ValueError(f"unknown report format {fmt!r}")  # argparse restricts the choices


__all__ = ["FORMATS", "REPORT_SCHEMA", "build_report", "render"]
