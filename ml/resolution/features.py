"""Incident rows as known when a ticket opens, built from a ServiceNow incident event log.

The event log has one row per update event and several rows per incident. Fields such as the
assignment group, category or impact can change after the ticket opens, and the enriched log
repeats outcome fields (`resolved_at`, `closed_code`, the final `made_sla`) on every row, the
first one included. So the features take only the open-time fields below from the incident's
first event (earliest `sys_updated_at`, ties broken by `sys_mod_count`), and the caller history
counts only incidents opened strictly earlier. Counters and outcome fields are never features.

Severity enters as `priority` alone. In this log priority is a fixed function of impact and
urgency (the lookup in PRIORITY_BY_IMPACT_URGENCY), so impact and urgency are not added as
separate features. A request that sends only impact and urgency gets its priority from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M"
MISSING_MARK = "?"

# Fields copied from the first event of an incident: what the ticket looked like when it opened.
OPEN_FIELDS: tuple[str, ...] = (
    "caller_id",
    "contact_type",
    "location",
    "category",
    "subcategory",
    "u_symptom",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "assigned_to",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "number",
    "opened_at",
    "sys_updated_at",
    "sys_mod_count",
    "made_sla",
    "resolved_at",
    *OPEN_FIELDS,
)

CATEGORICAL_FEATURES: tuple[str, ...] = (
    "contact_type",
    "location",
    "category",
    "subcategory",
    "u_symptom",
    "assignment_group",
    "assigned_to",
)
# Windowed counts rather than an all-time count, which would grow with the length of the log
# and so differ between the training period and later tickets.
CALLER_HISTORY_FEATURES: tuple[str, ...] = (
    "caller_prior_incidents_7d",
    "caller_prior_incidents_30d",
    "caller_hours_since_previous",
)
NUMERIC_FEATURES: tuple[str, ...] = ("priority", "open_hour", "open_weekday", *CALLER_HISTORY_FEATURES)
FEATURE_COLUMNS: tuple[str, ...] = CATEGORICAL_FEATURES + NUMERIC_FEATURES

# ServiceNow's priority lookup as this log applies it: (impact, urgency) -> priority, 1 = highest.
# Every pair observed in the log maps this way. (1, 3) and (3, 1) never occur there and follow
# ServiceNow's default table (3, Moderate).
PRIORITY_BY_IMPACT_URGENCY: dict[tuple[int, int], int] = {
    (1, 1): 1,
    (1, 2): 2,
    (2, 1): 2,
    (1, 3): 3,
    (2, 2): 3,
    (3, 1): 3,
    (2, 3): 4,
    (3, 2): 4,
    (3, 3): 4,
}

_HOUR = pd.Timedelta(hours=1)
_CALLER_WINDOWS = {
    "caller_prior_incidents_7d": pd.Timedelta(days=7),
    "caller_prior_incidents_30d": pd.Timedelta(days=30),
}


def read_event_log(path: Path) -> pd.DataFrame:
    """Read an incident event log CSV, with `?` as missing and day-first timestamps parsed.

    Raises ValueError when the file lacks a required column or contains an invalid timestamp.
    """
    events = pd.read_csv(
        path,
        na_values=[MISSING_MARK],
        keep_default_na=False,
        dtype=str,
        usecols=lambda column: column in EVENT_COLUMNS,
    )
    missing = [column for column in EVENT_COLUMNS if column not in events.columns]
    if missing:
        raise ValueError(
            f"{path} is not an incident event log: missing columns {', '.join(missing)}. "
            "Expected the ServiceNow incident_event_log CSV layout."
        )
    if events.empty:
        raise ValueError(f"{path} contains no incident events")

    for column in ("opened_at", "sys_updated_at", "resolved_at"):
        events[column] = _parse_timestamps(events[column], column, path)
    events["sys_mod_count"] = pd.to_numeric(events["sys_mod_count"], errors="coerce")
    events["made_sla"] = events["made_sla"].str.lower().map({"true": True, "false": False})
    return events


def _parse_timestamps(values: pd.Series, column: str, path: Path) -> pd.Series:
    parsed = pd.to_datetime(values, format=TIMESTAMP_FORMAT, errors="coerce")
    invalid = parsed.isna() & values.notna()
    if invalid.any():
        example = values[invalid].iloc[0]
        raise ValueError(
            f"{path}: column {column} has {int(invalid.sum())} values not in D/M/YYYY HH:MM form, "
            f"for example {example!r}"
        )
    return parsed


def _order_events(events: pd.DataFrame) -> pd.DataFrame:
    return events.sort_values(["number", "sys_updated_at", "sys_mod_count"], kind="stable")


def incidents_at_open(events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per incident with the fields known when it opened and the caller history.

    The result is indexed by incident number and sorted by `opened_at`.
    """
    first_events = _order_events(events).groupby("number", sort=False).head(1)
    incidents = first_events.set_index("number")[["opened_at", *OPEN_FIELDS]].copy()
    incidents = incidents.sort_values("opened_at", kind="stable")
    return add_caller_history(incidents)


