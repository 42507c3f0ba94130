"""The KPI report: HTML with a table and charts, and how it reads GET /kpis."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from typing import Any

import pytest

from cli import report
from functions.domain import kpis

FIRST = date(2026, 3, 1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sample_report() -> dict[str, Any]:
    counters = {
        FIRST: {"created": 3, "resolved": 1, "resolution_seconds": 3600, "backlog_delta": 2, "csat_sum": 4, "csat_count": 1},
        FIRST + timedelta(days=2): {"created": 1, "resolved": 2, "resolution_seconds": 10800, "fcr": 1, "backlog_delta": -1},
    }
    built = kpis.build_report(FIRST, FIRST + timedelta(days=2), "hardware", "Asia/Seoul", counters, open_now=1, later_deltas=0)
    return built.model_dump(mode="json")


class FakeResponse:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self._body = body
        self.text = str(body)

    def json(self) -> dict[str, Any]:
        return self._body


class FakeClient:
    def __init__(self, response: FakeResponse) -> None:
        self.response = response
        self.paths: list[str] = []

    def request(self, method: str, path: str) -> FakeResponse:
        self.paths.append(path)
        return self.response


def test_html_has_table_and_six_charts() -> None:
    page = report.render_html(sample_report())

    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 6
    assert all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)
    assert "queue hardware" in page
    assert "<td>MTTR</td><td class=num>1.33</td>" in page
    assert "<td>Backlog</td><td class=num>1.00</td>" in page
    assert "<td>SLA compliance</td><td class=num>n/a</td>" in page
    assert "<td class=num>14400 s / 3</td>" in page


def test_html_keeps_small_times_visible() -> None:
    built = kpis.build_report(FIRST, FIRST, None, "Asia/Seoul", {FIRST: {"resolved": 157, "resolution_seconds": 438.721}}, 0, 0)

    page = report.render_html(built.model_dump(mode="json"))

    assert "<td>MTTR</td><td class=num>0.0008</td><td>hours</td><td class=num>438.721 s / 157</td>" in page


def test_html_escapes_queue_name() -> None:
    data = sample_report()
    data["queue"] = "<script>"

    page = report.render_html(data)

    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_fetch_sends_window_and_queue() -> None:
    client = FakeClient(FakeResponse(200, sample_report()))

    report.fetch_report(client, FIRST, FIRST, "service desk")  # type: ignore[arg-type]

    assert client.paths == ["/kpis?from=2026-03-01&to=2026-03-01&queue=service+desk"]


def test_fetch_reports_api_error() -> None:
    client = FakeClient(FakeResponse(403, {"message": "You are not allowed to do this"}))

    with pytest.raises(SystemExit, match="403: You are not allowed"):
        report.fetch_report(client, FIRST, FIRST, None)  # type: ignore[arg-type]
