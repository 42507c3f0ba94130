"""Ticket files for the triage model: the formats it reads and how held-out rows are split off.

Two public formats are supported, and any file with the same columns works:

- ``endava``: the Endava IT support ticket export (columns ``title``, ``body``, ``category``
  and others). The input text is title and body joined. The category is the ``category``
  code. The export has no column that groups categories into queues, so no queue target
  comes from the file.
- ``bitext``: the Bitext customer-support intent set (columns ``instruction``, ``intent``,
  ``category``). The category is the fine-grained ``intent`` (27 values), and the queue
  target is the data set's own routing column ``category`` (11 values). Every intent
  belongs to exactly one routing category there.

The Endava file carries no timestamps, and its label mix drifts along the file order, so its
held-out rows are the last ones of the file (a shuffled split would overstate accuracy).
The Bitext file is sorted by intent, so the last rows would be intents never seen in
training: its held-out rows are spread evenly over the file instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml.common.datasets import dataset_path

FORMATS: tuple[str, ...] = ("endava", "bitext")
SPLITS: tuple[str, ...] = ("order", "interleaved")
DEFAULT_SPLITS = {"endava": "order", "bitext": "interleaved"}

_DEFAULT_FILES = {
    "endava": ("endava_support_tickets", "all_tickets_part_train.csv"),
    "bitext": ("bitext_customer_support", "bitext_customer_support_train.csv"),
}
_REQUIRED_COLUMNS = {
    "endava": ("title", "body", "category"),
    "bitext": ("instruction", "intent", "category"),
}


@dataclass(frozen=True)
class TicketSet:
    """Ticket texts with their category and, where the format has one, their queue."""

    texts: list[str]
    categories: list[str]
    queues: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: slice | list[int]) -> TicketSet:
        """Return the tickets at the given row positions, in the same order."""
        if isinstance(rows, slice):
            indices = list(range(len(self)))[rows]
        else:
            indices = list(rows)
        return TicketSet(
            texts=[self.texts[i] for i in indices],
            categories=[self.categories[i] for i in indices],
            queues=None if self.queues is None else [self.queues[i] for i in indices],
        )


def default_data_file(data_format: str) -> Path:
    """Return the path of the public data set file of a format, which may not exist."""
    return dataset_path(*_DEFAULT_FILES[_check_format(data_format)])


def resolve_data_file(path: Path) -> Path:
    """Return the CSV file at `path`, or the only CSV file in the folder `path`.

    SageMaker hands each input channel over as a folder, so both forms are accepted.
    """
    if path.is_dir():
        candidates = sorted(path.glob("*.csv"))
        if len(candidates) != 1:
            raise ValueError(
                f"expected exactly one .csv file in {path}, found {len(candidates)}; "
                "pass the file itself instead of the folder"
            )
        return candidates[0]
    if not path.is_file():
        raise ValueError(f"data file not found: {path}; pass --data with an existing CSV file")
    return path


def load_tickets(path: Path, data_format: str) -> TicketSet:
    """Read a ticket CSV file in one of FORMATS, keeping the file order."""
    data_format = _check_format(data_format)
    path = resolve_data_file(Path(path))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)

    missing = [column for column in _REQUIRED_COLUMNS[data_format] if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} is not a {data_format} ticket file: missing column(s) {', '.join(missing)}; "
            f"check --format (one of {', '.join(FORMATS)})"
        )

    if data_format == "endava":
        texts = (frame["title"].str.strip() + " " + frame["body"].str.strip()).str.strip()
        categories = frame["category"].str.strip()
        queues = None
    else:
        texts = frame["instruction"].str.strip()
        categories = frame["intent"].str.strip()
        queues = frame["category"].str.strip()

    keep = (texts != "") & (categories != "")
    if not keep.any():
        raise ValueError(f"{path} has no rows with both a text and a category")
    return TicketSet(
        texts=texts[keep].tolist(),
        categories=categories[keep].tolist(),
        queues=None if queues is None else queues[keep].tolist(),
    )


def split_by_order(tickets: TicketSet, test_fraction: float) -> tuple[TicketSet, TicketSet]:
    """Split into the first rows (training) and the last `test_fraction` of rows (test)."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    cut = len(tickets) - round(len(tickets) * test_fraction)
    return tickets.subset(slice(0, cut)), tickets.subset(slice(cut, None))


def split_interleaved(tickets: TicketSet, test_fraction: float) -> tuple[TicketSet, TicketSet]:
    """Split with the test rows spread evenly over the file, for files sorted by label."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    test_rows = [i for i in range(len(tickets)) if int((i + 1) * test_fraction) > int(i * test_fraction)]
    chosen = set(test_rows)
    return tickets.subset([i for i in range(len(tickets)) if i not in chosen]), tickets.subset(test_rows)


def split_tickets(tickets: TicketSet, test_fraction: float, method: str) -> tuple[TicketSet, TicketSet]:
    """Split into training and test tickets by one of SPLITS."""
    if method == "order":
        return split_by_order(tickets, test_fraction)
    if method == "interleaved":
        return split_interleaved(tickets, test_fraction)
    raise ValueError(f"unknown split {method!r}; use one of {', '.join(SPLITS)}")


def _check_format(data_format: str) -> str:
    if data_format not in FORMATS:
        raise ValueError(f"unknown data format {data_format!r}; use one of {', '.join(FORMATS)}")
    return data_format
