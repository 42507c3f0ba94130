"""Model artifacts: where they are written and the metadata stored beside them."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

METADATA_FILE = "metadata.json"
ARTIFACTS_VARIABLE = "MODEL_ARTIFACTS_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def artifacts_root() -> Path:
    """Return the folder that contains one sub-folder of artifacts per model."""
    configured = os.environ.get(ARTIFACTS_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    return _PROJECT_ROOT / ".artifacts" / "models"


def model_dir(name: str) -> Path:
    """Return the default artifact folder of one model."""
    return artifacts_root() / name


def fingerprint_files(paths: list[Path]) -> str:
    """Return a SHA-256 over the names, sizes and contents of the training files."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def write_metadata(directory: Path, *, name: str, version: str, **fields: Any) -> dict[str, Any]:
    """Write metadata.json (name, version, training time and any extra fields) and return it."""
    metadata = {
        "name": name,
        "version": version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return metadata


def read_metadata(directory: Path) -> dict[str, Any]:
    """Read metadata.json of an artifact folder."""
    return json.loads((directory / METADATA_FILE).read_text("utf-8"))
