"""Reading the ServiceNow event log and replaying one incident, without a running stack."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import requests

from cli.replay_servicenow import ServiceNowReplay, read_incidents

HEADER = ["number", "incident_state", "sys_updated_at", "opened_at", "priority", "contact_type"]


def write_log(path: Path, numbers: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in numbers:
            writer.writerow([number, "New", "1/3/2016 09:00", "1/3/2016 09:00", "3 - Moderate", "Phone"])
            writer.writerow([number, "Active", "1/3/2016 09:30", "1/3/2016 09:00", "3 - Moderate", "Phone"])


def test_skip_and_limit_select_incidents(tmp_path: Path) -> None:
    log = tmp_path / "incidents.csv"
    write_log(log, ["INC1", "INC2", "INC3", "INC4", "INC5"])

    assert [incident.number for incident in read_incidents(log, limit=2)] == ["INC1", "INC2"]
    assert [incident.number for incident in read_incidents(log, limit=2, skip=3)] == ["INC4", "INC5"]
    assert [incident.number for incident in read_incidents(log, skip=4)] == ["INC5"]
    assert list(read_incidents(log, skip=9)) == []
    assert [len(incident.events) for incident in read_incidents(log)] == [2, 2, 2, 2, 2]


class TimingOutApi:
    def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> Any:
        raise requests.ReadTimeout("Read timed out. (read timeout=30)")


def test_failed_request_ends_incident_with_error(tmp_path: Path) -> None:
    log = tmp_path / "incidents.csv"
    write_log(log, ["INC7"])
    (incident,) = read_incidents(log)
    replay = ServiceNowReplay(TimingOutApi(), None, "queue-url", "tenant-1")  # type: ignore[arg-type]

    result = replay.replay(incident)

    assert result.ticket_id is None
    assert len(result.errors) == 1
    assert result.errors[0].startswith("INC7: request failed: ReadTimeout")
