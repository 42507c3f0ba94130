"""Evaluation of the resolution model and its per-priority baseline on incident event logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, mean_absolute_error, median_absolute_error, roc_auc_score

from ml.common.artifacts import read_metadata
from ml.resolution import MODEL_FILE
from ml.resolution.dataset import IncidentTable, incident_files, load_incident_table
from ml.resolution.model import ResolutionModel


def score_predictions(
    outcomes: pd.DataFrame,
    predictions: pd.DataFrame,
) -> dict[str, float | None]:
    """Return SLA breach and resolution-time metrics of one set of predictions.

    AUC and average precision score `sla_breach_probability` against `sla_breached`; MAE and
    median absolute error compare `resolution_hours_p50` with the resolution hours of incidents
    that have one. The p90 coverage is reported when the predictions carry a p90.
    """
    breached = outcomes["sla_breached"].astype(int).to_numpy()
    both_classes = len(np.unique(breached)) == 2
    resolved = outcomes["resolution_hours"].notna().to_numpy()
    hours = outcomes["resolution_hours"].to_numpy()[resolved]
    p50 = predictions["resolution_hours_p50"].to_numpy()[resolved]

    scores: dict[str, float | None] = {
        "sla_roc_auc": float(roc_auc_score(breached, predictions["sla_breach_probability"])) if both_classes else None,
        "sla_average_precision": (
            float(average_precision_score(breached, predictions["sla_breach_probability"])) if both_classes else None
        ),
        "resolution_mae_hours": float(mean_absolute_error(hours, p50)) if resolved.any() else None,
        "resolution_median_ae_hours": float(median_absolute_error(hours, p50)) if resolved.any() else None,
    }
    if "resolution_hours_p90" in predictions and resolved.any():
        p90 = predictions["resolution_hours_p90"].to_numpy()[resolved]
        scores["resolution_p90_coverage"] = float(np.mean(hours <= p90))
    return scores


def evaluate_table(model: ResolutionModel, table: IncidentTable) -> dict[str, Any]:
    """Score the model and its per-priority baseline on the same incidents."""
    if len(table) == 0:
        raise ValueError("no incidents to evaluate")
    predictions = model.predict(table.features)
    baseline = model.baseline.predict(table.features["priority"])
    return {
        "incidents": len(table),
        "resolved_incidents": int(table.outcomes["resolution_hours"].notna().sum()),
        "sla_breach_rate": float(table.outcomes["sla_breached"].mean()),
        "model": score_predictions(table.outcomes, predictions),
        "baseline_per_priority": score_predictions(table.outcomes, baseline),
    }


def load_model(model_dir: Path) -> ResolutionModel:
    """Load the model artifact written by training."""
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"no resolution model at {path}; run `servicedesk train resolution` first")
    return joblib.load(path)


def evaluate_files(model_dir: Path, incidents_path: Path) -> dict[str, Any]:
    """Evaluate a trained model on the incidents of an event log opened after its training data.

    Incidents opened before the model's `training_opened_before` boundary are skipped, so the
    training file itself yields the held-out test part and a later log is scored whole. Caller
    history counts every incident of the file, skipped ones included.
    """
    model = load_model(model_dir)
    metadata = read_metadata(Path(model_dir))
    boundary = pd.Timestamp(metadata["training_opened_before"])

    table = load_incident_table(incident_files(incidents_path))
    later = table.select((table.opened_at >= boundary).to_numpy())
    if len(later) == 0:
        raise ValueError(
            f"{incidents_path} has no incidents opened at or after {boundary.isoformat()}, where the model's "
            "training data ends; evaluate on a later event log or retrain with --test-fraction above 0"
        )
    return {
        "model_version": model.version,
        "evaluated_from": boundary.isoformat(),
        "skipped_earlier_incidents": len(table) - len(later),
        **evaluate_table(model, later),
    }
