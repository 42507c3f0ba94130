"""Incident tables for training and evaluation: features at open, outcomes and a time split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.common.datasets import dataset_path
from ml.resolution.features import feature_frame, incident_outcomes, incidents_at_open, read_event_log

DEFAULT_INCIDENTS_FILE = ("servicenow_incident_log", "incident_event_log_train.csv")


@dataclass
class IncidentTable:
    """Features at open and outcomes of the same incidents, in `opened_at` order."""

    features: pd.DataFrame
    outcomes: pd.DataFrame
    opened_at: pd.Series

    def __len__(self) -> int:
        return len(self.features)

    def select(self, mask: np.ndarray | pd.Series) -> IncidentTable:
        """Return the rows where `mask` is true."""
        mask = np.asarray(mask, dtype=bool)
        return IncidentTable(self.features[mask], self.outcomes[mask], self.opened_at[mask])


def default_incidents_path() -> Path:
    """Return the public incident event log inside the data folder, which may not exist."""
    return dataset_path(*DEFAULT_INCIDENTS_FILE)


def incident_files(path: Path) -> list[Path]:
    """Return the CSV files of a channel: the file itself, or every `*.csv` in a directory."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise ValueError(f"{path} contains no .csv incident event log; pass a CSV file or a folder with one")
        return files
    if not path.is_file():
        raise ValueError(f"incident event log {path} not found; pass --incidents with an existing CSV file")
    return [path]


def load_incident_table(files: list[Path], *, sample_incidents: int | None = None, seed: int = 0) -> IncidentTable:
    """Read event logs and build one row per incident with its features at open and outcomes.

    Caller history is counted over every incident in the files before any sampling, so a
    sample keeps the counts of the full log.
    """
    events = pd.concat([read_event_log(file) for file in files], ignore_index=True)
    incidents = incidents_at_open(events)
    outcomes = incident_outcomes(events).loc[incidents.index]

    if sample_incidents is not None and sample_incidents < len(incidents):
        chosen = np.random.default_rng(seed).choice(len(incidents), size=sample_incidents, replace=False)
        keep = np.zeros(len(incidents), dtype=bool)
        keep[chosen] = True
        incidents, outcomes = incidents[keep], outcomes[keep]

    return IncidentTable(feature_frame(incidents), outcomes, incidents["opened_at"])


def split_by_time(table: IncidentTable, test_fraction: float) -> tuple[IncidentTable, IncidentTable, pd.Timestamp]:
    """Split into the earliest incidents and the latest `test_fraction` of them by `opened_at`.

    Returns the training part, the test part and the boundary: every training incident opened
    before it and every test incident at or after it, so incidents opened in the same minute
    stay on one side.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    if test_fraction == 0.0:
        boundary = table.opened_at.max() + pd.Timedelta(minutes=1)
    else:
        position = int(round(len(table) * (1.0 - test_fraction)))
        boundary = table.opened_at.sort_values().iloc[min(position, len(table) - 1)]
    is_test = (table.opened_at >= boundary).to_numpy()
    return table.select(~is_test), table.select(is_test), boundary
