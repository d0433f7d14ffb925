"""Preparing forecast windows from validated real prices: per-ticker split and scalers fitted
on the training rows only, windows that never look ahead, baselines on the same windows."""
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lstm_models.features import CALENDAR, input_names
from lstm_models.forecaster import future_dates
from lstm_models.scaling import ForecastScalers
from tasks.forecast.baselines import BASELINES, Series, baseline_forecasts, es_level, ridge_inputs
from tasks.forecast.config import ForecastPrepareConfig, ForecastSplitConfig
from tasks.forecast.evaluate import naive_scales
from tasks.forecast.prepare import load_windows, prepare_windows
from tasks.forecast.prices import read_prices
from tasks.shared.errors import DataError

REPO = Path(__file__).resolve().parents[3]
SBUX = REPO / "data" / "SBUX.csv"
# the article's inputs (price columns scaled per ticker), shorter windows
PREPARE = ForecastPrepareConfig(inputs="levels", calendar=False, lookback=10, horizon=3)
RELATIVE = ForecastPrepareConfig(lookback=10, horizon=3)  # the default config's inputs
SPLIT = ForecastSplitConfig()


@pytest.fixture(scope="module")
def two_tickers() -> pd.DataFrame:
    """SBUX and a copy of it ten times larger named BIG (validated rows have a parsed Date)."""
    sbux = read_prices(SBUX).assign(Date=lambda d: pd.to_datetime(d["Date"]))
    big = sbux.assign(ticker="BIG", Volume=sbux["Volume"] * 10)
    return pd.concat([sbux, big], ignore_index=True)


@pytest.fixture(scope="module")
def prepared(two_tickers, tmp_path_factory):
    windows, series, scalers, info = prepare_windows(two_tickers, PREPARE, SPLIT)
    path = tmp_path_factory.mktemp("prep") / "windows.parquet"
    pq.write_table(windows, path)
    return load_windows(path), series, scalers, info


def test_each_part_holds_the_windows_whose_targets_lie_in_it(prepared):
    w, series, _, info = prepared
    # 252 rows: test = last 50, val = 38 before, train = 164 first
    assert info["rows"] == {"train": 2 * 164, "val": 2 * 38, "test": 2 * 50}
    assert info["windows"] == {"train": 2 * (164 - 10 - 3 + 1), "val": 2 * (38 - 3 + 1), "test": 2 * (50 - 3 + 1)}
    sbux = w["ticker"] == "SBUX"
    for part, (lo, hi) in {"train": (0, 164), "val": (164, 202), "test": (202, 252)}.items():
        anchors = w["anchor"][sbux & (w["split"] == part)]
        assert anchors.min() + 1 >= lo and anchors.max() + 3 <= hi  # targets t+1..t+3 inside the part
    assert w["x"].shape[1:] == (10, 6) and w["y"].shape[1:] == (3,)


def test_targets_are_the_next_days_in_original_units_and_inputs_stop_at_the_anchor(prepared):
    w, series, scalers, _ = prepared
    volume = series.loc[series["ticker"] == "SBUX", "value"].to_numpy()
    i = np.flatnonzero((w["ticker"] == "SBUX") & (w["split"] == "test"))[0]
    t = w["anchor"][i]
    np.testing.assert_array_equal(w["actual"][i], volume[t + 1: t + 4])
    # the newest input step is day t itself (its volume, scaled), never a later day
    newest = scalers.features["SBUX"].inverse_transform(w["x"][i][-1].astype(np.float64))
    assert newest[-1] == pytest.approx(volume[t], rel=1e-5)
    np.testing.assert_allclose(scalers.inverse_target(w["y"][i].astype(np.float64), "SBUX"), w["actual"][i], rtol=1e-5)


def test_per_ticker_scalers_put_both_tickers_on_the_same_scale(prepared):
    w, _, scalers, _ = prepared
    big, sbux = w["ticker"] == "BIG", w["ticker"] == "SBUX"
    np.testing.assert_allclose(w["y"][big], w["y"][sbux], atol=1e-5)  # 10x volume, same scaled values
    assert scalers.target["BIG"].mean_[0] == pytest.approx(scalers.target["SBUX"].mean_[0] + np.log(10), abs=1e-3)


def test_scalers_are_fitted_on_the_training_rows_only(two_tickers, prepared):
    _, _, scalers, _ = prepared
    sbux = two_tickers[two_tickers["ticker"] == "SBUX"]
    np.testing.assert_allclose(scalers.features["SBUX"].mean_[0], sbux["Open"].iloc[:164].mean())
    assert not np.isclose(scalers.features["SBUX"].mean_[0], sbux["Open"].mean())


def test_scalers_json_round_trip(prepared):
    _, _, scalers, _ = prepared
    again = ForecastScalers.from_dict(scalers.to_dict())
    y = np.array([[1.0e6, 2.5e6, 7.0e6]])
    np.testing.assert_allclose(again.inverse_target(again.transform_target(y, "SBUX"), "SBUX"), y, rtol=1e-9)


def test_one_shared_scaler_applies_to_any_ticker(two_tickers):
    _, _, scalers, _ = prepare_windows(two_tickers, PREPARE.model_copy(update={"per_ticker_scalers": False}), SPLIT)
    assert scalers.knows("SBUX") and scalers.knows("NEVER-SEEN")


