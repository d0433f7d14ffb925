"""Per-column scalers that fit on the training part only and save as plain JSON (never pickle).

`StandardScaler` and `MinMaxScaler` follow scikit-learn's definitions (population std; a
constant column gets scale 1 so it maps to 0 instead of dividing by zero). Columns flagged
`log1p` (volumes: heavy-tailed, never negative) are log1p-transformed before scaling and
expm1-transformed after inverting, so a model sees roughly normal values and predictions come
back in shares.

The last axis holds the columns, so the same scaler works on rows [N, F] and on windows
[M, T, F]. A one-column scaler applies elementwise to any shape: that is how the target scaler
inverts [M, horizon] predictions.

`TickerScalers` keeps one scaler per ticker, so a 0.1-dollar stock of 1975 and a 3,000-dollar
stock of 2020 both land near 0 when one global model learns from both.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class _ColumnScaler:
    kind = ""

    def __init__(self, log1p: bool | Sequence[bool] = False, columns: Sequence[str] | None = None):
        self.log1p = log1p
        self.columns = list(columns) if columns is not None else None
        self._log_mask: np.ndarray | None = None

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, x) -> "_ColumnScaler":
        """Fit on the training rows only: x [N] or [N, F]."""
        x = self._as_2d(x)
        if len(x) == 0:
            raise ValueError("cannot fit a scaler on zero rows")
        if self.columns is not None and len(self.columns) != x.shape[1]:
            raise ValueError(f"{len(self.columns)} column names for {x.shape[1]} columns")
        self._log_mask = self._resolve_log_mask(x.shape[1])
        try:
            x = self._forward_log(x)
            if not np.isfinite(x).all():
                raise ValueError("cannot fit a scaler on missing or infinite values; fill them first")
        except ValueError:
            self._log_mask = None  # a failed fit leaves the scaler unfitted, not half-fitted
            raise
        self._fit_stats(x)
        return self

    def _resolve_log_mask(self, n: int) -> np.ndarray:
        mask = np.broadcast_to(np.asarray(self.log1p, dtype=bool), (n,)) if np.ndim(self.log1p) == 0 \
            else np.asarray(self.log1p, dtype=bool)
        if mask.shape != (n,):
            raise ValueError(f"log1p has {mask.size} flags for {n} columns")
        return mask.copy()

    @staticmethod
    def _as_2d(x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            return x[:, None]
        if x.ndim != 2:
            raise ValueError(f"fit expects [rows] or [rows, columns], got shape {x.shape}")
        return x

    # -- transforms --------------------------------------------------------------------------
    @property
    def n_columns(self) -> int:
        self._check_fitted()
        return len(self._log_mask)

    def transform(self, x) -> np.ndarray:
        x = self._checked(x)
        return (self._forward_log(x) - self._offset) / self._scale

    def inverse_transform(self, x) -> np.ndarray:
        x = self._checked(x)
        x = x * self._scale + self._offset
        if not self._log_mask.any():
            return x
        if self.n_columns == 1:
            return np.expm1(x)
        x[..., self._log_mask] = np.expm1(x[..., self._log_mask])
        return x

    def _forward_log(self, x: np.ndarray) -> np.ndarray:
        if not self._log_mask.any():
            return x
        logged = x[..., self._log_mask] if self.n_columns > 1 else x
        if (logged < 0).any():
            raise ValueError("log1p columns must be >= 0 (volumes); got a negative value")
        if self.n_columns == 1:
            return np.log1p(x)
        out = x.copy()
        out[..., self._log_mask] = np.log1p(logged)
        return out

    def _checked(self, x) -> np.ndarray:
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        if self.n_columns > 1 and (x.ndim == 0 or x.shape[-1] != self.n_columns):
            raise ValueError(f"scaler fitted on {self.n_columns} columns, got shape {x.shape}")
        return x

    def _check_fitted(self):
        if self._log_mask is None:
            raise ValueError(f"{type(self).__name__} is not fitted; call fit on the training part first")

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-able dict: what a bundle stores in scalers.json."""
        self._check_fitted()
        return {"kind": self.kind, "columns": self.columns, "log1p": self._log_mask.tolist(), **self._stats_dict()}

    @classmethod
    def _from_dict(cls, d: dict) -> "_ColumnScaler":
        raise NotImplementedError


