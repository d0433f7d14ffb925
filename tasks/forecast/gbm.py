"""The gradient-boosting baseline: what a forecaster would try instead of an LSTM.

A global LightGBM model per forecast step (as in the M5 accuracy winners: one model across all
tickers, lag features, no per-series fitting), on exactly the ridge's inputs (20 lags of log
volume relative to their mean, 5 lags of log |return|, the forecast day's calendar). Its
objective is the LSTM's: L1 on log volume relative to the level, each window weighted by
exp(level) / the ticker's naive scale (so the loss approximates MASE in original units). The
number of trees is chosen by early stopping on the validation windows; the other settings are
LightGBM's defaults (learning rate 0.1, 31 leaves: untuned, as a forecaster would first try it).
"""
from __future__ import annotations

import numpy as np

from .baselines import Series, ridge_inputs

MAX_TREES = 2000
LEARNING_RATE = 0.1  # LightGBM's default
EARLY_STOPPING = 50
FALLBACK_TREES = 200  # no validation windows to stop on


class GBM:
    def __init__(self, s: Series, horizon: int, offset: int, seed: int = 0):
        self.s, self.horizon, self.offset, self.seed = s, horizon, offset, seed
        self.models: list = []
        self.trees: list[int] = []

    def _targets(self, last: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        mats, level = ridge_inputs(self.s, last, self.horizon, self.offset)
        return mats, self.s.log_value[last[:, None] + 1 + np.arange(self.horizon)] - level[:, None]

    def fit(self, last_train: np.ndarray, weight_train: np.ndarray, last_val: np.ndarray,
            weight_val: np.ndarray) -> GBM:
        """One LightGBM a step on the training windows, stopped early on the validation ones
        (without validation windows: FALLBACK_TREES trees)."""
        import lightgbm as lgb

        x_train, y_train = self._targets(last_train)
        x_val, y_val = self._targets(last_val) if len(last_val) else (None, None)
        params = {"objective": "l1", "learning_rate": LEARNING_RATE, "seed": self.seed, "deterministic": True,
                  "force_row_wise": True, "verbosity": -1}
        for k in range(self.horizon):
            train = lgb.Dataset(x_train[k], y_train[:, k], weight=weight_train)
            if x_val is None:
                model = lgb.train(params, train, num_boost_round=FALLBACK_TREES)
            else:
                val = lgb.Dataset(x_val[k], y_val[:, k], weight=weight_val, reference=train)
                model = lgb.train(params, train, num_boost_round=MAX_TREES, valid_sets=[val],
                                  callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)])
            self.models.append(model)
            self.trees.append(int(model.best_iteration or model.current_iteration()))
        return self

    def predict(self, last: np.ndarray) -> np.ndarray:
        mats, level = ridge_inputs(self.s, last, self.horizon, self.offset)
        out = np.stack([m.predict(x, num_iteration=t) for m, x, t in zip(self.models, mats, self.trees)], 1)
        return np.expm1(out + level[:, None])
