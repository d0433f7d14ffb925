"""Forecast errors in original units, and the baselines every forecast is compared with.

A daily series is close to a random walk, so the honest yardstick is persistence ("the next
`horizon` values equal the last one seen"). MASE divides a forecast's mean absolute error by
the mean absolute error of the one-step naive forecast on the *training* part of the same
series (Hyndman & Koehler 2006): below 1 beats that naive forecast, above 1 does not.

Arrays are [M, horizon] (or [M]); every element is one forecast of one future step. For several
tickers, pooled figures put all elements together, and pooled MASE scales each element by its
own ticker's naive MAE, so tickers with large prices or volumes do not dominate it (RMSE and
MAE pooled over tickers are in mixed units and are dominated by the largest series: read them
per ticker).
"""
from __future__ import annotations

import numpy as np

METRICS = ("rmse", "mae", "smape", "mase")


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    a, f = np.asarray(actual, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} must have the same shape")
    if a.size == 0:
        raise ValueError("no forecasts to score")
    return a, f


def rmse(actual, forecast) -> float:
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2)))


def mae(actual, forecast) -> float:
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def smape(actual, forecast) -> float:
    """Symmetric MAPE in percent (0..200): mean of 2|F - A| / (|A| + |F|); a step where both
    are 0 counts as a perfect forecast rather than 0/0."""
    a, f = _pair(actual, forecast)
    den = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(f - a), den, out=np.zeros_like(den), where=den > 0)
    return float(100 * ratio.mean())


def naive_scale(insample, m: int = 1) -> float:
    """Mean absolute error of the naive forecast y[t] = y[t - m] on the training series."""
    y = np.asarray(insample, dtype=np.float64).ravel()
    if m < 1 or len(y) <= m:
        raise ValueError(f"need more than m={m} in-sample values to compute the naive scale, got {len(y)}")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(actual, forecast, *, scale: float | None = None, insample=None) -> float:
    """MASE = MAE / naive_scale(insample). Pass the training series (`insample`) or its
    precomputed `scale`. A constant training series (scale 0) gives NaN: no meaningful ratio."""
    if (scale is None) == (insample is None):
        raise ValueError("pass exactly one of scale or insample")
    scale = naive_scale(insample) if scale is None else float(scale)
    err = mae(actual, forecast)
    return err / scale if scale > 0 else float("nan")


def scores(actual, forecast, scale: float) -> dict[str, float]:
    """All four metrics for one set of forecasts (scale: the series' naive_scale)."""
    return {"rmse": rmse(actual, forecast), "mae": mae(actual, forecast),
            "smape": smape(actual, forecast), "mase": mase(actual, forecast, scale=scale),
            "n": int(np.asarray(actual).size)}


def scores_by_ticker(actual, forecast, tickers, scales: dict[str, float]) -> dict:
    """{"overall": pooled scores, "per_ticker": {ticker: scores}}; rows of actual/forecast
    belong to tickers[i]; scales[ticker] is that ticker's naive_scale on its training part."""
    a, f = _pair(actual, forecast)
    tickers = np.asarray(tickers).astype(str)
    if len(tickers) != len(a):
        raise ValueError(f"{len(a)} forecast rows but {len(tickers)} ticker labels")
    missing = sorted(set(np.unique(tickers)) - set(scales))
    if missing:
        raise ValueError(f"no naive scale for tickers {missing[:10]}")
    per_ticker = {str(t): scores(a[tickers == t], f[tickers == t], scales[str(t)]) for t in np.unique(tickers)}
    row_scale = np.array([scales[t] for t in tickers], dtype=np.float64)
    row_scale = row_scale.reshape((-1,) + (1,) * (a.ndim - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.abs(a - f) / np.where(row_scale > 0, row_scale, np.nan)
    overall = {"rmse": rmse(a, f), "mae": mae(a, f), "smape": smape(a, f),
               "mase": float(np.nanmean(scaled)) if np.isfinite(scaled).any() else float("nan"),
               "n": int(a.size)}
    return {"overall": overall, "per_ticker": per_ticker}


def _history_index(series: np.ndarray, anchor, offset: int) -> np.ndarray:
    """Index of the last target value known when the forecast is made: the row just before the
    first forecast step, t + offset - 1 (t itself for a next-day forecast)."""
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    last = np.asarray(anchor, dtype=np.int64) + offset - 1
    if len(last) and (last.min() < 0 or last.max() >= len(series)):
        raise ValueError("anchors need at least one known target value before their first forecast step")
    return last


def persistence_forecast(series, anchor, horizon: int, offset: int = 1) -> np.ndarray:
    """[M, horizon]: every step equals the last known value of the series (random-walk forecast)."""
    y = np.asarray(series, dtype=np.float64)
    last = _history_index(y, anchor, offset)
    return np.repeat(y[last][:, None], horizon, axis=1)


def moving_average_forecast(series, anchor, horizon: int, window: int = 5, offset: int = 1) -> np.ndarray:
    """[M, horizon]: every step equals the mean of the last `window` known values (fewer at the
    very start of a series). Vectorised with a cumulative sum."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    y = np.asarray(series, dtype=np.float64)
    last = _history_index(y, anchor, offset)
    csum = np.concatenate([[0.0], np.cumsum(y)])
    start = np.maximum(last + 1 - window, 0)
    mean = (csum[last + 1] - csum[start]) / (last + 1 - start)
    return np.repeat(mean[:, None], horizon, axis=1)


def interval_scores(actual, lower, upper, tickers, scales: dict[str, float], level: float) -> dict:
    """How a prediction interval [lower, upper] (arrays like actual, [M, horizon]) held up:
    `coverage` (share of actual values inside it; an honest 80 % interval covers about 0.8),
    `scaled_width` (mean width divided by each ticker's naive scale, comparable with MASE),
    `relative_width` (median of width / actual value, where the actual is positive), and
    coverage by step."""
    a = np.asarray(actual, dtype=np.float64)
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    inside = (a >= lo) & (a <= hi)
    row_scale = np.array([scales[str(t)] for t in np.asarray(tickers).astype(str)], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = (hi - lo) / np.where(row_scale > 0, row_scale, np.nan).reshape((-1,) + (1,) * (a.ndim - 1))
        relative = np.where(a > 0, (hi - lo) / a, np.nan)
    return {"level": float(level), "coverage": float(inside.mean()),
            "scaled_width": float(np.nanmean(scaled)), "relative_width": float(np.nanmedian(relative)),
            "coverage_by_step": [float(c) for c in inside.reshape(len(a), -1).mean(0)], "n": int(a.size)}
