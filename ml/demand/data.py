"""Ticket volume series from incident event logs in the ServiceNow export format.

The log has one row per update event, so an incident appears on several rows. Volume counts
distinct incidents (`number`) by the time they were opened (`opened_at`, `D/M/YYYY HH:MM`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.common.datasets import dataset_path

INCIDENT_COLUMNS = ("number", "opened_at")
OPENED_AT_FORMAT = "%d/%m/%Y %H:%M"
# A day belongs to the dense period while the 7 days centred on it contain at least this share
# of the busiest 7 days. The published log ends in a sparse tail of a few tickets a week.
DENSE_SHARE_OF_PEAK = 0.2


def default_incidents_path() -> Path:
    """Return the public incident log used when no file is given (it may not exist)."""
    return dataset_path("servicenow_incident_log", "incident_event_log_train.csv")


def incident_files(path: Path) -> list[Path]:
    """Return the CSV files of an incident log given as one file or a folder of CSV files."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"no .csv file in {path}; put the incident event log there or pass the file itself")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"incident log not found: {path}; pass an existing CSV file or folder with --incidents")
    return [path]


def load_opened_times(path: Path) -> pd.Series:
    """Read the opening time of every distinct incident in an incident log (a CSV file or folder)."""
    files = incident_files(path)
    opened = pd.concat([_read_opened_times(file) for file in files])
    opened = opened[~opened.index.duplicated()]
    return opened.sort_values().reset_index(drop=True)


def _read_opened_times(path: Path) -> pd.Series:
    """Read one CSV file into opening times indexed by incident number."""
    header = pd.read_csv(path, nrows=0).columns
    missing = [column for column in INCIDENT_COLUMNS if column not in header]
    if missing:
        raise ValueError(
            f"{path} is missing the column(s) {', '.join(missing)}; "
            f"expected an incident event log with {', '.join(INCIDENT_COLUMNS)}"
        )

    rows = pd.read_csv(path, usecols=list(INCIDENT_COLUMNS), dtype=str)
    incidents = rows.dropna().drop_duplicates("number")
    opened = pd.to_datetime(incidents["opened_at"], format=OPENED_AT_FORMAT, errors="coerce")
    invalid = incidents.loc[opened.isna(), "opened_at"]
    if len(invalid):
        raise ValueError(
            f"{len(invalid)} opened_at value(s) in {path} are not D/M/YYYY HH:MM, for example {invalid.iloc[0]!r}"
        )
    if opened.empty:
        raise ValueError(f"{path} contains no incidents")
    return pd.Series(opened.to_numpy(), index=incidents["number"].to_numpy(), name="opened_at")


@dataclass(frozen=True)
class VolumeSeries:
    """Contiguous daily and hourly counts of the complete days of the dense period."""

    daily: pd.Series
    hourly: pd.Series


def volume_series(opened: pd.Series) -> VolumeSeries:
    """Count incidents per day and per hour over the dense period of the log.

    An export may start or stop in the middle of a day (the public log stops at 11:26). So the
    first day is dropped unless an incident opened before 01:00 on it. The last day is dropped
    unless an incident opened after 23:00 on it.
    """
    hourly_all = opened.dt.floor("h").value_counts().sort_index()
    hours = pd.date_range(opened.iloc[0].floor("D"), opened.iloc[-1].floor("D") + pd.Timedelta(hours=23), freq="h")
    hourly_all = hourly_all.reindex(hours, fill_value=0)
    daily_all = hourly_all.resample("D").sum()

    start, end = dense_period(daily_all)
    if start == daily_all.index[0] and opened.iloc[0].hour >= 1:
        start += pd.Timedelta(days=1)
    if end == daily_all.index[-1] and opened.iloc[-1].hour < 23:
        end -= pd.Timedelta(days=1)
    daily = daily_all.loc[start:end].astype(float)
    hourly = hourly_all.loc[start : end + pd.Timedelta(hours=23)].astype(float)
    return VolumeSeries(daily, hourly)


def dense_period(daily: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last day of the longest run of days with busy surrounding weeks."""
    weekly = daily.rolling(7, center=True, min_periods=1).sum()
    busy = (weekly >= DENSE_SHARE_OF_PEAK * weekly.max()).to_numpy()
    best = (0, 0)
    run_start = None
    for index, flag in enumerate(np.append(busy, False)):
        if flag and run_start is None:
            run_start = index
        elif not flag and run_start is not None:
            if index - run_start > best[1] - best[0]:
                best = (run_start, index)
            run_start = None
    return daily.index[best[0]], daily.index[best[1] - 1]
