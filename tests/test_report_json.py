"""report.json: the data behind the page, as JSON."""

from __future__ import annotations

import json

from test_report_model import fixture_report

from bitlayout.report import render


def test_json_round_trips_to_the_report_dict():
    report = fixture_report()
    data = json.loads(render(report, "json"))
    assert data["schema"] == "bitlayout.report/1"
    assert data == json.loads(json.dumps(report))  # plain data all the way down
    assert set(data) >= {"arches", "grid", "bitmaps", "tagged_pointers", "structs", "findings", "evidence"}
    ev = [r for r in data["evidence"] if r["arch"] == "i386" and r["check"] == "tear"]
    assert ev == [{"arch": "i386", "check": "tear", "backend": "exec", "status": "fail",
                   "detail": "torn 870 of 1000 reads", "predicted": None, "observed": None,
                   "evidence": {"elapsed_us": 60000, "threads": 2}}]
