"""Training the forecaster: a budget that follows the data, each of the article's variants learns
on real prices, and a run can start from a published model."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from flows.config import ForecastConfig, load_config
from lstm_models.bundle import write_bundle
from tasks.forecast.config import ForecastTrainSettings
from tasks.forecast.prepare import load_windows, prepare_windows
from tasks.forecast.prices import read_prices
from tasks.forecast.train import (
    batch_size_for,
    build_regressor,
    fit_config,
    load_regressor,
    samples_budget,
    tensor_data,
    train_regressor,
    weighted_loss,
)
from tasks.forecast.validate import validate_prices
from tasks.shared.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
KO = REPO.parent / "shared" / "data" / "stocks" / "history" / "KO.csv.gz"


def test_budget_and_batch_size_follow_the_data():
    cfg = ForecastTrainSettings()  # the default config's
    # one short ticker (SBUX: 140 training windows), ten long histories, forty
    assert [batch_size_for(n, cfg) for n in (140, 80_000, 300_000)] == [32, 64, 256]
    assert samples_budget(140, cfg) == 20_000  # at least min_samples: about 140 passes, seconds
    assert samples_budget(20_000, cfg) == 1_000_000  # 50 passes
    assert samples_budget(300_000, cfg) == 1_500_000  # capped: 5 passes
    tc = fit_config(300_000, cfg)
    assert tc.total_steps(300_000) == 1_500_000 // 256 + 1 and tc.eval_every_steps == tc.total_steps(300_000) // 10


@pytest.fixture(scope="module")
def windows(tmp_path_factory) -> Path:
    """Windows of KO's last 1,500 days (real prices), relative inputs of the default config."""
    rows = read_prices(KO)
    valid, _, _ = validate_prices(rows.iloc[len(rows) - 1500:].reset_index(drop=True))
    cfg = ForecastConfig()
    table, _, scalers, _ = prepare_windows(valid, cfg.prepare, cfg.split)
    folder = tmp_path_factory.mktemp("windows")
    pq.write_table(table, folder / "windows.parquet")
    (folder / "scalers.json").write_text(json.dumps(scalers.to_dict()))
    return folder / "windows.parquet"


def val_loss(model, windows: Path) -> float:
    data = tensor_data(load_windows(windows, "val"))
    with torch.no_grad():
        return float(weighted_loss("l1", model.hparams.get("quantiles"))(model((data.x, data.future)), data.y))


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["default", "gru", "stacked", "cnn-lstm"])
def test_each_variant_learns_on_real_prices(windows, tmp_path, variant):
    cfg = load_config(ForecastConfig, variant, "forecast")
    train = cfg.train.model_copy(update={"max_samples": 30_000})
    summary = train_regressor(str(windows), cfg.model, train, tmp_path, progress=False)
    trained = load_regressor(tmp_path / "model.safetensors", summary["hparams"])
    torch.manual_seed(train.seed)
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    untrained = build_regressor(meta, cfg.model).eval()
    # the budget is each member's (two members by default); samples_seen is their sum
    members = summary["members"] or [summary]
    assert len(members) == cfg.model.members
    assert all(m["samples_seen"] <= 30_000 + summary["batch_size"] for m in members)
    assert summary["samples_seen"] == sum(m["samples_seen"] for m in members)
    assert val_loss(trained, windows) < 0.9 * val_loss(untrained, windows)
    assert summary["hparams"]["cell"] == cfg.model.cell and summary["hparams"]["num_layers"] == cfg.model.num_layers


@pytest.mark.slow
def test_two_training_processes_reach_the_validation_loss_of_one(windows, tmp_path):
    """DistributedDataParallel on two CPU processes: the same updates as one process (each rank half
    of every batch), other dropout draws and float sums: validation loss within 10 %."""
    cfg = ForecastConfig()
    losses = {}
    for processes in (1, 2):
        out = tmp_path / f"p{processes}"
        out.mkdir()
        train = cfg.train.model_copy(update={"max_samples": 30_000, "processes": processes})
        summary = train_regressor(str(windows), cfg.model, train, out, progress=False)
        assert summary["processes"] == processes
        losses[processes] = val_loss(load_regressor(out / "model.safetensors", summary["hparams"]), windows)
    assert abs(losses[2] - losses[1]) <= 0.1 * losses[1], losses


