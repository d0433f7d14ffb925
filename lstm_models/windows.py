"""Sliding windows over one time series, and chronological splits that never look ahead.

A window is anchored at row t, the last row whose features the model sees:

    inputs  = features[t - lookback + 1 .. t]                      [lookback, F]
    targets = target[t + offset .. t + offset + horizon - 1]        [horizon]

`offset=1` is a forecast (direct multi-step: one output per future step). `offset=0,
lookback=1, horizon=1` is the article's same-day mode: it predicts the target of day t from the
features of day t, which explains rather than forecasts (day t's prices are not known before
day t's volume is).

Inputs never come after the first target (t <= t + offset), so no window looks ahead of its
own targets. A split is a set of row boundaries; windows of a part are the ones whose targets
all lie in that part. Their inputs may reach back into earlier parts (that history is known
when the part begins), never forward, and training windows stay wholly inside the training part.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class Windows:
    """x [M, lookback, F], y [M, horizon], anchor [M] (row index t of each window's last input)."""

    x: np.ndarray
    y: np.ndarray
    anchor: np.ndarray

    def __len__(self) -> int:
        return len(self.anchor)


@dataclass(frozen=True)
class Split:
    """Row boundaries of a chronological split: train [0, train_end), val [train_end, val_end),
    test [val_end, n)."""

    train_end: int
    val_end: int
    n: int

    @property
    def train(self) -> tuple[int, int]:
        return (0, self.train_end)

    @property
    def val(self) -> tuple[int, int]:
        return (self.train_end, self.val_end)

    @property
    def test(self) -> tuple[int, int]:
        return (self.val_end, self.n)

    def parts(self) -> dict[str, tuple[int, int]]:
        return {"train": self.train, "val": self.val, "test": self.test}


def chronological_split(
    n: int,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    train_rows: int | None = None,
    val_rows: int = 0,
) -> Split:
    """Split n time-ordered rows into train, validation and test parts, in that order.

    By fraction (default): the last `test_fraction` of rows is test, the `val_fraction` before it
    validation. By count (`train_rows`, the article's "first 200 rows train"): the first
    `train_rows` rows train, the next `val_rows` validation, the rest test.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if train_rows is not None:
        if train_rows < 1 or val_rows < 0 or train_rows + val_rows > n:
            raise ValueError(
                f"train_rows ({train_rows}) + val_rows ({val_rows}) must be within the {n} rows, train_rows >= 1"
            )
        return Split(train_rows, train_rows + val_rows, n)
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be in [0, 1) and sum below 1"
        )
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    train_end = n - n_test - n_val
    if train_end < 1 and n > 0:
        raise ValueError(f"{n} rows leave no training rows after val/test fractions")
    return Split(train_end, train_end + n_val, n)


def _check_window_args(lookback: int, horizon: int, offset: int):
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0 (a negative offset would predict the past), got {offset}")


def anchor_range(n: int, lookback: int, horizon: int, offset: int = 1,
                 targets_within: tuple[int, int] | None = None) -> tuple[int, int]:
    """[first, stop) of the anchors t whose inputs start at row >= 0 and whose targets all lie
    in `targets_within` (default: the whole series)."""
    _check_window_args(lookback, horizon, offset)
    lo, hi = targets_within if targets_within is not None else (0, n)
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"targets_within {targets_within} must lie within [0, {n}]")
    first = max(lookback - 1, lo - offset)  # inputs start at >= 0; first target at >= lo
    stop = hi - offset - horizon + 1  # last target at <= hi - 1
    return first, max(first, stop)


def make_windows(
    features,
    target,
    lookback: int,
    horizon: int = 1,
    *,
    offset: int = 1,
    targets_within: tuple[int, int] | None = None,
) -> Windows:
    """All windows of one series (see the module docstring) whose targets lie in
    `targets_within` = (first row, end row), e.g. `split.test`.

    features [N, F] (or [N] for one feature), target [N]. Vectorised with stride tricks: x and y
    are read-only views into the inputs, no copy is made (call np.ascontiguousarray to own one).
    Missing values are refused: fill them before windowing, or a window would silently carry NaN.
    """
    features = np.asarray(features)
    if features.ndim == 1:
        features = features[:, None]
    target = np.asarray(target)
    if features.ndim != 2 or target.ndim != 1 or len(features) != len(target):
        raise ValueError(f"features must be [N, F] and target [N]; got {features.shape} and {target.shape}")
    n = len(target)
    first, stop = anchor_range(n, lookback, horizon, offset, targets_within)
    for name, arr in (("features", features), ("target", target)):
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            raise ValueError(f"{name} contain missing or infinite values; fill them before windowing")
    if stop <= first:
        return Windows(
            np.empty((0, lookback, features.shape[1]), features.dtype),
            np.empty((0, horizon), target.dtype), np.empty(0, np.int64),
        )
    # sliding_window_view(features, lookback, axis=0)[i] covers rows i .. i + lookback - 1 as
    # [F, lookback]; the window anchored at t starts at i = t - lookback + 1.
    x = sliding_window_view(features, lookback, axis=0).transpose(0, 2, 1)
    x = x[first - lookback + 1: stop - lookback + 1]
    y = sliding_window_view(target, horizon)[first + offset: stop + offset]
    return Windows(x, y, np.arange(first, stop, dtype=np.int64))


def last_window(features, lookback: int) -> np.ndarray:
    """The newest input window [1, lookback, F], anchored at the last row n - 1: what a forecast
    beyond the end of the data (rows n - 1 + offset .. n - 2 + offset + horizon) is made from."""
    features = np.asarray(features)
    if features.ndim == 1:
        features = features[:, None]
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}")
    if len(features) < lookback:
        raise ValueError(f"need at least lookback={lookback} rows for a window, got {len(features)}")
    return features[len(features) - lookback:][None]