def test_baselines_use_only_values_known_at_the_forecast_time(prepared):
    w, series, _, _ = prepared
    scales = naive_scales(series)
    f, chosen = baseline_forecasts(series, w, horizon=3, offset=1, ma_window=5, scales=scales)
    assert set(f) == set(BASELINES) and chosen["chosen_on"] == "val" and chosen["exp_smoothing_alpha"] > 0
    assert "gbm" in BASELINES and len(chosen["gbm_trees"]) == 3 and min(chosen["gbm_trees"]) >= 1  # early-stopped
    assert np.isfinite(f["gbm"][w["anchor"] >= 0]).all() and (f["gbm"] > 0).all()
    volume = series.loc[series["ticker"] == "SBUX", "value"].to_numpy()
    sel = np.flatnonzero(w["ticker"] == "SBUX")
    i, t = sel[-1], w["anchor"][sel[-1]]
    assert (f["persistence"][i] == volume[t]).all()
    assert f["moving_average"][i][0] == pytest.approx(volume[t - 4: t + 1].mean())
    # smoothing and the ridge's inputs at the anchor do not move when the days after it do
    s = Series(series)
    changed = series.copy()
    changed.loc[(changed["ticker"] == "SBUX") & (changed["row"] > t), "value"] *= 3
    c = Series(changed)
    last = s.last_known(np.array(["SBUX"]), np.array([t]), 1)
    assert es_level(s, 0.3)[last] == pytest.approx(es_level(c, 0.3)[last])
    np.testing.assert_array_equal(ridge_inputs(s, last, 3, 1)[0][2], ridge_inputs(c, last, 3, 1)[0][2])
    # nor do the fitted models' forecasts (ridge and LightGBM learn from training windows only)
    again, _ = baseline_forecasts(changed, w, horizon=3, offset=1, ma_window=5, scales=scales)
    for name in ("ridge", "gbm"):
        np.testing.assert_allclose(again[name][i], f[name][i])


def test_relative_inputs_are_the_same_for_a_ticker_ten_times_larger(two_tickers, tmp_path):
    windows, series, scalers, info = prepare_windows(two_tickers, RELATIVE, SPLIT)
    pq.write_table(windows, tmp_path / "w.parquet")
    w = load_windows(tmp_path / "w.parquet")
    big, sbux = w["ticker"] == "BIG", w["ticker"] == "SBUX"
    np.testing.assert_allclose(w["x"][big], w["x"][sbux], atol=2e-3)  # log1p(10 v) - its level = log1p(v) - its level
    np.testing.assert_allclose(w["y"][big], w["y"][sbux], atol=2e-3)
    assert w["x"].shape[1:] == (10, len(input_names(True))) and w["future"].shape[1:] == (3 * len(CALENDAR),)
    # the targets come back to original units by the median: expm1(level + y)
    np.testing.assert_allclose(np.expm1(w["level"][:, None] + w["y"]), w["actual"], rtol=1e-4)
    # the newest input step is day t: its log volume relative to the level, and no later day
    i = np.flatnonzero(sbux & (w["split"] == "test"))[0]
    t = w["anchor"][i]
    volume = series.loc[series["ticker"] == "SBUX", "value"].to_numpy()
    assert w["x"][i][-1, -1] == pytest.approx(np.log1p(volume[t]) - w["level"][i], abs=1e-5)
    assert w["level"][i] == pytest.approx(np.log1p(volume[t - 19: t + 1]).mean())
    # one standardizer fitted on the training rows serves any ticker, seen or not
    assert scalers.knows("NEVER-SEEN") and info["inputs"] == "relative"
    assert w["anchor"][w["split"] == "train"].min() == 19  # the level needs 20 days


def test_max_rows_per_ticker_keeps_the_newest_rows(two_tickers):
    _, series, _, _ = prepare_windows(two_tickers, PREPARE.model_copy(update={"max_rows_per_ticker": 100}), SPLIT)
    sbux = series[series["ticker"] == "SBUX"]
    assert len(sbux) == 100 and sbux["Date"].max() == pd.Timestamp("2022-08-17")


def test_a_ticker_too_short_for_the_windows_is_left_out_and_none_left_is_an_error(two_tickers):
    short = pd.concat([two_tickers[two_tickers["ticker"] == "SBUX"],
                       two_tickers[two_tickers["ticker"] == "BIG"].head(20)])
    _, _, _, info = prepare_windows(short, PREPARE, SPLIT)
    assert info["tickers"] == ["SBUX"] and "BIG" in info["skipped"]
    with pytest.raises(DataError, match="too few rows"):
        prepare_windows(short[short["ticker"] == "BIG"], PREPARE, SPLIT, source="BIG.csv")


def test_future_dates_skip_weekends_and_same_day_mode_starts_today():
    wed = pd.Timestamp("2022-08-17")
    assert [d.date().isoformat() for d in future_dates(wed, 3, offset=1)] == ["2022-08-18", "2022-08-19", "2022-08-22"]
    assert future_dates(wed, 1, offset=0) == [wed]
