"""The forecast flow end to end on real prices (SBUX.csv plus the head of one real history),
against a real Prefect API: metrics next to baselines, cache hits, bundle round trip."""
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.config import ForecastConfig
from flows.forecast import forecast_training
from lstm_models.features import input_names, relative_rows
from lstm_models.forecaster import ForecastPredictor
from tasks.forecast.baselines import LABELS
from tasks.forecast.predict import history_for_forecast
from tasks.forecast.prices import read_prices
from tasks.shared.errors import DataError
from tasks.shared.registry import Registry

pytestmark = pytest.mark.slow  # every test here trains a model (or runs a flow that does)

REPO = Path(__file__).resolve().parents[2]
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"

SMALL = {
    "prepare": {"lookback": 10, "horizon": 3},
    "split": {"val_fraction": 0.15, "test_fraction": 0.2},
    "model": {"hidden_size": 8, "fc_size": 16},
    "train": {"epochs": 3, "batch_size": 64, "patience": 2, "min_samples": 1},
    "evaluate": {"max_plots": 5},
}
EXPENSIVE = ["ingest", "validate", "profile", "prepare", "train", "evaluate"]


def small_config(**changes) -> ForecastConfig:
    data = json.loads(json.dumps(SMALL))
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    return ForecastConfig.model_validate(data)


@pytest.fixture(scope="module")
def prices(tmp_path_factory) -> Path:
    """A folder of two tickers: SBUX.csv (plain) and the first 300 rows of AAPL (gzip), which
    hold AAPL's all-null row of 1981-08-10."""
    folder = tmp_path_factory.mktemp("prices")
    shutil.copyfile(SBUX, folder / "SBUX.csv")
    with gzip.open(HISTORY / "AAPL.csv.gz", "rt") as fh:
        head = "".join(line for _, line in zip(range(301), fh))
    with gzip.open(folder / "AAPL.csv.gz", "wt") as out:
        out.write(head)
    return folder


