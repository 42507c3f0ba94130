"""Ticket volume forecaster: a robust Poisson regression on day of week and public holidays.

Daily counts follow a log-linear model fitted on recent history:

    log E[count(d)] = day_type(d) + holiday(d) * h + bridge(d) * b + trend * weeks(d)

`day_type` is the day of week, except that a public holiday is treated as a Sunday. A bridge day
is a working day between two non-working days, such as the Friday after a Thursday holiday. It
is treated as half its own weekday and half a Sunday on the log scale. `h` and `b` are learned
adjustments, penalised towards zero. So a calendar whose holidays never occurred in the history
still predicts a dip on them, and a calendar whose holidays are working days in the data learns
that. Days that the model cannot explain (a holiday missing from the calendar, an outage) are
down-weighted with Tukey's biweight, so they neither drag the level down nor repeat a week later.

Hourly counts are the daily forecast split by the hour-of-day profile of each day type.
Prediction intervals are negative binomial quantiles. Their dispersion is estimated from the
residuals of the fit and widened by the uncertainty of the fitted mean.

Only numpy and the standard library are imported, so the module runs on AWS Lambda. The holiday
dates come from the caller (see `ml.demand.holiday_calendar`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

DAYS_PER_WEEK = 7
HOURS_PER_DAY = 24
SUNDAY = 6
MIN_HISTORY_DAYS = 14
# Median of a chi-square variable with one degree of freedom: the median squared residual of a
# correctly scaled model, used for the robust dispersion estimate.
_CHI2_1_MEDIAN = 0.454936
_TUKEY_C = 4.685


@dataclass(frozen=True)
class ForecasterConfig:
    """Hyperparameters of the demand forecaster."""

    window_days: int = 56
    half_life_days: float = 28.0
    holiday_penalty: float = 1.0
    bridge_penalty: float = 1.0
    # Penalty on the weekly trend coefficient (log scale per week); large values keep short
    # histories from extrapolating a few busy days.
    trend_penalty: float = 1.0e4
    robust_iterations: int = 3
    # Pseudo-count (in tickets) that pulls each hour-of-day profile towards the pooled profile of
    # working or non-working days.
    profile_prior_tickets: float = 200.0
    interval_levels: tuple[float, ...] = (0.8, 0.95)

    def __post_init__(self) -> None:
        if self.window_days < MIN_HISTORY_DAYS:
            raise ValueError(f"window_days must be at least {MIN_HISTORY_DAYS}, got {self.window_days}")
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days}")
        for level in self.interval_levels:
            if not 0 < level < 1:
                raise ValueError(f"interval levels must lie between 0 and 1, got {level}")

    @classmethod
    def from_dict(cls, values: dict) -> ForecasterConfig:
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        if "interval_levels" in known:
            known["interval_levels"] = tuple(float(level) for level in known["interval_levels"])
        return cls(**known)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "interval_levels": list(self.interval_levels)
        }


@dataclass(frozen=True)
class Forecast:
    """Point forecast and prediction intervals, one entry per forecast period."""

    periods: list[date] | list[datetime]
    mean: np.ndarray
    lower: dict[float, np.ndarray] = field(default_factory=dict)
    upper: dict[float, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyFit:
    """Fitted daily model: coefficients, dispersion and in-sample means of the used window."""

    coefficients: np.ndarray
    covariance: np.ndarray
    alpha: float
    fitted: np.ndarray
    observed: np.ndarray
    robust_weights: np.ndarray
    dates: list[date]

    @property
    def day_of_week_effects(self) -> np.ndarray:
        return self.coefficients[:DAYS_PER_WEEK]

    @property
    def holiday_effect(self) -> float:
        return float(self.coefficients[DAYS_PER_WEEK])

    @property
    def bridge_effect(self) -> float:
        return float(self.coefficients[DAYS_PER_WEEK + 1])

    @property
    def weekly_trend(self) -> float:
        return float(self.coefficients[DAYS_PER_WEEK + 2])


# --- calendar features -------------------------------------------------------------------


def _is_day_off(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() >= 5 or day in holidays


def is_bridge_day(day: date, holidays: Collection[date]) -> bool:
    """Tell whether `day` is a working day squeezed between two non-working days."""
    if _is_day_off(day, holidays):
        return False
    before = day - timedelta(days=1)
    after = day + timedelta(days=1)
    return _is_day_off(before, holidays) and _is_day_off(after, holidays)


def design_matrix(days: Sequence[date], holidays: Collection[date], reference: date) -> np.ndarray:
    """Build the regression columns: 7 day types, holiday, bridge day, trend in weeks from `reference`."""
    matrix = np.zeros((len(days), DAYS_PER_WEEK + 3))
    for row, day in enumerate(days):
        weekday = day.weekday()
        if day in holidays and weekday != SUNDAY:
            matrix[row, SUNDAY] = 1.0
            matrix[row, DAYS_PER_WEEK] = 1.0
        elif is_bridge_day(day, holidays):
            matrix[row, weekday] = 0.5
            matrix[row, SUNDAY] += 0.5
            matrix[row, DAYS_PER_WEEK + 1] = 1.0
        else:
            matrix[row, weekday] = 1.0
        matrix[row, DAYS_PER_WEEK + 2] = (day - reference).days / DAYS_PER_WEEK
    return matrix


# --- fitting ---------------------------------------------------------------------------------


def _fit_poisson(
    matrix: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    penalties: np.ndarray,
    start: np.ndarray,
) -> np.ndarray:
    """Maximise the weighted, ridge-penalised Poisson log-likelihood by Newton's method."""
    beta = start.copy()

    def objective(candidate: np.ndarray) -> float:
        eta = np.clip(matrix @ candidate, -30.0, 30.0)
        return float(np.sum(weights * (counts * eta - np.exp(eta))) - 0.5 * np.sum(penalties * candidate**2))

    current = objective(beta)
    for _ in range(50):
        mu = np.exp(np.clip(matrix @ beta, -30.0, 30.0))
        gradient = matrix.T @ (weights * (counts - mu)) - penalties * beta
        hessian = (matrix * (weights * mu)[:, None]).T @ matrix + np.diag(penalties)
        step = np.linalg.solve(hessian, gradient)

        # Halve the Newton step until the objective does not decrease.
        scale = 1.0
        while True:
            candidate = beta + scale * step
            value = objective(candidate)
            if value >= current - 1e-12:
                break
            scale /= 2
            if scale < 1e-6:
                return beta

        beta, improvement, current = candidate, value - current, value
        if improvement < 1e-9 * (1.0 + abs(current)):
            break
    return beta


