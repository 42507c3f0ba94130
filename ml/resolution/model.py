"""The resolution model: SLA breach probability and resolution-time quantiles for open tickets.

Three gradient-boosted tree models share one categorical encoding: a classifier for the SLA
breach, and two quantile regressors on log1p(hours) for the median and the 90th percentile of
the resolution time. Quantiles survive the monotone log transform, so expm1 of a predicted
log-quantile is the quantile in hours. The per-priority baseline is stored beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.preprocessing import OrdinalEncoder

# threadpoolctl is a dependency of scikit-learn, so every environment with scikit-learn has it.
from threadpoolctl import threadpool_limits

from ml.resolution.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, NUMERIC_FEATURES

MEDIAN_QUANTILE = 0.5
UPPER_QUANTILE = 0.9
# Histogram gradient boosting bins categorical codes into at most 255 bins, so rarer
# categories are grouped and each feature keeps at most this many codes.
_MAX_CATEGORY_CODES = 255


@dataclass(frozen=True)
class TrainingSettings:
    """Hyperparameters of the three tree models and of the category encoding."""

    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    min_category_frequency: int = 5
    random_state: int = 0
    # OpenMP threads while fitting. Tens of thousands of rows fit faster on one thread than with
    # threads that start per tree and contend for shared cores.
    threads: int = 1


@dataclass
class PriorityBaseline:
    """Per-priority median resolution hours and SLA breach rate from the training incidents."""

    median_hours: dict[float, float]
    breach_rate: dict[float, float]
    overall_median_hours: float
    overall_breach_rate: float

    @classmethod
    def fit(cls, priority: pd.Series, outcomes: pd.DataFrame) -> PriorityBaseline:
        hours = outcomes["resolution_hours"]
        breached = outcomes["sla_breached"].astype(float)
        return cls(
            median_hours={float(key): float(value) for key, value in hours.groupby(priority).median().dropna().items()},
            breach_rate={float(key): float(value) for key, value in breached.groupby(priority).mean().items()},
            overall_median_hours=float(hours.median()),
            overall_breach_rate=float(breached.mean()),
        )

    def predict(self, priority: pd.Series) -> pd.DataFrame:
        """Return the baseline's median hours and breach rate for each priority."""
        return pd.DataFrame(
            {
                "resolution_hours_p50": priority.map(self.median_hours).fillna(self.overall_median_hours),
                "sla_breach_probability": priority.map(self.breach_rate).fillna(self.overall_breach_rate),
            },
            index=priority.index,
        )


@dataclass
class ResolutionModel:
    """The fitted encoder, the three tree models and the baseline, with their version."""

    version: str
    encoder: ColumnTransformer
    breach_classifier: HistGradientBoostingClassifier
    hour_quantile_models: dict[float, HistGradientBoostingRegressor]
    baseline: PriorityBaseline

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return p50 and p90 resolution hours and the SLA breach probability per row."""
        encoded = self.encoder.transform(features[list(FEATURE_COLUMNS)])
        # Inference requests carry at most 64 rows and evaluations a few thousand. For these,
        # starting OpenMP threads for every tree costs more than it saves.
        with threadpool_limits(limits=1, user_api="openmp"):
            p50 = np.expm1(self.hour_quantile_models[MEDIAN_QUANTILE].predict(encoded))
            p90 = np.expm1(self.hour_quantile_models[UPPER_QUANTILE].predict(encoded))
            breach = self.breach_classifier.predict_proba(encoded)[:, 1]
        p50 = np.clip(p50, 0.0, None)
        # Separately fitted quantile models can cross, so the p90 is raised to the p50 where it is lower.
        p90 = np.maximum(p90, p50)
        return pd.DataFrame(
            {
                "resolution_hours_p50": p50,
                "resolution_hours_p90": p90,
                "sla_breach_probability": breach,
            },
            index=features.index,
        )


def build_encoder(settings: TrainingSettings) -> ColumnTransformer:
    """Return an encoder that turns categories into codes (unknown and missing become NaN)."""
    categories = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        min_frequency=settings.min_category_frequency,
        max_categories=_MAX_CATEGORY_CODES,
    )
    return ColumnTransformer(
        [
            ("categories", categories, list(CATEGORICAL_FEATURES)),
            ("numbers", "passthrough", list(NUMERIC_FEATURES)),
        ],
        verbose_feature_names_out=False,
    )


def _tree_parameters(settings: TrainingSettings) -> dict[str, Any]:
    categorical_mask = [column in CATEGORICAL_FEATURES for column in CATEGORICAL_FEATURES + NUMERIC_FEATURES]
    return {
        "max_iter": settings.max_iter,
        "learning_rate": settings.learning_rate,
        "max_leaf_nodes": settings.max_leaf_nodes,
        "min_samples_leaf": settings.min_samples_leaf,
        "l2_regularization": settings.l2_regularization,
        "categorical_features": categorical_mask,
        "early_stopping": False,
        "random_state": settings.random_state,
    }


def fit_resolution_model(
    features: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    version: str,
    settings: TrainingSettings | None = None,
) -> ResolutionModel:
    """Fit the encoder, the breach classifier and the two quantile regressors.

    `outcomes` is aligned with `features` and has `sla_breached` and `resolution_hours`; rows
    without a resolution time train the classifier only.
    """
    settings = settings or TrainingSettings()
    if settings.threads < 1:
        raise ValueError(f"threads must be at least 1, got {settings.threads}")
    if len(features) != len(outcomes):
        raise ValueError(f"features have {len(features)} rows but outcomes have {len(outcomes)}")
    breached = outcomes["sla_breached"].astype(int).to_numpy()
    if len(np.unique(breached)) < 2:
        raise ValueError("training incidents need both SLA outcomes (met and breached) to fit the classifier")
    empty_numbers = [column for column in NUMERIC_FEATURES if features[column].isna().all()]
    if empty_numbers:
        raise ValueError(
            f"features {', '.join(empty_numbers)} are missing on every training incident; "
            "check that the event log has opened_at, priority (or impact and urgency) and caller_id values"
        )
    resolved = outcomes["resolution_hours"].notna().to_numpy()
    if not resolved.any():
        raise ValueError("no training incident has a resolution time (resolved_at is missing on every one)")

    encoder = build_encoder(settings)
    encoded = encoder.fit_transform(features[list(FEATURE_COLUMNS)])
    parameters = _tree_parameters(settings)

    log_hours = np.log1p(outcomes["resolution_hours"].to_numpy()[resolved])
    with threadpool_limits(limits=settings.threads, user_api="openmp"):
        classifier = HistGradientBoostingClassifier(**parameters).fit(encoded, breached)
        quantile_models = {
            quantile: HistGradientBoostingRegressor(loss="quantile", quantile=quantile, **parameters).fit(
                encoded[resolved], log_hours
            )
            for quantile in (MEDIAN_QUANTILE, UPPER_QUANTILE)
        }
    baseline = PriorityBaseline.fit(features["priority"], outcomes)
    return ResolutionModel(
        version=version,
        encoder=encoder,
        breach_classifier=classifier,
        hour_quantile_models=quantile_models,
        baseline=baseline,
    )