@pytest.mark.slow
def test_a_run_can_start_from_a_published_model(windows, tmp_path):
    cfg = ForecastConfig()
    train = cfg.train.model_copy(update={"max_samples": 10_000})
    first = train_regressor(str(windows), cfg.model, train, tmp_path, progress=False)
    model = load_regressor(tmp_path / "model.safetensors", first["hparams"])
    bundle = write_bundle(tmp_path / "bundle", model.state_dict(), {
        "config.json": {"kind": "forecast", "format": 1, "model": first["hparams"], "features": [], "target": "Volume",
                        "lookback": 20, "horizon": 5, "offset": 1, "inputs": "relative"},
        "scalers.json": json.loads((windows.parent / "scalers.json").read_text())})
    # used as it is: the same weights, no training
    (tmp_path / "as-is").mkdir()
    as_is = train_regressor(str(windows), cfg.model, train.model_copy(update={"fine_tune": False}), tmp_path / "as-is",
                            progress=False, start_bundle=str(bundle))
    again = load_regressor(tmp_path / "as-is" / "model.safetensors", as_is["hparams"])
    assert as_is["samples_seen"] == 0 and as_is["init_from"] == str(bundle) and not as_is["fine_tuned"]
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    # fine-tuned: starts there and moves on
    (tmp_path / "tuned").mkdir()
    tuned = train_regressor(str(windows), cfg.model, train, tmp_path / "tuned", progress=False, start_bundle=str(bundle))
    assert tuned["fine_tuned"] and tuned["samples_seen"] > 0
    # a model for other windows is refused with the reason
    with pytest.raises(ConfigError, match="lookback"):
        prepare_windows(read_prices(REPO / "data" / "SBUX.csv").assign(Date=lambda d: pd.to_datetime(d["Date"])),
                        cfg.prepare.model_copy(update={"lookback": 10}), cfg.split, start_bundle=str(bundle))
    assert np.isfinite(tuned["best_val_loss"])


@pytest.mark.slow
def test_seed_averaging_publishes_one_model_of_its_members(windows, tmp_path):
    """model.members 2: two regressors from seeds 13 and 14, saved as one model whose outputs are
    their mean, loaded back from the hparams alone; its validation loss is about what the summary
    says."""
    cfg = ForecastConfig()
    train = cfg.train.model_copy(update={"max_samples": 10_000})
    summary = train_regressor(str(windows), cfg.model.model_copy(update={"members": 2}), train, tmp_path,
                              progress=False)
    model = load_regressor(tmp_path / "model.safetensors", summary["hparams"])
    assert summary["hparams"]["members"] == 2 and len(summary["members"]) == 2
    data = tensor_data(load_windows(windows, "val"))
    with torch.no_grad():
        each = [m((data.x, data.future)) for m in model.members]
        torch.testing.assert_close(model((data.x, data.future)), (each[0] + each[1]) / 2)
    assert not torch.equal(each[0], each[1])  # other seeds, other models
    # best_val_loss is the members' mean before the interval's calibration, which moves the outer levels only
    assert val_loss(model, windows) == pytest.approx(summary["best_val_loss"], rel=0.02)
    assert summary["samples_seen"] == sum(m["samples_seen"] for m in summary["members"])
    # the 80 % interval was calibrated on the validation windows, in the weights
    cal = summary["interval_calibration"]
    out = model((data.x, data.future))
    inside = ((data.y[:, :-1] >= out[..., 0]) & (data.y[:, :-1] <= out[..., -1])).float().mean().item()
    assert cal["level"] == 0.8 and inside == pytest.approx(cal["val_coverage"], abs=1e-6)
    assert 0.8 <= cal["val_coverage"] <= 0.83 and len(cal["shift"]) == 5