def _dispersion(counts: np.ndarray, mean: np.ndarray, weights: np.ndarray, robust: bool) -> float:
    """Estimate the negative binomial alpha in Var = mean + alpha * mean**2.

    The robust estimate solves median(squared Pearson residual) = median of chi-square(1);
    the plain one is the method-of-moments estimate over the weighted residuals.
    """
    keep = (weights > 0) & (mean > 0)
    y, mu, w = counts[keep], mean[keep], weights[keep]
    if len(y) == 0:
        return 0.0
    if not robust:
        excess = ((y - mu) ** 2 - mu) / mu**2
        return max(0.0, float(np.sum(w * excess) / np.sum(w)))

    def median_ratio(alpha: float) -> float:
        return float(np.median((y - mu) ** 2 / (mu * (1 + alpha * mu))))

    if median_ratio(0.0) <= _CHI2_1_MEDIAN:
        return 0.0
    low, high = 0.0, 1.0
    while median_ratio(high) > _CHI2_1_MEDIAN and high < 1e6:
        high *= 10
    for _ in range(60):
        middle = (low + high) / 2
        if median_ratio(middle) > _CHI2_1_MEDIAN:
            low = middle
        else:
            high = middle
    return high


def fit_daily(
    days: Sequence[date],
    counts: Sequence[float],
    holidays: Collection[date],
    config: ForecasterConfig = ForecasterConfig(),
) -> DailyFit:
    """Fit the daily model on the last `config.window_days` days of a contiguous daily series."""
    days = list(days)[-config.window_days :]
    observed = np.asarray(counts, dtype=float)[-config.window_days :]
    matrix = design_matrix(days, holidays, reference=days[-1])

    age = np.arange(len(days) - 1, -1, -1, dtype=float)
    recency = 0.5 ** (age / config.half_life_days)
    # A tiny ridge on the day-type columns keeps an all-zero weekday finite.
    penalties = np.array([1e-4] * DAYS_PER_WEEK + [config.holiday_penalty, config.bridge_penalty, config.trend_penalty])

    start = np.zeros(matrix.shape[1])
    start[:DAYS_PER_WEEK] = np.log(np.average(observed, weights=recency) + 0.5)
    robust = np.ones(len(days))
    beta = _fit_poisson(matrix, observed, recency, penalties, start)
    for _ in range(config.robust_iterations):
        mean = np.exp(matrix @ beta)
        alpha = _dispersion(observed, mean, recency, robust=True)
        scaled = (observed - mean) / np.sqrt(mean * (1 + alpha * mean) + 1e-9) / _TUKEY_C
        robust = np.where(np.abs(scaled) < 1, (1 - scaled**2) ** 2, 0.0)
        beta = _fit_poisson(matrix, observed, recency * robust, penalties, beta)

    mean = np.exp(matrix @ beta)
    # Intervals use the plain dispersion over every day, so unexplained dips widen them.
    alpha = _dispersion(observed, mean, recency, robust=False)
    # Covariance of the coefficients from the penalised information under negative binomial
    # variance. The penalty keeps it finite for a holiday or bridge day never seen in the window.
    information = (matrix * (recency * robust * mean / (1 + alpha * mean))[:, None]).T @ matrix + np.diag(penalties)
    covariance = np.linalg.inv(information)
    return DailyFit(beta, covariance, alpha, mean, observed, robust, days)