class StandardScaler(_ColumnScaler):
    """(x - mean) / std per column, std with ddof=0 as in scikit-learn."""

    kind = "standard"

    def _fit_stats(self, x: np.ndarray):
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)

    # shape (F,) arrays: they broadcast over the last axis, and a (1,) array over any shape
    @property
    def _offset(self):
        return self.mean_

    @property
    def _scale(self):
        return self.scale_

    def _stats_dict(self) -> dict:
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def _from_dict(cls, d: dict) -> "StandardScaler":
        s = cls(log1p=d["log1p"], columns=d.get("columns"))
        s.mean_, s.scale_ = np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
        s._log_mask = np.asarray(d["log1p"], dtype=bool)
        return s


class MinMaxScaler(_ColumnScaler):
    """Maps the training min..max of each column onto feature_range (default 0..1)."""

    kind = "minmax"

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0), log1p: bool | Sequence[bool] = False,
                 columns: Sequence[str] | None = None):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"feature_range must be (low, high) with low < high, got {feature_range}")
        super().__init__(log1p=log1p, columns=columns)
        self.feature_range = (float(lo), float(hi))

    def _fit_stats(self, x: np.ndarray):
        self.data_min_, self.data_max_ = x.min(axis=0), x.max(axis=0)

    @property
    def _span(self) -> np.ndarray:
        rng = self.data_max_ - self.data_min_
        lo, hi = self.feature_range
        return np.where(rng > 0, rng, 1.0) / (hi - lo)

    # written as transform = (x - offset) / scale, like StandardScaler
    @property
    def _scale(self):
        return self._span

    @property
    def _offset(self):
        return self.data_min_ - self.feature_range[0] * self._span

    def _stats_dict(self) -> dict:
        return {"feature_range": list(self.feature_range), "data_min": self.data_min_.tolist(),
                "data_max": self.data_max_.tolist()}

    @classmethod
    def _from_dict(cls, d: dict) -> "MinMaxScaler":
        s = cls(feature_range=tuple(d["feature_range"]), log1p=d["log1p"], columns=d.get("columns"))
        s.data_min_ = np.asarray(d["data_min"], dtype=np.float64)
        s.data_max_ = np.asarray(d["data_max"], dtype=np.float64)
        s._log_mask = np.asarray(d["log1p"], dtype=bool)
        return s


SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}
Scaler = StandardScaler | MinMaxScaler


def make_scaler(kind: str, **kwargs) -> Scaler:
    """A new, unfitted scaler by name ("standard" or "minmax"), as configs spell it."""
    if kind not in SCALERS:
        raise ValueError(f"scaler must be one of {sorted(SCALERS)}, got {kind!r}")
    return SCALERS[kind](**kwargs)


