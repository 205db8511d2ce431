"""The report as JSON (``bitlayout.report/1``): the data behind the page.

Rendering only: the dict comes from ``report.model.build_report``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=False, default=str) + "\n"
