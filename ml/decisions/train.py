"""Train the approval decision model (SageMaker script mode or local).

    python -m ml.decisions.train --model-dir DIR [--history FILE.jsonl] [--generated N] [--seed S]

Training rows are the product's recorded decisions (`--history`, exported by
ml/decisions/history.py) and, while those are few, generated history (ml/decisions/generator.py).
Recorded rows count `RECORDED_WEIGHT` times, so the product's own labels, overrules included,
outweigh the simulation as they accumulate.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ml.common.artifacts import METADATA_FILE, write_metadata
from ml.decisions.generator import generate
from ml.decisions.history import read_rows
from ml.decisions.model import DecisionModel

DEFAULT_GENERATED_ROWS = 6000
RECORDED_WEIGHT = 5


def training_rows(history: list[dict[str, Any]], generated_rows: int, seed: int) -> list[dict[str, Any]]:
    return generate(generated_rows, seed=seed) + [row for row in history for _ in range(RECORDED_WEIGHT)]


def train(model_dir: Path, history: list[dict[str, Any]], generated_rows: int = DEFAULT_GENERATED_ROWS, seed: int = 7) -> dict[str, Any]:
    """Fit the model, save it with metadata.json into `model_dir`, and return the metadata."""
    rows = training_rows(history, generated_rows, seed)
    if not rows:
        raise ValueError("no training rows: pass --history or a positive --generated")
    model = DecisionModel.fit(rows)
    model.save(model_dir)
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return write_metadata(
        model_dir,
        name="decisions",
        version=f"decisions-{digest}",
        generated_rows=generated_rows,
        recorded_rows=len(history),
        seed=seed,
    )


def ensure_model(model_dir: Path) -> Path:
    """Train on generated history when no artifact exists (first local run); return the folder."""
    if not (model_dir / METADATA_FILE).is_file():
        train(model_dir, [])
    return model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.decisions.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("SM_MODEL_DIR", ".artifacts/models/decisions")),
                        help="folder that receives model.joblib and metadata.json")
    parser.add_argument("--history", type=Path, default=None, help="JSON Lines of recorded decisions (ml/decisions/history.py)")
    parser.add_argument("--generated", type=int, default=DEFAULT_GENERATED_ROWS, help="rows of generated history to add")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated history")
    arguments = parser.parse_args(argv)

    history = read_rows(arguments.history) if arguments.history else []
    metadata = train(arguments.model_dir, history, arguments.generated, arguments.seed)
    print(f"trained {metadata['version']} on {metadata['generated_rows']} generated and {metadata['recorded_rows']} recorded rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
