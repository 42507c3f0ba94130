"""Build the SageMaker `model.tar.gz` of a model from its artifact folder.

Layout, as the SageMaker scikit-learn serving container expects it once the archive is
extracted to /opt/ml/model:

    model.joblib, metadata.json, ...   the artifact folder's files, at the root
    code/inference.py                  the entry point (model_fn, input_fn, predict_fn, output_fn)
    code/ml/...                        the `ml` modules that inference.py and the pickled model import
    code/requirements.txt              packages the container lacks, installed when the endpoint starts

The container puts code/ on sys.path (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code), so
`import ml.triage.model` resolves inside the archive. Entries are sorted and carry fixed times,
owners and modes, and gzip stores no time or name, so the same inputs give the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.common.artifacts import METADATA_FILE, read_metadata
from ml.deploy import dependencies
from ml.registry import MODEL_NAMES

CODE_DIR = "code"
ENTRY_POINT = "inference.py"
ARCHIVE_SUFFIX = ".model.tar.gz"
# 1980-01-01, the earliest time that zip-based tools accept, rather than 0 (1970).
FIXED_MTIME = 315532800
_SKIPPED_NAMES = {"__pycache__", CODE_DIR}


class PackagingError(ValueError):
    """The artifact folder or the model's code cannot be packaged."""


@dataclass(frozen=True)
class ModelArchive:
    """A built model archive and what it contains."""

    path: Path
    sha256: str
    name: str
    version: str
    metadata: dict[str, Any] = field(repr=False)
    members: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()


def read_artifact_metadata(artifact_dir: Path, expected_name: str | None = None) -> dict[str, Any]:
    """Read and check metadata.json of an artifact folder: a known model name and a version."""
    if not (artifact_dir / METADATA_FILE).is_file():
        raise PackagingError(
            f"{artifact_dir / METADATA_FILE} not found; pass the folder that `servicedesk train <model>` wrote"
        )
    metadata = read_metadata(artifact_dir)
    name = metadata.get("name")
    if name not in MODEL_NAMES:
        raise PackagingError(f"{artifact_dir / METADATA_FILE} names model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    if expected_name is not None and name != expected_name:
        raise PackagingError(f"{artifact_dir} contains the {name} model, not {expected_name}; pass the {expected_name} artifact folder")
    if not isinstance(metadata.get("version"), str) or not metadata["version"].strip():
        raise PackagingError(f"{artifact_dir / METADATA_FILE} has no version; retrain the model to write one")
    return metadata


@dataclass(frozen=True)
class InferenceCode:
    """The `ml` modules that code/inference.py needs, and the packages to install for them."""

    modules: frozenset[str]
    requirements: tuple[str, ...]


def inference_code(name: str, artifact_dir: Path) -> InferenceCode:
    """Find the `ml` modules and requirements of code/inference.py for this artifact.

    The archive ships the modules that inference.py imports, also inside functions (such as a
    fallback loaded on demand), and the modules that `model_fn` loads, which include the classes
    of pickled objects that inference.py never imports by name. Requirements come only from
    imports that always run: an import inside a function or under `except ImportError` is an
    optional path that inference.py handles without the package (demand's `holidays` fallback,
    for example). `ml/<name>/requirements.txt` lists any such package that a model does need.
    """
    entry_module = f"{dependencies.PACKAGE}.{name}.inference"
    imports = [
        item
        for item in dependencies.read_imports(dependencies.module_path(entry_module), entry_module)
        if item.module.split(".")[0] == dependencies.PACKAGE
    ]
    loaded = dependencies.modules_loaded_by_model_fn(name, artifact_dir)
    loaded.discard(entry_module)

    shipped = dependencies.module_closure({item.module for item in imports} | loaded, follow_lazy=True)
    always_loaded = dependencies.module_closure(
        {item.module for item in imports if not item.lazy} | loaded, follow_lazy=False
    )
    third_party = dependencies.third_party_imports(always_loaded | {entry_module}, follow_lazy=False)
    requirements = dependencies.resolve_requirements(name, third_party)
    return InferenceCode(frozenset(shipped), tuple(requirements))


def build_model_archive(artifact_dir: Path, output_dir: Path, *, name: str | None = None) -> ModelArchive:
    """Write `<name>-<version>.model.tar.gz` into `output_dir` and return its description."""
    artifact_dir = Path(artifact_dir).resolve()
    metadata = read_artifact_metadata(artifact_dir, name)
    name, version = metadata["name"], metadata["version"]

    try:
        code = inference_code(name, artifact_dir)
    except dependencies.DependencyError as error:
        raise PackagingError(str(error)) from error

    entries = _artifact_entries(artifact_dir, Path(output_dir).resolve())
    entries[f"{CODE_DIR}/{ENTRY_POINT}"] = dependencies.module_path(f"{dependencies.PACKAGE}.{name}.inference").read_bytes()
    for module in sorted(code.modules):
        source = dependencies.module_path(module)
        relative = source.relative_to(dependencies.PROJECT_ROOT).as_posix()
        entries[f"{CODE_DIR}/{relative}"] = source.read_bytes()
    if code.requirements:
        entries[f"{CODE_DIR}/{dependencies.REQUIREMENTS_FILE}"] = ("\n".join(code.requirements) + "\n").encode()

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}-{_file_safe(version)}{ARCHIVE_SUFFIX}"
    data = archive_bytes(entries)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)

    return ModelArchive(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        name=name,
        version=version,
        metadata=metadata,
        members=tuple(sorted(entries)),
        requirements=code.requirements,
    )


def _artifact_entries(artifact_dir: Path, output_dir: Path) -> dict[str, bytes]:
    """Read the artifact's files by archive name; skip hidden files, caches, code/ and archives."""
    entries: dict[str, bytes] = {}
    for path in sorted(artifact_dir.rglob("*")):
        relative = path.relative_to(artifact_dir)
        if any(part.startswith(".") or part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if not path.is_file() or path.name.endswith((ARCHIVE_SUFFIX, ".partial")) or path.parent == output_dir:
            continue
        entries[relative.as_posix()] = path.read_bytes()
    if not any(name != METADATA_FILE for name in entries):
        raise PackagingError(f"{artifact_dir} contains metadata.json but no model file; retrain the model")
    return entries


def archive_bytes(entries: dict[str, bytes]) -> bytes:
    """Return a gzip-compressed tar of `entries` (archive name to content) that depends only on them."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for name in sorted(entries):
                content = entries[name]
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mtime = FIXED_MTIME
                info.mode = 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _file_safe(version: str) -> str:
    return "".join(character if character.isalnum() or character in "-_." else "-" for character in version)