def predict_daily(fit: DailyFit, days: Sequence[date], holidays: Collection[date]) -> tuple[np.ndarray, np.ndarray]:
    """Return the expected counts of `days` and the variance of their logarithm."""
    matrix = design_matrix(days, holidays, reference=fit.dates[-1])
    log_variance = np.einsum("ij,jk,ik->i", matrix, fit.covariance, matrix)
    return np.exp(matrix @ fit.coefficients), log_variance


def predict_daily_means(fit: DailyFit, days: Sequence[date], holidays: Collection[date]) -> np.ndarray:
    """Return the expected counts of `days` under a fitted daily model."""
    return predict_daily(fit, days, holidays)[0]


# --- intervals -------------------------------------------------------------------------------


def negative_binomial_quantiles(mean: np.ndarray, alpha: float | np.ndarray, probability: float) -> np.ndarray:
    """Return the `probability` quantile of negative binomial counts (Poisson where alpha is 0).

    Each count has the given mean and variance mean + alpha * mean**2; `alpha` is one value or
    one per mean. The probability mass is computed in log space by the ratio recurrence of
    successive terms.
    """
    mean = np.asarray(mean, dtype=float)
    alphas = np.broadcast_to(np.asarray(alpha, dtype=float), mean.shape)
    quantiles = np.empty(len(mean))
    for index, (mu, alpha) in enumerate(zip(mean, alphas, strict=True)):
        if mu <= 0:
            quantiles[index] = 0.0
            continue
        spread = np.sqrt(mu + alpha * mu**2)
        support = np.arange(0, int(np.ceil(mu + 12 * spread + 20)) + 1, dtype=float)
        if alpha > 0:
            size = 1.0 / alpha
            log_ratio = np.log(support[:-1] + size) - np.log(support[:-1] + 1) + np.log(mu / (size + mu))
            log_first = size * np.log(size / (size + mu))
        else:
            log_ratio = np.log(mu) - np.log(support[:-1] + 1)
            log_first = -mu
        log_mass = np.concatenate(([log_first], log_first + np.cumsum(log_ratio)))
        mass = np.exp(log_mass - log_mass.max())
        cumulative = np.cumsum(mass) / mass.sum()
        quantiles[index] = support[min(int(np.searchsorted(cumulative, probability)), len(support) - 1)]
    return quantiles


def _intervals(mean: np.ndarray, alpha: float | np.ndarray, levels: Sequence[float]) -> tuple[dict, dict]:
    lower, upper = {}, {}
    for level in levels:
        tail = (1 - level) / 2
        lower[level] = negative_binomial_quantiles(mean, alpha, tail)
        upper[level] = negative_binomial_quantiles(mean, alpha, 1 - tail)
    return lower, upper


# --- public forecasts ------------------------------------------------------------------------


def _check_series(counts: np.ndarray, minimum: int, unit: str) -> None:
    if len(counts) < minimum:
        raise ValueError(f"history has {len(counts)} {unit}, at least {minimum} are needed; send a longer history")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("history counts must be finite and non-negative")


def forecast_daily(
    days: Sequence[date],
    counts: Sequence[float],
    horizon_days: int,
    holidays: Collection[date],
    config: ForecasterConfig = ForecasterConfig(),
) -> Forecast:
    """Forecast the `horizon_days` days after a contiguous daily series ending on `days[-1]`."""
    counts = np.asarray(counts, dtype=float)
    _check_series(counts, MIN_HISTORY_DAYS, "days")
    fit = fit_daily(days, counts, holidays, config)
    future = [days[-1] + timedelta(days=step) for step in range(1, horizon_days + 1)]
    mean, log_variance = predict_daily(fit, future, holidays)
    # The uncertainty of the fitted mean adds about mean**2 * var(log mean) to the variance.
    # NOTE: a holiday missing from the calendar usually falls outside the intervals, because
    # they assume the calendar lists every day off.
    lower, upper = _intervals(mean, fit.alpha + log_variance, config.interval_levels)
    return Forecast(future, mean, lower, upper)