def scaler_from_dict(d: dict) -> Scaler:
    """Inverse of `to_dict`; rejects unknown kinds instead of guessing."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind not in SCALERS:
        raise ValueError(f"unknown scaler kind {kind!r}; expected one of {sorted(SCALERS)}")
    return SCALERS[kind]._from_dict(d)


class TickerScalers:
    """One fitted scaler per ticker, applied to rows by their ticker label."""

    def __init__(self, scalers: dict[str, Scaler]):
        self.scalers = dict(scalers)

    def __getitem__(self, ticker: str) -> Scaler:
        try:
            return self.scalers[ticker]
        except KeyError:
            raise ValueError(
                f"no scaler for ticker {ticker!r}; fitted on {sorted(self.scalers)[:10]}"
                f"{' ...' if len(self.scalers) > 10 else ''}"
            ) from None

    def __contains__(self, ticker: str) -> bool:
        return ticker in self.scalers

    def to_dict(self) -> dict:
        return {"per_ticker": {t: s.to_dict() for t, s in sorted(self.scalers.items())}}

    @classmethod
    def from_dict(cls, d: dict) -> "TickerScalers":
        if not isinstance(d, dict) or not isinstance(d.get("per_ticker"), dict):
            raise ValueError("expected {'per_ticker': {ticker: scaler dict}}")
        return cls({t: scaler_from_dict(s) for t, s in d["per_ticker"].items()})


GLOBAL = "*"  # the key of the one shared scaler when scalers are not per ticker


class ForecastScalers:
    """The feature and target scalers of one forecast model, as a bundle stores them.

    Per ticker (the default for several tickers) or one global pair under the key "*", which
    then applies to any ticker, including ones the model never saw.
    """

    def __init__(self, features: TickerScalers, target: TickerScalers, feature_names: Sequence[str],
                 target_name: str, per_ticker: bool = True):
        self.features, self.target = features, target
        self.feature_names, self.target_name = list(feature_names), target_name
        self.per_ticker = per_ticker

    @classmethod
    def fit(cls, train_rows: dict[str, tuple[np.ndarray, np.ndarray]], *, feature_names: Sequence[str],
            target_name: str, feature_kind: str = "standard", target_kind: str = "standard",
            log_columns: Sequence[str] = (), per_ticker: bool = True) -> "ForecastScalers":
        """Fit on the training rows of each ticker only: {ticker: (features [N, F], target [N])}."""
        feature_log = [name in log_columns for name in feature_names]
        target_log = target_name in log_columns
        if not per_ticker:
            x = np.concatenate([np.asarray(f, dtype=np.float64) for f, _ in train_rows.values()])
            y = np.concatenate([np.asarray(t, dtype=np.float64) for _, t in train_rows.values()])
            train_rows = {GLOBAL: (x, y)}
        feats, targets = {}, {}
        for ticker, (x, y) in train_rows.items():
            feats[ticker] = make_scaler(feature_kind, log1p=feature_log, columns=feature_names).fit(x)
            targets[ticker] = make_scaler(target_kind, log1p=target_log, columns=[target_name]).fit(y)
        return cls(TickerScalers(feats), TickerScalers(targets), feature_names, target_name, per_ticker)

    def _key(self, ticker: str) -> str:
        return str(ticker) if self.per_ticker else GLOBAL

    def knows(self, ticker: str) -> bool:
        return self._key(ticker) in self.features

    def transform_features(self, x, ticker: str) -> np.ndarray:
        return self.features[self._key(ticker)].transform(x)

    def transform_target(self, y, ticker: str) -> np.ndarray:
        return self.target[self._key(ticker)].transform(np.asarray(y, dtype=np.float64)[..., None])[..., 0]

    def inverse_target(self, y, ticker: str) -> np.ndarray:
        """Scaled predictions (any shape) back to original units."""
        return self.target[self._key(ticker)].inverse_transform(y)

    def to_dict(self) -> dict:
        return {"per_ticker": self.per_ticker, "feature_names": self.feature_names, "target_name": self.target_name,
                "features": self.features.to_dict()["per_ticker"], "target": self.target.to_dict()["per_ticker"]}

    @classmethod
    def from_dict(cls, d: dict) -> "ForecastScalers":
        try:
            return cls(TickerScalers.from_dict({"per_ticker": d["features"]}),
                       TickerScalers.from_dict({"per_ticker": d["target"]}),
                       d["feature_names"], d["target_name"], bool(d["per_ticker"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a forecast scalers dict (missing {exc})") from None


class InputStandardizer:
    """Relative inputs' preprocessing state: the mean and standard deviation of each row input
    over the training rows of all tickers pooled. The inputs are scale free, so one set serves
    every ticker, including tickers the model has never seen."""

    kind = "relative"

    def __init__(self, names: Sequence[str], mean, std, calendar: bool):
        self.names, self.calendar = list(names), bool(calendar)
        self.mean, self.std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    @classmethod
    def fit(cls, rows: np.ndarray, names: Sequence[str], calendar: bool) -> InputStandardizer:
        rows = np.asarray(rows, dtype=np.float64)
        std = rows.std(0)
        return cls(names, rows.mean(0), np.where(std > 1e-8, std, 1.0), calendar)

    def transform(self, rows: np.ndarray) -> np.ndarray:
        return ((np.asarray(rows, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def knows(self, ticker: str) -> bool:
        return True

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": self.names, "calendar": self.calendar,
                "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> InputStandardizer:
        try:
            return cls(d["names"], d["mean"], d["std"], d["calendar"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an input standardizer dict (missing {exc})") from None


def forecast_scalers_from_dict(d: dict) -> ForecastScalers | InputStandardizer:
    """scalers.json of either input mode."""
    return InputStandardizer.from_dict(d) if d.get("kind") == "relative" else ForecastScalers.from_dict(d)
