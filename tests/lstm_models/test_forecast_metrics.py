"""Forecast metrics and baselines: hand-checked values and identities on real SBUX prices."""
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_models.forecast_metrics import (
    mae,
    mase,
    moving_average_forecast,
    naive_scale,
    persistence_forecast,
    rmse,
    scores,
    scores_by_ticker,
    smape,
)
from lstm_models.windows import chronological_split, make_windows

REPO = Path(__file__).resolve().parents[2]
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"


def test_point_metrics_match_hand_computed_values():
    actual, forecast = np.array([100.0, 200.0, 0.0]), np.array([110.0, 180.0, 0.0])
    assert mae(actual, forecast) == pytest.approx(10.0)
    assert rmse(actual, forecast) == pytest.approx(np.sqrt((100 + 400) / 3))
    # 2*10/210 and 2*20/380; the 0-vs-0 step counts as perfect, not 0/0
    assert smape(actual, forecast) == pytest.approx(100 * (20 / 210 + 40 / 380) / 3)
    assert smape([5.0], [-5.0]) == pytest.approx(200.0)  # the worst sMAPE there is
    with pytest.raises(ValueError, match="same shape"):
        mae([1.0, 2.0], [1.0])


def test_persistence_scores_mase_1_on_the_series_it_was_scaled_on():
    close = pd.read_csv(SBUX)["Close"].to_numpy()
    train = close[:200]
    w = make_windows(train[:, None], train, lookback=1, horizon=1)
    forecast = persistence_forecast(train, w.anchor, horizon=1)
    assert mase(w.y, forecast, insample=train) == pytest.approx(1.0)
    assert naive_scale(train) == pytest.approx(np.abs(np.diff(train)).mean())


def test_baselines_repeat_the_last_value_or_the_mean_of_the_last_k():
    volume = pd.read_csv(SBUX)["Volume"].to_numpy(np.float64)
    anchor = np.array([9, 50, 251])
    p = persistence_forecast(volume, anchor, horizon=3)
    assert p.shape == (3, 3) and (p == volume[anchor][:, None]).all()
    m = moving_average_forecast(volume, anchor, horizon=2, window=5)
    np.testing.assert_allclose(m[:, 0], [volume[t - 4: t + 1].mean() for t in anchor])
    assert (m[:, 0] == m[:, 1]).all()
    # at the very start the mean covers the values that exist
    assert moving_average_forecast(volume, [1], 1, window=5)[0, 0] == pytest.approx(volume[:2].mean())
    # same-day mode (offset 0): the last known volume is yesterday's
    assert persistence_forecast(volume, [10], 1, offset=0)[0, 0] == volume[9]
    with pytest.raises(ValueError, match="known target value"):
        persistence_forecast(volume, [0], 1, offset=0)


def test_lstm_must_beat_persistence_on_the_test_part_to_score_mase_below_1():
    close = pd.read_csv(SBUX)["Close"].to_numpy()
    split = chronological_split(len(close), train_rows=200)
    w = make_windows(close[:, None], close, lookback=1, horizon=5, targets_within=split.test)
    scale = naive_scale(close[: split.train_end])
    persistence = scores(w.y, persistence_forecast(close, w.anchor, 5), scale)
    perfect = scores(w.y, w.y, scale)
    train_mean = scores(w.y, np.full_like(w.y, close[:200].mean()), scale)
    assert perfect["mase"] == 0 and perfect["n"] == w.y.size
    # SBUX fell through 2022: the train mean is far worse than yesterday's price
    assert persistence["mase"] < train_mean["mase"]
    assert persistence["mase"] > 1  # five steps ahead is harder than the in-sample one-step naive


def _history_close(ticker: str, start: int, rows: int) -> np.ndarray:
    with gzip.open(HISTORY / f"{ticker}.csv.gz", "rt") as fh:
        return pd.read_csv(fh, nrows=start + rows)["Close"].to_numpy()[start:]


def test_pooled_mase_weights_each_ticker_by_its_own_scale():
    # AAPL from 1981-10 (after its all-null row), IBM from 1962
    series = {"AAPL": _history_close("AAPL", 200, 400), "IBM": _history_close("IBM", 0, 400)}
    actual, forecast, tickers, scales = [], [], [], {}
    for t, y in series.items():
        scales[t] = naive_scale(y[:300])
        w = make_windows(y[:, None], y, lookback=1, horizon=2, targets_within=(300, 400))
        actual.append(w.y)
        forecast.append(moving_average_forecast(y, w.anchor, horizon=2, window=5))
        tickers += [t] * len(w)
    report = scores_by_ticker(np.concatenate(actual), np.concatenate(forecast), tickers, scales)
    per = report["per_ticker"]
    assert set(per) == {"AAPL", "IBM"}
    weighted = sum(per[t]["mase"] * per[t]["n"] for t in per) / sum(per[t]["n"] for t in per)
    assert report["overall"]["mase"] == pytest.approx(weighted)
    assert report["overall"]["n"] == per["AAPL"]["n"] + per["IBM"]["n"]
    # IBM traded ~50x higher than AAPL then, so MAE ranks IBM's forecasts worst; scaled by each
    # series' own naive error, AAPL's 1982 rally (the moving average lags it) is the worse one
    assert per["IBM"]["mae"] > 5 * per["AAPL"]["mae"]
    assert per["AAPL"]["mase"] > per["IBM"]["mase"]
    with pytest.raises(ValueError, match="no naive scale"):
        scores_by_ticker(np.concatenate(actual), np.concatenate(forecast), tickers, {"AAPL": 1.0})


def test_interval_scores_count_values_inside_and_scale_the_width_per_ticker():
    from lstm_models.forecast_metrics import interval_scores

    actual = np.array([[10.0, 20.0], [30.0, 40.0]])
    lower = np.array([[9.0, 21.0], [25.0, 35.0]])  # 20 is below its interval
    upper = np.array([[11.0, 25.0], [35.0, 45.0]])
    s = interval_scores(actual, lower, upper, ["A", "B"], {"A": 2.0, "B": 10.0}, 0.8)
    assert s["coverage"] == 0.75 and s["coverage_by_step"] == [1.0, 0.5] and s["level"] == 0.8
    assert s["scaled_width"] == pytest.approx(np.mean([2 / 2, 4 / 2, 10 / 10, 10 / 10]))
    assert s["relative_width"] == pytest.approx(np.median([2 / 10, 4 / 20, 10 / 30, 10 / 40]))
