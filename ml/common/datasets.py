"""Location of the public data sets used for training and evaluation."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_VARIABLE = "SERVICEDESK_DATA_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Return the folder of public data sets.

    SERVICEDESK_DATA_DIR wins; otherwise the `shared/data` folder checked out beside the
    project. The folder may not exist: callers skip or fail with a clear message then.
    """
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    return _PROJECT_ROOT.parent / "shared" / "data"


def dataset_path(*parts: str) -> Path:
    """Return the path of a file or folder inside the data folder, which may not exist."""
    return data_dir().joinpath(*parts)
