"""The baselines every forecast is judged against, on the same windows as the LSTM.

- persistence: every step equals the last known value (the random walk);
- moving average of the last `moving_average_window` known values;
- exponential smoothing of log volume, its constant chosen on the validation part;
- ridge regression, one per step, on the last 20 days of log volume (relative to their mean),
  the last 5 days of log |return| and the forecast day's calendar (weekday, month end, option
  expiry), fitted on the training windows of all tickers, its penalty chosen on the validation
  part;
- gbm: LightGBM, one per step, on the ridge's inputs with the LSTM's weighted L1 objective,
  stopped early on the validation part (tasks/forecast/gbm.py).

Log-scale forecasts go back by the median (plain expm1), not the mean: the mean correction makes
MASE worse on real volume. Only values known at the forecast time enter a forecast: the history
ends at row anchor + offset - 1 (the anchor itself for a next-day forecast).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from lstm_models import forecast_metrics as fm
from lstm_models.features import calendar_features

BASELINES = ("persistence", "moving_average", "exp_smoothing", "ridge", "gbm")
LABELS = {"persistence": "persistence", "moving_average": "moving average", "exp_smoothing": "exponential smoothing",
          "ridge": "ridge on lags", "gbm": "LightGBM on lags"}
ES_ALPHAS = (0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
RIDGE_ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
VOLUME_LAGS, RETURN_LAGS = 20, 5


class Series:
    """Every ticker's rows (series.parquet) as flat arrays, with each ticker's offset into them."""

    def __init__(self, series: pd.DataFrame):
        self.offset, parts = {}, []
        start = 0
        for ticker, rows in series.groupby("ticker", sort=False):
            rows = rows.sort_values("row")
            self.offset[str(ticker)] = start
            start += len(rows)
            parts.append(rows)
        frame = pd.concat(parts, ignore_index=True)
        self.value = frame["value"].to_numpy(np.float64)
        self.log_value = np.log1p(np.maximum(self.value, 0))
        self.abs_ret = frame["abs_ret"].to_numpy(np.float64) if "abs_ret" in frame else np.zeros(len(frame))
        self.first = np.repeat([self.offset[t] for t in self.offset], [len(p) for p in parts])  # each row's ticker start
        self.calendar = np.concatenate([calendar_features(p["Date"].to_numpy()) for p in parts])
        self.ticker_of_row = np.repeat(list(self.offset), [len(p) for p in parts])

    def last_known(self, tickers: np.ndarray, anchors: np.ndarray, offset: int) -> np.ndarray:
        """Flat index of the last row known at each forecast: anchor + offset - 1."""
        base = np.array([self.offset[str(t)] for t in tickers], dtype=np.int64)
        idx = base + np.asarray(anchors, dtype=np.int64) + offset - 1
        if len(idx) and (idx < base).any():
            raise ValueError("anchors need at least one known value before their first forecast step")
        return idx

    def lagged(self, values: np.ndarray, last: np.ndarray, lags: int) -> np.ndarray:
        """[M, lags]: values at rows last - lags + 1 .. last, repeating a ticker's first row where
        its history is shorter."""
        idx = last[:, None] + np.arange(-lags + 1, 1)
        return values[np.maximum(idx, self.first[last][:, None])]


def persistence(s: Series, last: np.ndarray, horizon: int) -> np.ndarray:
    return np.repeat(s.value[last][:, None], horizon, 1)


def moving_average(s: Series, last: np.ndarray, horizon: int, window: int) -> np.ndarray:
    return np.repeat(s.lagged(s.value, last, window).mean(1)[:, None], horizon, 1)


def es_level(s: Series, alpha: float) -> np.ndarray:
    """Exponentially smoothed log volume of every row, restarted at each ticker's first row."""
    out = np.empty_like(s.log_value)
    bounds = sorted(s.offset.values()) + [len(s.log_value)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        x = s.log_value[lo:hi]
        out[lo:hi], _ = lfilter([alpha], [1, alpha - 1], x, zi=[(1 - alpha) * x[0]])
    return out


def ridge_inputs(s: Series, last: np.ndarray, horizon: int, offset: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per step, the design matrix [M, p]; and the level (mean of the volume lags) it is relative to."""
    lags = s.lagged(s.log_value, last, VOLUME_LAGS)
    level = lags.mean(1)
    base = np.concatenate([lags - level[:, None], s.lagged(s.abs_ret, last, RETURN_LAGS)], 1)
    mats = []
    for k in range(horizon):
        day = np.minimum(last + 1 + k, len(s.value) - 1)  # the forecast day's own row (its calendar is known)
        mats.append(np.concatenate([base, s.calendar[day]], 1))
    return mats, level


class Ridge:
    def __init__(self, s: Series, horizon: int, offset: int):
        self.s, self.horizon, self.offset = s, horizon, offset
        self.models, self.alpha = None, None

    def fit(self, last_train: np.ndarray, last_val: np.ndarray, tickers_val: np.ndarray, scales: dict) -> Ridge:
        from sklearn.linear_model import Ridge as SkRidge

        x_train, level = ridge_inputs(self.s, last_train, self.horizon, self.offset)
        y = self.s.log_value[last_train[:, None] + 1 + np.arange(self.horizon)] - level[:, None]
        x_val, _ = ridge_inputs(self.s, last_val, self.horizon, self.offset)
        actual = self.s.value[last_val[:, None] + 1 + np.arange(self.horizon)]
        best = None
        for alpha in RIDGE_ALPHAS:
            models = [SkRidge(alpha=alpha).fit(x_train[k], y[:, k]) for k in range(self.horizon)]
            score = pooled_mase(actual, self._predict(models, x_val, last_val), tickers_val, scales)
            if best is None or score < best[0]:
                best = (score, alpha, models)
        _, self.alpha, self.models = best
        return self

    def _predict(self, models, mats, last) -> np.ndarray:
        level = self.s.lagged(self.s.log_value, last, VOLUME_LAGS).mean(1)
        return np.expm1(np.stack([m.predict(x) for m, x in zip(models, mats)], 1) + level[:, None])

    def predict(self, last: np.ndarray) -> np.ndarray:
        mats, _ = ridge_inputs(self.s, last, self.horizon, self.offset)
        return self._predict(self.models, mats, last)


def pooled_mase(actual: np.ndarray, forecast: np.ndarray, tickers: np.ndarray, scales: dict) -> float:
    return fm.scores_by_ticker(actual, forecast, tickers, scales)["overall"]["mase"]


def baseline_forecasts(series: pd.DataFrame, w: dict, horizon: int, offset: int, ma_window: int,
                       scales: dict[str, float]) -> tuple[dict[str, np.ndarray], dict]:
    """({baseline: forecasts [M, horizon] for every window in w}, {chosen constants}). The
    smoothing constant and the ridge penalty are chosen on the validation windows (the training
    windows when there are none), the ridge is fitted on the training windows. A window with no
    known value before its first forecast day (a same-day model's very first row) gets NaN."""
    s = Series(series)
    known = w["anchor"] + offset - 1 >= 0
    tickers, split, actual = w["ticker"][known].astype(str), w["split"][known], w["actual"][known]
    last = s.last_known(tickers, w["anchor"][known], offset)
    on = split == ("val" if (split == "val").any() else "train")
    out = {"persistence": persistence(s, last, horizon), "moving_average": moving_average(s, last, horizon, ma_window)}

    tuning = {}
    for alpha in ES_ALPHAS:
        level = es_level(s, alpha)
        tuning[alpha] = pooled_mase(actual[on], np.repeat(np.expm1(level[last[on]])[:, None], horizon, 1),
                                    tickers[on], scales)
    es_alpha = min(tuning, key=tuning.get)
    out["exp_smoothing"] = np.repeat(np.expm1(es_level(s, es_alpha)[last])[:, None], horizon, 1)

    # the ridge learns from windows whose target days all lie in the rows
    whole = (last[:, None] + 1 + np.arange(horizon) < len(s.value)).all(1)
    ridge = Ridge(s, horizon, offset).fit(last[(split == "train") & whole], last[on & whole], tickers[on & whole],
                                         scales)
    out["ridge"] = ridge.predict(last)
    from .gbm import GBM

    weight = w["weight"][known]
    fit_train, fit_val = (split == "train") & whole, (split == "val") & whole
    gbm = GBM(s, horizon, offset).fit(last[fit_train], weight[fit_train], last[fit_val], weight[fit_val])
    out["gbm"] = gbm.predict(last)
    full = {}
    for name, f in out.items():
        full[name] = np.full((len(known), horizon), np.nan)
        full[name][known] = f
    return full, {"exp_smoothing_alpha": es_alpha, "ridge_alpha": ridge.alpha, "gbm_trees": gbm.trees,
                  "chosen_on": "val" if (split == "val").any() else "train"}
