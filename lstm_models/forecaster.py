"""Load a forecast bundle and forecast the next `horizon` values with exactly the training
preprocessing (same columns, log transform and per-ticker scalers, same window)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .bundle import BundleError, load_weights_into, read_config, read_json
from .data import TensorData
from .regressor import LSTMRegressor
from .scaling import ForecastScalers
from .training import predict
from .windows import last_window


def predict_windows(model: LSTMRegressor, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Scaled predictions [M, horizon] for scaled windows x [M, lookback, F]."""
    if len(x) == 0:
        return np.empty((0, model.hparams["horizon"]), dtype=np.float32)
    data = TensorData(torch.tensor(np.asarray(x, dtype=np.float32)), torch.zeros(len(x)))  # a copy: x may be read-only
    return predict(model, data, batch_size=batch_size, device=torch.device("cpu")).numpy()


def future_dates(last: pd.Timestamp, horizon: int, offset: int) -> list[pd.Timestamp]:
    """Dates of the forecast steps: business days after the last row (step 1 of a same-day model,
    offset 0, is the last row's own date). Exchange holidays are not known here."""
    last = pd.Timestamp(last)
    return [last + pd.offsets.BDay(offset + k) if offset + k else last for k in range(horizon)]


class ForecastPredictor:
    def __init__(self, model: LSTMRegressor, scalers: ForecastScalers, spec: dict):
        self.model, self.scalers = model.eval(), scalers
        self.features: list[str] = list(spec["features"])
        self.target: str = spec["target"]
        self.lookback, self.horizon, self.offset = int(spec["lookback"]), int(spec["horizon"]), int(spec["offset"])
        self.open_fill: str = spec.get("open_fill", "prev_close")  # how training filled Open = 0

    @classmethod
    def load(cls, bundle: str | Path) -> "ForecastPredictor":
        bundle = Path(bundle)
        config = read_config(bundle, "forecast")
        try:
            scalers = ForecastScalers.from_dict(read_json(bundle, "scalers.json"))
            model = LSTMRegressor.from_hparams(config["model"])
            spec = {k: config[k] for k in ("features", "target", "lookback", "horizon", "offset")}
            spec["open_fill"] = config.get("open_fill", "prev_close")
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{bundle}: config.json or scalers.json is incomplete ({exc})") from None
        load_weights_into(model, bundle)
        return cls(model, scalers, spec)

    def predict_scaled(self, x_scaled: np.ndarray) -> np.ndarray:
        return predict_windows(self.model, x_scaled)

    def forecast(self, history: pd.DataFrame, ticker: str) -> list[dict]:
        """The next `horizon` values after the last row of one ticker's history (rows sorted by
        date, with a `Date` column and the model's feature columns, no missing values in the
        newest `lookback` rows): [{"ticker", "date", "step", <target>}] in original units."""
        if not self.scalers.knows(ticker):
            known = sorted(self.scalers.features.scalers)
            raise ValueError(f"the model has no scalers for ticker {ticker!r} (trained on {', '.join(known[:10])}"
                             f"{' ...' if len(known) > 10 else ''})")
        window = last_window(history[self.features].to_numpy(np.float64), self.lookback)
        x = self.scalers.transform_features(window, ticker)
        y = self.scalers.inverse_target(self.predict_scaled(x), ticker)[0]
        dates = future_dates(history["Date"].iloc[-1], self.horizon, self.offset)
        key = self.target.lower().replace(" ", "_")
        return [{"ticker": ticker, "date": d.date().isoformat(), "step": k + 1, key: float(v)}
                for k, (d, v) in enumerate(zip(dates, y))]
