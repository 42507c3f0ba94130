"""Unit tests of model packaging: archive layout, self-contained code, stable hashes, names and images."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ml.deploy import dependencies
from ml.deploy.package import FIXED_MTIME, PackagingError, archive_bytes, build_model_archive
from ml.deploy.registry import _from_dynamodb_value, _to_dynamodb_value
from ml.deploy.sagemaker import (
    MAX_NAME_LENGTH,
    SKLEARN_REGISTRIES,
    RealtimeCapacity,
    ServerlessCapacity,
    archive_key,
    endpoint_config_name,
    model_resource_name,
    resource_name,
    sklearn_image_uri,
)

BGL_NODE = "R02-M1-N0-C:J12-U11"

# Runs the archive's code/inference.py as the serving container does: code/ on sys.path and
# nothing of the source tree. The editable install's import hook is removed, so a module
# missing from the archive fails instead of being found in the project.
RUNNER = r"""
import json, sys
code_dir, model_dir, request_path = sys.argv[1:4]
sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "__module__", "").startswith("__editable__")]
sys.path.insert(0, code_dir)
import inference
model = inference.model_fn(model_dir)
with open(request_path, encoding="utf-8") as handle:
    data = inference.input_fn(handle.read(), "application/json")
body = inference.output_fn(inference.predict_fn(data, model), "application/json")
loaded = {name: getattr(module, "__file__", None) or "" for name, module in sys.modules.items() if name == "ml" or name.startswith("ml.")}
print(json.dumps({
    "body": body if isinstance(body, str) else body[0],
    "inference_file": inference.__file__,
    "outside_archive": sorted(name for name, path in loaded.items() if not path.startswith(code_dir)),
    "loaded": sorted(loaded),
}))
"""


def bgl_line(epoch: int, level: str, message: str, label: str | None = "-") -> str:
    line = f"{epoch} 2005.06.03 {BGL_NODE} 2005-06-03-15.42.50.675872 {BGL_NODE} RAS KERNEL {level} {message}"
    return line if label is None else f"{label} {line}"


@pytest.fixture(scope="module")
def sentiment_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.sentiment import train

    target = tmp_path_factory.mktemp("sentiment") / "model"
    train.main(["--model-dir", str(target), "--no-public-data", "--morphemes", "off"])
    return target


@pytest.fixture(scope="module")
def logfailure_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.logfailure import train

    folder = tmp_path_factory.mktemp("logfailure")
    lines = []
    for index in range(30):
        epoch = 1117838570 + 10 * index
        lines.append(bgl_line(epoch, "INFO", f"generating core.{1000 + index}"))
        lines.append(bgl_line(epoch + 1, "INFO", "instruction cache parity error corrected"))
        if index % 3 == 0:
            lines.append(bgl_line(epoch + 2, "FATAL", "data TLB error interrupt", label="KERNDTLB"))
    log = folder / "bgl.log"
    log.write_text("\n".join(lines) + "\n", "utf-8")
    train.main(["--train", str(log), "--model-dir", str(folder / "model"), "--train-fraction", "1"])
    return folder / "model"


@pytest.fixture(scope="module")
def sentiment_archive(sentiment_artifact: Path, tmp_path_factory: pytest.TempPathFactory):
    return build_model_archive(sentiment_artifact, tmp_path_factory.mktemp("archive"))


def extract(archive_path: Path, target: Path) -> Path:
    with tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(target, filter="data")
    return target


def run_extracted(folder: Path, request: dict, scratch: Path) -> dict:
    request_path = scratch / "request.json"
    request_path.write_text(json.dumps(request, ensure_ascii=False), "utf-8")
    completed = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, str(folder / "code"), str(folder), str(request_path)],
        capture_output=True,
        text=True,
        cwd=scratch,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- archive layout ----------------------------------------------------------------------------


def test_sentiment_archive_layout(sentiment_artifact, sentiment_archive, tmp_path):
    archive = sentiment_archive

    with tarfile.open(archive.path, "r:gz") as tar:
        names = tar.getnames()
        infos = tar.getmembers()

    assert names == sorted(names)
    assert "model.joblib" in names
    assert "metadata.json" in names
    assert "code/inference.py" in names
    assert "code/ml/__init__.py" in names
    assert "code/ml/sentiment/__init__.py" in names
    assert "code/ml/sentiment/model.py" in names
    assert "code/ml/sentiment/features.py" in names
    assert not any(name.startswith("code/ml/sentiment/train") for name in names)
    assert all(info.mtime == FIXED_MTIME and info.uid == 0 and info.mode == 0o644 for info in infos)
    assert tuple(names) == archive.members
    assert archive.name == "sentiment"
    assert archive.version == json.loads((sentiment_artifact / "metadata.json").read_text("utf-8"))["version"]
    assert archive.sha256 == hashlib.sha256(archive.path.read_bytes()).hexdigest()


def test_entry_point_is_the_models_inference(sentiment_artifact, sentiment_archive, tmp_path):
    archive = sentiment_archive
    folder = extract(archive.path, tmp_path / "extracted")

    assert (folder / "code" / "inference.py").read_bytes() == dependencies.module_path("ml.sentiment.inference").read_bytes()
    assert (folder / "model.joblib").read_bytes() == (sentiment_artifact / "model.joblib").read_bytes()


def test_sentiment_archive_requirements(sentiment_artifact, sentiment_archive, tmp_path):
    archive = sentiment_archive
    folder = extract(archive.path, tmp_path / "extracted")

    declared = dependencies.package_requirements("sentiment")
    if declared:
        lines = (folder / "code" / "requirements.txt").read_text("utf-8").split()
        assert lines == sorted(declared)
        assert list(archive.requirements) == lines
    else:
        assert not (folder / "code" / "requirements.txt").exists()


def test_archive_hash_is_stable(sentiment_artifact, tmp_path):
    first = build_model_archive(sentiment_artifact, tmp_path / "first")
    second = build_model_archive(sentiment_artifact, tmp_path / "second")

    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()


def test_archive_hash_follows_artifact(sentiment_artifact, tmp_path):
    import shutil

    changed = tmp_path / "changed"
    shutil.copytree(sentiment_artifact, changed)
    metadata = json.loads((changed / "metadata.json").read_text("utf-8"))
    metadata["metrics"] = {"note": "changed"}
    (changed / "metadata.json").write_text(json.dumps(metadata), "utf-8")

    original = build_model_archive(sentiment_artifact, tmp_path / "a")
    modified = build_model_archive(changed, tmp_path / "b")

    assert original.sha256 != modified.sha256


def test_archive_bytes_ignore_entry_order():
    assert archive_bytes({"b": b"2", "a": b"1"}) == archive_bytes({"a": b"1", "b": b"2"})
    assert archive_bytes({"a": b"1"}) != archive_bytes({"a": b"2"})


# --- self-contained code -----------------------------------------------------------------------


def test_extracted_sentiment_archive_serves(sentiment_artifact, sentiment_archive, tmp_path):
    archive = sentiment_archive
    folder = extract(archive.path, tmp_path / "extracted")

    result = run_extracted(folder, {"texts": ["The VPN keeps dropping, this is terrible", "서버가 또 다운됐어요"]}, tmp_path)
    response = json.loads(result["body"])

    assert result["inference_file"] == str(folder / "code" / "inference.py")
    assert result["outside_archive"] == []
    assert response["model"] == "sentiment"
    assert response["model_version"] == archive.version
    assert len(response["predictions"]) == 2
    assert {"label", "score", "negative", "language"} <= set(response["predictions"][0])


def test_extracted_logfailure_archive_ships_pickled_classes(logfailure_artifact, tmp_path):
    # inference.py of logfailure never imports ml.logfailure.model or .templates; only the
    # pickled detector refers to them, so the archive must find them by loading the artifact.
    archive = build_model_archive(logfailure_artifact, tmp_path / "out")
    folder = extract(archive.path, tmp_path / "extracted")

    result = run_extracted(
        folder,
        {"lines": [bgl_line(1117838570, "INFO", "generating core.12", label=None),
                   bgl_line(1117838571, "FATAL", "data TLB error interrupt", label=None)]},
        tmp_path,
    )
    response = json.loads(result["body"])

    assert "code/ml/logfailure/model.py" in archive.members
    assert "code/ml/logfailure/templates.py" in archive.members
    assert "ml.logfailure.model" in result["loaded"]
    assert result["outside_archive"] == []
    assert response["model"] == "logfailure"
    assert response["model_version"] == archive.version
    assert [prediction["alert"] for prediction in response["predictions"]] == [False, True]
    assert "code/requirements.txt" not in archive.members


def test_demand_needs_no_holidays_package():
    # holidays is imported only inside demand's fallback for calendars missing from the artifact.
    closure = dependencies.module_closure({"ml.demand.inference"}, follow_lazy=True)
    always = dependencies.module_closure({"ml.demand.inference"}, follow_lazy=False)

    assert "ml.demand.holiday_calendar" in closure
    assert "ml.demand.holiday_calendar" not in always
    assert dependencies.third_party_imports(always, follow_lazy=False) == {}
    assert "holidays" in dependencies.third_party_imports(closure, follow_lazy=False)


# --- bad input ---------------------------------------------------------------------------------


def test_missing_metadata_rejected(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"x")

    with pytest.raises(PackagingError, match="metadata.json not found"):
        build_model_archive(tmp_path, tmp_path / "out")


def test_unknown_model_name_rejected(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "weather", "version": "1"}), "utf-8")

    with pytest.raises(PackagingError, match="names model 'weather'"):
        build_model_archive(tmp_path, tmp_path / "out")


def test_expected_name_mismatch_rejected(sentiment_artifact, tmp_path):
    with pytest.raises(PackagingError, match="contains the sentiment model, not triage"):
        build_model_archive(sentiment_artifact, tmp_path / "out", name="triage")


def test_artifact_without_model_file_rejected(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "demand", "version": "1"}), "utf-8")

    with pytest.raises(PackagingError):
        build_model_archive(tmp_path, tmp_path / "out")


def test_broken_artifact_reports_model_fn_failure(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "sentiment", "version": "1"}), "utf-8")
    (tmp_path / "model.joblib").write_bytes(b"not a joblib file")

    with pytest.raises(PackagingError, match="model_fn of sentiment failed"):
        build_model_archive(tmp_path, tmp_path / "out")


# --- import analysis ---------------------------------------------------------------------------


def test_read_imports_marks_lazy_imports(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import json\n"
        "from ml.common import artifacts\n"
        "from . import sibling\n"
        "try:\n"
        "    import holidays\n"
        "except ImportError:\n"
        "    holidays = None\n"
        "def load():\n"
        "    import drain3\n",
        "utf-8",
    )

    imports = {item.module: item.lazy for item in dependencies.read_imports(source, "ml.demand.sample")}

    assert imports["json"] is False
    assert imports["ml.common"] is False
    assert imports["ml.common.artifacts"] is False
    assert imports["ml.demand"] is False
    assert imports["holidays"] is True
    assert imports["drain3"] is True


def test_undeclared_third_party_import_rejected():
    with pytest.raises(dependencies.DependencyError, match="imports leftpad"):
        dependencies.resolve_requirements("triage", {"leftpad": "ml.triage.model"})


def test_declared_import_resolves_to_pyproject_bound():
    assert dependencies.resolve_requirements("logfailure", {"drain3": "ml.logfailure.templates"}) == ["drain3>=0.9.11,<0.10"]


# --- names and images --------------------------------------------------------------------------


def test_resource_names_are_valid_for_sagemaker():
    name = model_resource_name("triage", "20261204T203210Z-abcdef12")

    assert name == "servicedesk-triage-20261204t203210z-abcdef12"
    assert archive_key("servicedesk/models/", "triage", "20261204T203210Z-abcdef12") == (
        "servicedesk/models/triage/20261204T203210Z-abcdef12/model.tar.gz"
    )


def test_long_resource_names_stay_distinct():
    first = resource_name("servicedesk", "resolution", "v" * 80 + "1")
    second = resource_name("servicedesk", "resolution", "v" * 80 + "2")

    assert len(first) <= MAX_NAME_LENGTH
    assert len(second) <= MAX_NAME_LENGTH
    assert first != second


def test_endpoint_config_name_depends_on_capacity():
    realtime = endpoint_config_name("sentiment", "1", RealtimeCapacity())
    bigger = endpoint_config_name("sentiment", "1", RealtimeCapacity(instance_count=2))
    serverless = endpoint_config_name("sentiment", "1", ServerlessCapacity())

    assert len({realtime, bigger, serverless}) == 3
    assert realtime == endpoint_config_name("sentiment", "1", RealtimeCapacity())


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (lambda: ServerlessCapacity(memory_size_mb=1500), "one of 1024"),
        (lambda: ServerlessCapacity(max_concurrency=0), "max concurrency"),
        (lambda: RealtimeCapacity(instance_type="m5.large"), "not a SageMaker type"),
        (lambda: RealtimeCapacity(instance_count=0), "at least 1"),
    ],
)
def test_invalid_capacity_rejected(capacity, message):
    with pytest.raises(ValueError, match=message):
        capacity()


def test_image_uri_matches_sagemaker_sdk():
    from sagemaker import image_uris

    for region in SKLEARN_REGISTRIES:
        expected = image_uris.retrieve("sklearn", region, version="1.2-1", image_scope="inference")

        assert sklearn_image_uri(region, "1.2-1") == expected, region


def test_image_uri_unknown_region_rejected():
    with pytest.raises(ValueError, match="pass the image URI explicitly"):
        sklearn_image_uri("xx-nowhere-1")


# --- registry values ---------------------------------------------------------------------------


def test_registry_values_round_trip():
    metrics = {"f1": 0.8125, "rows": 12, "nested": [0.5, {"auc": float("nan")}]}

    stored = _to_dynamodb_value(metrics)
    restored = _from_dynamodb_value(stored)

    assert restored["f1"] == 0.8125
    assert restored["rows"] == 12
    assert restored["nested"][0] == 0.5
    assert restored["nested"][1]["auc"] == "nan"
