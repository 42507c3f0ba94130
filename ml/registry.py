"""The models that `servicedesk train` and `servicedesk evaluate` know.

Each name maps to a package `ml.<name>` whose `commands` module defines:

- `add_train_arguments(parser)` and `train(args) -> dict`
- `add_evaluate_arguments(parser)` and `evaluate(args) -> dict`

Both functions return a JSON-serialisable dict of metrics, which the CLI prints.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODEL_NAMES: tuple[str, ...] = ("sentiment", "triage", "resolution", "anomaly", "logfailure", "demand")


def load_commands(name: str) -> ModuleType:
    """Import `ml.<name>.commands`; raise KeyError for an unknown model name."""
    if name not in MODEL_NAMES:
        raise KeyError(name)
    return importlib.import_module(f"ml.{name}.commands")