def _day_type(day: date, holidays: Collection[date]) -> int:
    """Return the profile index of a day: its weekday, or Sunday for a holiday."""
    return SUNDAY if day in holidays else day.weekday()


def hourly_profiles(
    days: Sequence[date],
    hourly_counts: np.ndarray,
    holidays: Collection[date],
    config: ForecasterConfig = ForecasterConfig(),
) -> np.ndarray:
    """Estimate the share of each hour of the day, one 24-hour profile per day type (7 x 24).

    Each profile is a recency-weighted average shrunk towards the pooled profile of working days
    (Monday to Friday) or non-working days (weekends and holidays).
    """
    age = np.arange(len(days) - 1, -1, -1, dtype=float)
    recency = 0.5 ** (age / config.half_life_days)
    sums = np.zeros((DAYS_PER_WEEK, HOURS_PER_DAY))
    for row, day in enumerate(days):
        sums[_day_type(day, holidays)] += recency[row] * hourly_counts[row]

    uniform = np.full(HOURS_PER_DAY, 1.0 / HOURS_PER_DAY)
    profiles = np.empty_like(sums)
    for group in (range(0, 5), range(5, 7)):
        pooled_sum = sums[list(group)].sum(axis=0)
        pooled = (pooled_sum + 1.0 * uniform) / (pooled_sum.sum() + 1.0)
        for day_type in group:
            profiles[day_type] = (sums[day_type] + config.profile_prior_tickets * pooled) / (
                sums[day_type].sum() + config.profile_prior_tickets
            )
    return profiles


def forecast_hourly(
    start: datetime,
    hourly_counts: Sequence[float],
    horizon_days: int,
    holidays: Collection[date],
    config: ForecasterConfig = ForecasterConfig(),
) -> Forecast:
    """Forecast the next `horizon_days * 24` hours of a contiguous hourly series.

    `start` is the hour of the first count. Incomplete first and last days are left out of the
    daily fit; the forecast begins at the hour after the last count.
    """
    counts = np.asarray(hourly_counts, dtype=float)
    _check_series(counts, MIN_HISTORY_DAYS * HOURS_PER_DAY, "hours")
    start = start.replace(minute=0, second=0, microsecond=0)

    skip = (HOURS_PER_DAY - start.hour) % HOURS_PER_DAY
    whole_days = (len(counts) - skip) // HOURS_PER_DAY
    first_day = (start + timedelta(hours=skip)).date()
    by_day = counts[skip : skip + whole_days * HOURS_PER_DAY].reshape(whole_days, HOURS_PER_DAY)
    days = [first_day + timedelta(days=offset) for offset in range(whole_days)]
    _check_series(by_day.sum(axis=1), MIN_HISTORY_DAYS, "whole days")

    fit = fit_daily(days, by_day.sum(axis=1), holidays, config)
    profiles = hourly_profiles(days, by_day, holidays, config)

    first_hour = start + timedelta(hours=len(counts))
    periods = [first_hour + timedelta(hours=step) for step in range(horizon_days * HOURS_PER_DAY)]
    period_days = sorted({period.date() for period in periods})
    daily_mean, daily_log_variance = predict_daily(fit, period_days, holidays)
    position = {day: index for index, day in enumerate(period_days)}
    rows = [position[period.date()] for period in periods]
    shares = [profiles[_day_type(period.date(), holidays), period.hour] for period in periods]
    mean = daily_mean[rows] * np.array(shares)

    recent = slice(-min(whole_days, config.window_days), None)
    fitted_daily = predict_daily_means(fit, days[recent], holidays)
    fitted_hourly = np.array(
        [fitted_daily[row] * profiles[_day_type(day, holidays)] for row, day in enumerate(days[recent])]
    )
    alpha = _dispersion(by_day[recent].ravel(), fitted_hourly.ravel(), np.ones(fitted_hourly.size), robust=False)
    lower, upper = _intervals(mean, alpha + daily_log_variance[rows], config.interval_levels)
    return Forecast(periods, mean, lower, upper)


def seasonal_naive(counts: Sequence[float], horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season: the forecast for step h is the value `season` steps earlier."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < season:
        raise ValueError(f"seasonal naive needs at least {season} observations, got {len(counts)}")
    last_season = counts[-season:]
    return np.array([last_season[step % season] for step in range(horizon)])
