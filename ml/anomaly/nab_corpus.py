"""Read a corpus in the Numenta Anomaly Benchmark layout: `data/<category>/<name>.csv` and
`labels/combined_windows.json`."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

WINDOWS_FILE = Path("labels") / "combined_windows.json"


@dataclass(frozen=True)
class Series:
    """One univariate series with its labelled anomaly windows."""

    name: str
    timestamps: list[datetime]
    values: list[float]
    windows: list[tuple[datetime, datetime]]


def read_series_csv(path: Path) -> tuple[list[datetime], list[float]]:
    """Read a `timestamp,value` CSV file."""
    timestamps: list[datetime] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"timestamp", "value"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected the header 'timestamp,value', found {reader.fieldnames}")
        for line_number, row in enumerate(reader, start=2):
            try:
                timestamps.append(datetime.fromisoformat(row["timestamp"]))
                values.append(float(row["value"]))
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}:{line_number}: invalid row {row}: {error}") from error
    return timestamps, values


def load_corpus(nab_dir: Path, limit: int | None = None) -> list[Series]:
    """Load every series listed in the windows file that has a CSV under `data/`.

    `limit` keeps only the first series in name order, for quick runs.
    """
    nab_dir = Path(nab_dir)
    windows_path = nab_dir / WINDOWS_FILE
    if not windows_path.is_file():
        raise FileNotFoundError(f"windows file not found: {windows_path}; pass --nab-dir with data/ and labels/")
    windows_by_name = json.loads(windows_path.read_text("utf-8"))

    corpus = []
    for name in sorted(windows_by_name):
        path = nab_dir / "data" / name
        if not path.is_file():
            continue
        timestamps, values = read_series_csv(path)
        windows = [(datetime.fromisoformat(start), datetime.fromisoformat(end)) for start, end in windows_by_name[name]]
        corpus.append(Series(name, timestamps, values, windows))
        if limit is not None and len(corpus) >= limit:
            break
    if not corpus:
        raise FileNotFoundError(f"no series of {windows_path} found under {nab_dir / 'data'}")
    return corpus


def corpus_files(nab_dir: Path) -> list[Path]:
    """Return the data and label files of a corpus, for the data fingerprint."""
    nab_dir = Path(nab_dir)
    return sorted((nab_dir / "data").glob("*/*.csv")) + [nab_dir / WINDOWS_FILE]
