"""Load a forecast bundle and forecast the next `horizon` values with exactly the training
preprocessing (same columns, log transform and per-ticker scalers, same window)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .bundle import BundleError, load_weights_into, read_config, read_json
from .data import TensorData
from .features import LEVEL_DAYS, calendar_features, relative_rows, relative_window
from .regressor import LSTMRegressor, RegressorEnsemble, regressor_from_hparams
from .scaling import ForecastScalers, InputStandardizer, forecast_scalers_from_dict
from .training import predict


def predict_windows(model: LSTMRegressor | RegressorEnsemble, x: np.ndarray, future: np.ndarray | None = None,
                    batch_size: int = 2048) -> np.ndarray:
    """Model outputs [M, horizon] for windows x [M, lookback, F] (and the forecast days'
    covariates [M, horizon * n_future] when the model reads them)."""
    if len(x) == 0:
        return np.empty((0, model.hparams["horizon"]), dtype=np.float32)
    # copies: x may be read-only
    fut = None if future is None else torch.tensor(np.asarray(future, dtype=np.float32))
    data = TensorData(torch.tensor(np.asarray(x, dtype=np.float32)), torch.zeros(len(x)), future=fut)
    return predict(model, data, batch_size=batch_size, device=torch.device("cpu")).numpy()


def future_dates(last: pd.Timestamp, horizon: int, offset: int) -> list[pd.Timestamp]:
    """Dates of the forecast steps: business days after the last row (step 1 of a same-day model,
    offset 0, is the last row's own date). Exchange holidays are not known here."""
    last = pd.Timestamp(last)
    return [last + pd.offsets.BDay(offset + k) if offset + k else last for k in range(horizon)]


def window_inputs(rows: pd.DataFrame, ticker: str, anchors, spec: dict,
                  scalers: ForecastScalers | InputStandardizer) -> dict[str, np.ndarray | None]:
    """Model inputs of the windows anchored at `anchors` (rows of one ticker's history, sorted by
    date): x, future (None without covariates), level (what a prediction is relative to; 0 for
    levels inputs) and y (targets as the model sees them, NaN beyond the rows). The same code
    prepares training windows and the window a bundle forecasts from.

    spec: inputs, calendar, features, target, lookback, horizon, offset (a bundle's config)."""
    anchors = np.asarray(anchors, dtype=np.int64)
    lookback, horizon, offset = int(spec["lookback"]), int(spec["horizon"]), int(spec["offset"])
    steps = anchors[:, None] + offset + np.arange(horizon)
    inside = steps < len(rows)
    clipped = np.minimum(steps, len(rows) - 1)
    if spec["inputs"] == "relative":
        r = relative_rows(rows, spec["calendar"])
        x = relative_window(scalers.transform(r["inputs"]), r["log_volume"], r["level"], anchors, lookback)
        level = r["level"][anchors]
        y = np.where(inside, r["log_volume"][clipped] - level[:, None], np.nan)
        future = None
        if spec["calendar"]:
            beyond = int(steps.max()) - len(rows) + 1
            extra = future_dates(rows["Date"].iloc[-1], beyond, 1) if beyond > 0 else []
            dates = np.concatenate([rows["Date"].to_numpy(dtype="datetime64[ns]"),
                                    np.asarray([np.datetime64(d) for d in extra], dtype="datetime64[ns]")])
            future = calendar_features(dates)[steps].reshape(len(anchors), -1)
        return {"x": x, "future": future, "level": level, "y": y}
    x_all = scalers.transform_features(rows[list(spec["features"])].to_numpy(np.float64), ticker).astype(np.float32)
    y_all = scalers.transform_target(rows[spec["target"]].to_numpy(np.float64), ticker)
    idx = anchors[:, None] + np.arange(-lookback + 1, 1)
    return {"x": x_all[idx], "future": None, "level": np.zeros(len(anchors)),
            "y": np.where(inside, y_all[clipped], np.nan)}


def to_original_units(outputs: np.ndarray, level: np.ndarray, spec: dict,
                      scalers: ForecastScalers | InputStandardizer, ticker: str) -> np.ndarray:
    """Model outputs [M, horizon] (or [M, horizon, levels]) of one ticker in original units:
    relative inputs predict log volume relative to the level (back by expm1, the median),
    levels inputs a scaled target. Both maps are monotone, so quantiles stay quantiles."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if spec["inputs"] == "relative":
        return np.expm1(outputs + np.asarray(level).reshape((-1,) + (1,) * (outputs.ndim - 1)))
    if outputs.ndim == 3:
        return np.stack([scalers.inverse_target(outputs[..., j], ticker) for j in range(outputs.shape[2])], 2)
    return scalers.inverse_target(outputs, ticker)


def level_name(q: float) -> str:
    """The key of a quantile output beside the median forecast: 0.1 -> `p10`, 0.9 -> `p90`."""
    return f"p{round(100 * q)}"


PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")


class ForecastPredictor:
    def __init__(self, model: LSTMRegressor | RegressorEnsemble, scalers: ForecastScalers | InputStandardizer, spec: dict):
        self.model, self.scalers, self.spec = model.eval(), scalers, dict(spec)
        self.features: list[str] = list(spec["features"])
        self.target: str = spec["target"]
        self.lookback, self.horizon, self.offset = int(spec["lookback"]), int(spec["horizon"]), int(spec["offset"])
        self.open_fill: str = spec.get("open_fill", "prev_close")  # how training filled Open = 0

    @property
    def history_needed(self) -> int:
        """Rows a forecast reads: the window, and for relative inputs the level's days too."""
        return max(self.lookback, LEVEL_DAYS) if self.spec["inputs"] == "relative" else self.lookback

    @property
    def columns(self) -> list[str]:
        """Columns the newest rows must hold (valid numbers) for a forecast."""
        return list(PRICE_COLUMNS) if self.spec["inputs"] == "relative" else self.features

    @classmethod
    def load(cls, bundle: str | Path) -> ForecastPredictor:
        bundle = Path(bundle)
        config = read_config(bundle, "forecast")
        try:
            scalers = forecast_scalers_from_dict(read_json(bundle, "scalers.json"))
            model = regressor_from_hparams(config["model"])
            spec = {k: config[k] for k in ("features", "target", "lookback", "horizon", "offset")}
            spec["inputs"] = config.get("inputs", "levels")  # bundles from before relative inputs
            spec["calendar"] = getattr(scalers, "calendar", False)
            spec["open_fill"] = config.get("open_fill", "prev_close")
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{bundle}: config.json or scalers.json is incomplete ({exc})") from None
        load_weights_into(model, bundle)
        return cls(model, scalers, spec)

    @property
    def quantiles(self) -> list[float]:
        """The levels the model predicts besides the median ([] for a point model)."""
        return [q for q in self.model.hparams.get("quantiles", []) if q != 0.5]

    def predict_levels(self, history: pd.DataFrame, ticker: str, anchors) -> np.ndarray:
        """Outputs in original units of the windows of one ticker's history anchored at
        `anchors` (rows sorted by date): [M, horizon], or [M, horizon, levels] for a quantile model."""
        w = window_inputs(history, ticker, anchors, self.spec, self.scalers)
        return to_original_units(predict_windows(self.model, w["x"], w["future"]), w["level"], self.spec,
                                 self.scalers, ticker)

    def predict_anchors(self, history: pd.DataFrame, ticker: str, anchors) -> np.ndarray:
        """Point forecasts [M, horizon] (a quantile model's median) in original units."""
        out = self.predict_levels(history, ticker, anchors)
        return out[..., self.model.hparams["quantiles"].index(0.5)] if out.ndim == 3 else out

    def forecast(self, history: pd.DataFrame, ticker: str) -> list[dict]:
        """The next `horizon` values after the last row of one ticker's history (rows sorted by
        date, with a `Date` column and the model's input columns, no missing values in the
        newest rows): [{"ticker", "date", "step", <target>, p10, p90}] in original units (the
        p-levels of a quantile model only: its other levels, e.g. 10 % and 90 %). A model on
        relative inputs forecasts any ticker; one on levels inputs only those it has scalers for."""
        if not self.scalers.knows(ticker):
            known = sorted(self.scalers.features.scalers)
            raise ValueError(f"the model has no scalers for ticker {ticker!r} (trained on {', '.join(known[:10])}"
                             f"{' ...' if len(known) > 10 else ''})")
        if len(history) < self.history_needed:
            raise ValueError(f"need at least {self.history_needed} rows for a forecast, got {len(history)}")
        out = self.predict_levels(history, ticker, [len(history) - 1])[0]
        levels = self.model.hparams.get("quantiles", [])
        dates = future_dates(history["Date"].iloc[-1], self.horizon, self.offset)
        key = self.target.lower().replace(" ", "_")
        lines = []
        for k, d in enumerate(dates):
            line = {"ticker": ticker, "date": d.date().isoformat(), "step": k + 1}
            if levels:  # the median is the forecast; the other levels sit beside it (p10, p90)
                line[key] = float(out[k, levels.index(0.5)])
                line.update({level_name(q): float(out[k, j]) for j, q in enumerate(levels) if q != 0.5})
            else:
                line[key] = float(out[k])
            lines.append(line)
        return lines
