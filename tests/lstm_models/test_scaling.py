"""Scalers on real prices and volumes: fit on train only, exact round trips, JSON, per ticker."""
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_models.scaling import (
    ForecastScalers,
    MinMaxScaler,
    StandardScaler,
    make_scaler,
    scaler_from_dict,
)
from lstm_models.windows import make_windows

REPO = Path(__file__).resolve().parents[2]
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"
FEATURES = ["Open", "High", "Low", "Close", "Adj Close"]
TRAIN = 200  # the article's split: first 200 rows train


@pytest.fixture(scope="module")
def sbux():
    return pd.read_csv(SBUX)


def test_standard_scaler_learns_only_from_the_training_rows(sbux):
    x = sbux[FEATURES].to_numpy()
    scaler = StandardScaler().fit(x[:TRAIN])
    np.testing.assert_allclose(scaler.mean_, x[:TRAIN].mean(axis=0))
    assert not np.allclose(scaler.mean_, x.mean(axis=0))  # SBUX fell in 2022: test rows differ
    z = scaler.transform(x)
    np.testing.assert_allclose(z[:TRAIN].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(z[:TRAIN].std(axis=0), 1, atol=1e-9)
    assert (z[TRAIN:].mean(axis=0) < -1).all()  # the later, lower prices sit below the train mean


def test_minmax_scaler_maps_the_training_range_onto_0_1(sbux):
    v = sbux["Volume"].to_numpy(np.float64)
    scaler = MinMaxScaler().fit(v[:TRAIN])
    z = scaler.transform(v)
    assert z[:TRAIN].min() == 0 and z[:TRAIN].max() == pytest.approx(1)
    lo, hi = v[:TRAIN].min(), v[:TRAIN].max()
    np.testing.assert_allclose(z, (v - lo) / (hi - lo))  # test rows use the train range, unclipped


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_inverse_transform_round_trips_rows_windows_and_horizons(sbux, kind):
    x = sbux[FEATURES].to_numpy()
    v = sbux["Volume"].to_numpy(np.float64)
    fx = make_scaler(kind).fit(x[:TRAIN])
    fy = make_scaler(kind, log1p=True).fit(v[:TRAIN])
    np.testing.assert_allclose(fx.inverse_transform(fx.transform(x)), x, rtol=1e-12)
    w = make_windows(x, v, lookback=7, horizon=3)
    zx, zy = fx.transform(w.x), fy.transform(w.y)  # [M, 7, 5] and [M, 3]
    assert zx.shape == w.x.shape and zy.shape == w.y.shape
    np.testing.assert_allclose(zx[:, -1], fx.transform(x[w.anchor]), rtol=1e-12)
    np.testing.assert_allclose(fy.inverse_transform(zy), w.y, rtol=1e-9)


def test_log1p_is_applied_before_scaling_and_undone_after(sbux):
    v = sbux["Volume"].to_numpy(np.float64)
    scaler = StandardScaler(log1p=True).fit(v[:TRAIN])
    logged = np.log1p(v[:TRAIN])
    np.testing.assert_allclose(scaler.transform(v), (np.log1p(v) - logged.mean()) / logged.std())
    both = StandardScaler(log1p=[False, True], columns=["Close", "Volume"]).fit(sbux[["Close", "Volume"]][:TRAIN])
    z = both.transform(sbux[["Close", "Volume"]])
    np.testing.assert_allclose(z[:, 1], scaler.transform(v))
    np.testing.assert_allclose(both.inverse_transform(z), sbux[["Close", "Volume"]].to_numpy(), rtol=1e-9)
    with pytest.raises(ValueError, match=">= 0"):
        scaler.transform(np.array([-5.0]))


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_json_round_trip_gives_the_same_transform(sbux, kind):
    x = sbux[["Close", "Volume"]].to_numpy(np.float64)
    scaler = make_scaler(kind, log1p=[False, True], columns=["Close", "Volume"]).fit(x[:TRAIN])
    text = json.dumps(scaler.to_dict())
    loaded = scaler_from_dict(json.loads(text))
    assert type(loaded) is type(scaler) and loaded.columns == ["Close", "Volume"]
    np.testing.assert_array_equal(loaded.transform(x), scaler.transform(x))
    z = scaler.transform(x[:5])
    np.testing.assert_array_equal(loaded.inverse_transform(z), scaler.inverse_transform(z))


def _history(ticker: str, rows: int) -> pd.DataFrame:
    with gzip.open(HISTORY / f"{ticker}.csv.gz", "rt") as fh:
        return pd.read_csv(fh, nrows=rows).assign(ticker=ticker)


def test_per_ticker_scalers_center_each_ticker_and_survive_json():
    # 1980s AAPL trades at cents, 1960s KO at dollars: one global scaler would squash one of them
    df = pd.concat([_history("AAPL", 150), _history("KO", 150)], ignore_index=True)
    rows = {t: (g[["Close", "Volume"]].to_numpy(np.float64), g["Volume"].to_numpy(np.float64))
            for t, g in df.groupby("ticker")}
    scalers = ForecastScalers.fit(rows, feature_names=["Close", "Volume"], target_name="Volume", log_columns=["Volume"])
    assert scalers.knows("AAPL") and scalers.knows("KO") and not scalers.knows("MSFT")
    loaded = ForecastScalers.from_dict(json.loads(json.dumps(scalers.to_dict())))
    for t, (x, y) in rows.items():
        np.testing.assert_allclose(loaded.transform_features(x, t).mean(axis=0), 0, atol=1e-9)
        np.testing.assert_allclose(loaded.inverse_target(loaded.transform_target(y, t), t), y, rtol=1e-9)
    with pytest.raises(ValueError, match="no scaler for ticker 'MSFT'"):
        loaded.transform_features(rows["KO"][0][:1], "MSFT")


def test_scalers_refuse_what_they_cannot_do_right(sbux):
    with pytest.raises(ValueError, match="not fitted"):
        StandardScaler().transform(np.ones((2, 2)))
    half = StandardScaler()
    with pytest.raises(ValueError, match="missing or infinite"):
        half.fit(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="not fitted"):  # a failed fit does not count as a fit
        half.transform(np.array([1.0]))
    with pytest.raises(ValueError, match="5 columns"):
        StandardScaler().fit(sbux[FEATURES]).transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="unknown scaler kind"):
        scaler_from_dict({"kind": "robust"})
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler(feature_range=(1, 0))
    constant = MinMaxScaler().fit(np.full(10, 7.0))  # a constant column maps to 0, not NaN
    assert constant.transform(np.array([7.0]))[0] == 0