@pytest.fixture(scope="module")
def first_run(prefect_api, prices, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return out, forecast_training(data=str(prices), config=small_config(), output=str(out))


def test_cold_run_publishes_a_bundle_with_lstm_and_baseline_errors(first_run):
    _, summary = first_run
    assert summary["cached"] == []
    assert summary["rows"] == {"read": 552, "accepted": 551, "quarantined": 1}
    assert summary["tickers"] == 2
    for block in (summary["metrics"], *summary["baselines"].values()):
        assert set(block) == {"mase", "smape", "rmse", "mae"}
        assert all(np.isfinite(v) and v >= 0 for v in block.values())
    assert set(summary["baselines"]) == {"persistence", "moving_average", "exp_smoothing", "ridge", "gbm"}
    assert summary["best_baseline"] == min(summary["baselines"], key=lambda b: summary["baselines"][b]["mase"])
    assert set(summary["by_step"]) == {"1", "2", "3"}
    names = {p.name for p in Path(summary["bundle"]).iterdir()}
    assert {"weights.safetensors", "config.json", "scalers.json", "metrics.json", "model_card.md",
            "loss_curves.png", "forecast_SBUX.png", "forecast_AAPL.png"} <= names
    card = (Path(summary["bundle"]) / "model_card.md").read_text()
    assert "quarantined 1" in card and "persistence" in card and "LightGBM on lags" in card
    assert "80% prediction interval" in card and "3 quantiles (10%, 50%, 90%)" in card
    # the 80 % interval of the quantile outputs, scored on the test part
    i = summary["intervals"]
    assert i["level"] == 0.8 and 0 < i["coverage"] < 1 and i["scaled_width"] > 0 and len(i["coverage_by_step"]) == 3


def test_metrics_json_has_pooled_and_per_ticker_scores(first_run):
    _, summary = first_run
    metrics = json.loads((Path(summary["bundle"]) / "metrics.json").read_text())
    for method in ("lstm", "persistence", "moving_average", "exp_smoothing", "ridge", "gbm"):
        assert set(metrics[method]["per_ticker"]) == {"AAPL", "SBUX"}
    assert set(metrics["baseline_settings"]) == {"exp_smoothing_alpha", "ridge_alpha", "gbm_trees", "chosen_on"}
    assert metrics["intervals"]["coverage"] == pytest.approx(summary["intervals"]["coverage"])
    assert metrics["lstm"]["overall"]["mase"] == pytest.approx(summary["metrics"]["mase"])


def test_the_all_null_row_is_quarantined_with_its_reason(first_run):
    _, summary = first_run
    q = pd.read_parquet(summary["quarantine"])
    assert q["ticker"].tolist() == ["AAPL"] and q["date_text"].tolist() == ["1981-08-10"]
    assert "missing" in q["reason"].iloc[0]


def test_scalers_are_fitted_on_the_training_rows_only(first_run):
    out, summary = first_run
    scalers = json.loads((Path(summary["bundle"]) / "scalers.json").read_text())
    prepared = next((out / "work" / "prepare").iterdir())
    series = pd.read_parquet(prepared / "series.parquet")
    valid = pd.read_parquet(Path(summary["quarantine"]).with_name("valid.parquet"))
    train, every = [], []
    for ticker, rows in valid.sort_values(["ticker", "Date"]).groupby("ticker"):
        inputs = relative_rows(rows.reset_index(drop=True))["inputs"]
        n_train = int(((series["ticker"] == ticker) & (series["split"] == "train")).sum())
        train.append(inputs[:n_train])
        every.append(inputs)
    assert scalers["kind"] == "relative" and scalers["names"] == input_names()[:-1]
    np.testing.assert_allclose(scalers["mean"], np.concatenate(train).mean(0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(scalers["mean"], np.concatenate(every).mean(0), rtol=1e-5, atol=1e-7)


def test_bundle_round_trip_forecasts_the_last_evaluated_window(first_run, prices, tmp_path):
    """The predictor, from the bundle alone and the raw CSV cut at the last test window's anchor,
    gives the flow's own predictions for that window, on the business days that follow."""
    out, summary = first_run
    predictions = pd.read_parquet(next((out / "work" / "evaluate").iterdir()) / "predictions.parquet")
    last = predictions[(predictions["ticker"] == "SBUX") & (predictions["split"] == "test")].iloc[-1]
    cut = tmp_path / "SBUX.csv"
    lines = SBUX.read_text().splitlines()
    cut.write_text("\n".join(lines[: int(last["anchor"]) + 2]) + "\n")  # header + rows 0..anchor

    predictor = ForecastPredictor.load(summary["bundle"])
    histories = history_for_forecast(read_prices(cut), predictor.columns, predictor.history_needed, predictor.open_fill)
    forecast = predictor.forecast(histories["SBUX"], "SBUX")
    assert [r["step"] for r in forecast] == [1, 2, 3]
    np.testing.assert_allclose([r["volume"] for r in forecast], last["predicted"], rtol=1e-5)
    # the interval's ends beside the median, the same as the flow's
    np.testing.assert_allclose([r["p10"] for r in forecast], last["p10"], rtol=1e-5)
    np.testing.assert_allclose([r["p90"] for r in forecast], last["p90"], rtol=1e-5)
    assert all(r["p10"] <= r["volume"] <= r["p90"] for r in forecast)
    assert forecast[0]["date"] > pd.Timestamp(last["date"]).date().isoformat()


def test_batch_prediction_streams_ticker_by_ticker_and_a_bad_file_gets_its_error_row(first_run, prices, tmp_path):
    from flows.predict import batch_prediction

    out, summary = first_run
    folder = tmp_path / "new"
    folder.mkdir()
    shutil.copyfile(SBUX, folder / "SBUX.csv")
    (folder / "AAPL.csv.gz").write_bytes((prices / "AAPL.csv.gz").read_bytes())  # its all-null row, far back,
    # is left out as training leaves it out (it used to make AAPL's forecast NaN)
    (folder / "BAD.csv").write_text("\n".join(SBUX.read_text().splitlines()[:4]) + "\n")  # three rows: too few
    result = batch_prediction(kind="forecast", data=str(folder), registry=str(out / "registry"),
                              version=summary["version"], output=str(tmp_path / "pred"))
    frame = pd.read_parquet(result["predictions"])
    assert result["tickers"] == 2 and result["unforecast"] == 1 and result["rows"] == len(frame) == 2 * 3 + 1
    bad = frame[frame["ticker"] == "BAD"]
    assert len(bad) == 1 and "BAD.csv: too few rows" in bad["error"].iloc[0] and bad["volume"].isna().all()
    good = frame[frame["ticker"] != "BAD"]
    assert good["error"].isna().all() and sorted(good["ticker"].unique()) == ["AAPL", "SBUX"]
    assert (good["volume"] > 0).all() and set(frame["model_version"]) == {summary["version"]}


def test_unchanged_rerun_is_all_cache_hits_even_from_another_folder(first_run, prices, tmp_path):
    out, summary = first_run
    moved = tmp_path / "moved"
    shutil.copytree(prices, moved)
    again = forecast_training(data=str(moved), config=small_config(), output=str(out))
    assert again["cached"] == EXPENSIVE
    assert again["metrics"] == summary["metrics"]
    assert again["version"] == summary["version"]  # same data, config and code: no new registry version


def test_a_model_change_reruns_only_training_and_evaluation(first_run, prices):
    out, _ = first_run
    summary = forecast_training(data=str(prices), config=small_config(model={"hidden_size": 4}), output=str(out))
    assert summary["cached"] == ["ingest", "validate", "profile", "prepare"]


def test_a_glob_selecting_one_file_reuses_its_validation_and_trains_on_it(first_run, prices, tmp_path):
    out, _ = first_run
    summary = forecast_training(data=str(prices / "SBUX.*"), config=small_config(), output=str(out))
    # files are ingested and validated one by one (cached per file): only what depends on the
    # whole selection runs again
    assert summary["cached"] == ["ingest", "validate"] and summary["tickers"] == 1 and summary["rows"]["read"] == 252


def test_too_few_rows_for_the_windows_is_a_data_error(prefect_api, tmp_path):
    short = tmp_path / "SBUX.csv"
    short.write_text("\n".join(SBUX.read_text().splitlines()[:16]) + "\n")  # 15 rows: train part 10 < 10 + 1 + 3
    # stopped at validation (fewer accepted rows than validation.min_rows_per_ticker) or, with a
    # lower minimum, when the windows are built: either way before training
    with pytest.raises(DataError, match="too few rows|fewer than the minimum"):
        forecast_training(data=str(short), config=small_config(), output=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "work" / "train").exists()


def test_article_mode_trains_without_a_validation_set(prefect_api, tmp_path):
    """Same-day mode, first 200 rows train, no validation: the last weights are kept."""
    cfg = ForecastConfig.model_validate({
        "prepare": {"inputs": "levels", "calendar": False, "features": ["Open", "High", "Low", "Close", "Adj Close"],
                    "lookback": 1, "horizon": 1, "offset": 0, "log_volume": False, "target_scaler": "minmax"},
        "split": {"train_rows": 200, "val_rows": 0},
        "model": {"hidden_size": 2, "fc_size": 128},
        "train": {"epochs": 20, "batch_size": 200, "clip": 0, "patience": 1000, "max_samples": None, "min_samples": 1, "loss": "mse",
                  "lr_schedule": "constant"},
        "evaluate": {"max_plots": 1},
    })
    summary = forecast_training(data=str(SBUX), config=cfg, output=str(tmp_path))
    assert summary["windows"] == {"train": 200, "val": 0, "test": 52}
    training = json.loads(next((tmp_path / "work" / "train").iterdir()).joinpath("training.json").read_text())
    assert training["best_val_loss"] is None and training["best_epoch"] == 20


def test_a_model_on_relative_inputs_forecasts_a_ticker_it_never_saw(first_run, tmp_path):
    _, summary = first_run
    unseen = tmp_path / "NEWCO.csv"
    unseen.write_text(SBUX.read_text())
    predictor = ForecastPredictor.load(summary["bundle"])
    histories = history_for_forecast(read_prices(unseen), predictor.columns, predictor.history_needed,
                                     predictor.open_fill)
    forecast = predictor.forecast(histories["NEWCO"], "NEWCO")
    assert [r["ticker"] for r in forecast] == ["NEWCO"] * 3 and all(r["volume"] > 0 for r in forecast)


def test_a_short_ticker_can_start_from_the_many_ticker_model(first_run, tmp_path):
    """--init-from a registry version, used as it is: the model of the first run (SBUX and AAPL)
    forecasts SBUX alone; the model card says where it started. Last in this module: it
    publishes into the first run's registry."""
    _, first = first_run
    cfg = small_config(train={"fine_tune": False})
    summary = forecast_training(data=str(SBUX), config=cfg, output=str(tmp_path), registry=first["registry"],
                                init_from=first["version"])
    training = json.loads(next((tmp_path / "work" / "train").iterdir()).joinpath("training.json").read_text())
    assert training["init_from"] == first["bundle"] and training["fine_tuned"] is False
    assert training["samples_seen"] == 0
    assert "Started from" in (Path(summary["bundle"]) / "model_card.md").read_text()
    # the gate names the run's best baseline, with its figures
    assert summary["gate"][0].split(" baseline")[0].endswith(LABELS[summary["best_baseline"]])


def test_retention_after_a_run_keeps_its_own_version_and_what_it_used(first_run, prices, tmp_path):
    """The config's retention section, applied once the run has published: older versions and
    the stage folders earlier runs used go; this run's version and folders stay, so the same
    run again is still all cache hits."""
    out, summary = first_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    cfg = small_config(retention={"keep_versions": 1, "keep_runs": 1})
    before = {p.relative_to(copy / "work").as_posix() for p in (copy / "work").glob("*/*")}
    pruned = forecast_training(data=str(prices), config=cfg, output=str(copy))
    assert pruned["version"] == summary["version"] and pruned["cached"] == EXPENSIVE
    reg = Registry(pruned["registry"])
    versions, pointer = reg.versions("forecast"), reg.champion("forecast")
    protected = {summary["version"]} | ({pointer["version"], *pointer["previous"]} if pointer else set())
    assert summary["version"] in versions and set(versions) <= protected | set(versions[-1:])
    assert set(pruned["retention"]["versions_removed"]).isdisjoint(versions)
    after = {p.relative_to(copy / "work").as_posix() for p in (copy / "work").glob("*/*")}
    assert after < before and pruned["retention"]["work_removed"] == len(before - after)  # others' folders went
    again = forecast_training(data=str(prices), config=cfg, output=str(copy))
    assert again["cached"] == EXPENSIVE and again["version"] == summary["version"]

