"""Windows over real SBUX prices: shapes, exact contents, no look-ahead, splits, last window."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_models.windows import chronological_split, last_window, make_windows

SBUX = Path(__file__).resolve().parents[2] / "data" / "SBUX.csv"
FEATURES = ["Open", "High", "Low", "Close", "Adj Close"]


@pytest.fixture(scope="module")
def sbux():
    df = pd.read_csv(SBUX)
    return df[FEATURES].to_numpy(np.float64), df["Volume"].to_numpy(np.float64)


def test_windows_hold_the_rows_before_and_the_steps_after_each_anchor(sbux):
    features, volume = sbux
    w = make_windows(features, volume, lookback=10, horizon=5)
    n = len(volume)
    assert w.x.shape == (n - 10 - 5 + 1, 10, 5) and w.y.shape == (n - 14, 5)
    assert w.anchor[0] == 9 and w.anchor[-1] == n - 6
    for i, t in enumerate(w.anchor):
        np.testing.assert_array_equal(w.x[i], features[t - 9: t + 1])
        np.testing.assert_array_equal(w.y[i], volume[t + 1: t + 6])


def test_no_window_sees_a_row_at_or_after_its_first_target(sbux):
    features, _ = sbux
    rows = np.arange(len(features), dtype=np.float64)  # each value is its own row index
    w = make_windows(np.column_stack([rows, features]), rows, lookback=20, horizon=3)
    latest_input = w.x[:, :, 0].max(axis=1)
    assert (latest_input == w.anchor).all()
    assert (latest_input < w.y.min(axis=1)).all()
    assert (w.y[:, 0] == w.anchor + 1).all()


def test_same_day_mode_pairs_each_days_prices_with_that_days_volume(sbux):
    features, volume = sbux
    w = make_windows(features, volume, lookback=1, horizon=1, offset=0)
    assert w.x.shape == (len(volume), 1, 5)
    np.testing.assert_array_equal(w.x[:, 0], features)
    np.testing.assert_array_equal(w.y[:, 0], volume)


def test_windows_are_views_not_copies(sbux):
    features, volume = sbux
    w = make_windows(features, volume, lookback=30, horizon=5)
    assert np.shares_memory(w.x, features) and np.shares_memory(w.y, volume)


def test_article_split_first_200_rows_train():
    split = chronological_split(252, train_rows=200)
    assert split.parts() == {"train": (0, 200), "val": (200, 200), "test": (200, 252)}


def test_fraction_split_is_chronological_and_complete():
    split = chronological_split(252, val_fraction=0.1, test_fraction=0.2)
    assert split.parts() == {"train": (0, 177), "val": (177, 202), "test": (202, 252)}  # 50.4 -> 50, 25.2 -> 25


def test_split_windows_keep_targets_inside_their_part(sbux):
    features, volume = sbux
    split = chronological_split(len(volume), val_fraction=0.15, test_fraction=0.15)
    lookback, horizon = 10, 5
    parts = {name: make_windows(features, volume, lookback, horizon, targets_within=bounds)
             for name, bounds in split.parts().items()}
    for name, (lo, hi) in split.parts().items():
        t = parts[name].anchor
        assert len(t) > 0
        assert (t + 1 >= lo).all() and (t + horizon <= hi - 1).all(), name
    # training windows lie wholly in the training part, inputs included
    train = parts["train"]
    assert train.anchor.min() - lookback + 1 >= 0
    assert train.anchor.max() + horizon < split.train_end
    # a test window may read history from before the test part, never after its targets
    test = parts["test"]
    assert test.anchor.min() + 1 == split.val_end
    assert test.anchor.min() - lookback + 1 < split.val_end
    # windows straddling a boundary are dropped, not assigned to a part
    all_anchors = np.concatenate([p.anchor for p in parts.values()])
    assert len(np.unique(all_anchors)) == len(all_anchors)
    assert len(all_anchors) == len(volume) - lookback - horizon + 1 - 2 * (horizon - 1)


def test_last_window_is_the_newest_lookback_rows(sbux):
    features, volume = sbux
    x = last_window(features, lookback=10)
    assert x.shape == (1, 10, 5)
    np.testing.assert_array_equal(x[0], features[-10:])
    # the last training-style window ends 'horizon' rows earlier: its targets must exist
    assert make_windows(features, volume, 10, 5).anchor[-1] == len(volume) - 1 - 5


def test_too_short_a_part_gives_no_windows_and_bad_arguments_are_refused(sbux):
    features, volume = sbux
    w = make_windows(features, volume, lookback=10, horizon=5, targets_within=(100, 103))
    assert len(w) == 0 and w.x.shape == (0, 10, 5) and w.y.shape == (0, 5)
    with pytest.raises(ValueError, match="lookback"):
        make_windows(features, volume, lookback=0)
    with pytest.raises(ValueError, match="offset"):
        make_windows(features, volume, lookback=2, offset=-1)
    with pytest.raises(ValueError, match="targets_within"):
        make_windows(features, volume, lookback=2, targets_within=(0, len(volume) + 1))
    with pytest.raises(ValueError, match="at least lookback"):
        last_window(features[:3], lookback=5)
    with pytest.raises(ValueError, match="train_rows"):
        chronological_split(252, train_rows=300)


def test_missing_values_are_refused_rather_than_windowed(sbux):
    features, volume = sbux
    holed = features.copy()
    holed[40, 0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        make_windows(holed, volume, lookback=5)