def incident_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """Return the targets per incident, indexed by incident number.

    `sla_breached` is the negation of `made_sla` on the incident's final event (latest
    `sys_updated_at`, ties broken by `sys_mod_count`). `resolution_hours` is `resolved_at` minus
    `opened_at` on that event, and missing when the incident has no resolution time.
    """
    final_events = _order_events(events).groupby("number", sort=False).tail(1).set_index("number")
    resolution_hours = (final_events["resolved_at"] - final_events["opened_at"]) / _HOUR
    return pd.DataFrame(
        {
            "sla_breached": ~final_events["made_sla"].astype(bool),
            "resolution_hours": resolution_hours.where(resolution_hours >= 0),
        }
    )


def add_caller_history(incidents: pd.DataFrame) -> pd.DataFrame:
    """Add the caller history: the same caller's incidents opened strictly before each incident.

    The counts cover the last 7 and 30 days, and `caller_hours_since_previous` is missing for a
    caller's first incident. Incidents opened in the same minute do not count each other. Rows
    without a caller get missing history.
    """
    result = incidents.copy()
    callers = result["caller_id"]
    known = callers.notna().to_numpy()
    caller_codes = pd.factorize(callers)[0].astype(np.int64)
    minutes = result["opened_at"].to_numpy().astype("datetime64[m]").astype(np.int64)

    # One sortable key per incident, caller first and opening minute second, so that a binary
    # search finds how many of the same caller's incidents opened before a given minute.
    offset = minutes - minutes.min()
    span = int(offset.max()) + 1
    keys = caller_codes * span + offset
    sorted_keys = np.sort(keys)

    earlier = np.searchsorted(sorted_keys, keys, side="left")
    caller_start = np.searchsorted(sorted_keys, caller_codes * span, side="left")
    prior = earlier - caller_start

    for column, window in _CALLER_WINDOWS.items():
        window_minutes = int(window / pd.Timedelta(minutes=1))
        # A window reaching back past the caller's first key would count another caller's rows.
        window_start = np.maximum(np.searchsorted(sorted_keys, keys - window_minutes, side="left"), caller_start)
        result[column] = np.where(known, earlier - window_start, np.nan)

    previous_offset = sorted_keys[np.maximum(earlier - 1, 0)] - caller_codes * span
    hours_since_previous = np.where(prior > 0, (offset - previous_offset) / 60.0, np.nan)
    result["caller_hours_since_previous"] = np.where(known, hours_since_previous, np.nan)
    return result


def parse_level(values: pd.Series) -> pd.Series:
    """Turn levels written as `3 - Moderate`, `3` or 3 into numbers; anything else becomes NaN."""
    text = values.astype("string").str.strip().str.extract(r"^(\d+)", expand=False)
    return pd.to_numeric(text, errors="coerce")


def priority_from_impact_urgency(impact: pd.Series, urgency: pd.Series) -> pd.Series:
    """Look up the priority of each (impact, urgency) pair; unknown pairs become NaN."""
    priorities = []
    for impact_level, urgency_level in zip(parse_level(impact), parse_level(urgency), strict=True):
        if pd.isna(impact_level) or pd.isna(urgency_level):
            priorities.append(np.nan)
        else:
            priorities.append(PRIORITY_BY_IMPACT_URGENCY.get((int(impact_level), int(urgency_level)), np.nan))
    return pd.Series(priorities, index=impact.index, dtype=float)


def feature_frame(incidents: pd.DataFrame) -> pd.DataFrame:
    """Return the model features, in FEATURE_COLUMNS order, for incidents at open.

    `incidents` needs `opened_at` (timestamps) and may carry any open-time field; absent fields
    are missing. Priority comes from the `priority` column where it is set and otherwise from
    impact and urgency.
    """
    features = pd.DataFrame(index=incidents.index)
    for column in CATEGORICAL_FEATURES:
        if column in incidents:
            features[column] = incidents[column].astype(object).where(incidents[column].notna(), np.nan)
        else:
            features[column] = np.nan

    priority = parse_level(incidents["priority"]) if "priority" in incidents else pd.Series(np.nan, index=incidents.index)
    if "impact" in incidents and "urgency" in incidents:
        priority = priority.fillna(priority_from_impact_urgency(incidents["impact"], incidents["urgency"]))
    features["priority"] = priority.astype(float)

    opened_at = pd.to_datetime(incidents["opened_at"])
    features["open_hour"] = opened_at.dt.hour.astype(float)
    features["open_weekday"] = opened_at.dt.day_of_week.astype(float)
    for column in CALLER_HISTORY_FEATURES:
        features[column] = pd.to_numeric(incidents[column], errors="coerce") if column in incidents else np.nan
    return features[list(FEATURE_COLUMNS)]
