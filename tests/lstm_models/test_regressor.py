"""LSTMRegressor: shapes, argument checks, and a few epochs on real SBUX data that lower the loss."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lstm_models.data import TensorData
from lstm_models.regressor import LSTMRegressor
from lstm_models.scaling import MinMaxScaler, StandardScaler
from lstm_models.training import TrainConfig, fit, predict
from lstm_models.windows import chronological_split, make_windows

SBUX = Path(__file__).resolve().parents[2] / "data" / "SBUX.csv"
FEATURES = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


@pytest.mark.parametrize("num_layers,horizon,dropout", [(1, 1, 0.0), (2, 5, 0.2)])
def test_one_output_per_future_step(num_layers, horizon, dropout):
    model = LSTMRegressor(n_features=6, hidden_size=8, num_layers=num_layers, fc_size=16,
                          horizon=horizon, dropout=dropout)
    assert model(torch.randn(4, 30, 6)).shape == (4, horizon)


def test_article_lstm1_shape_has_the_articles_parameter_count():
    # LSTM1: hidden 2, 1 layer, FC 128, 5 price features, one output
    model = LSTMRegressor(n_features=5, hidden_size=2, fc_size=128)
    lstm = 4 * 2 * (5 + 2) + 2 * 4 * 2  # gates x hidden x (inputs + hidden) + two bias vectors
    assert sum(p.numel() for p in model.parameters()) == lstm + (2 * 128 + 128) + (128 + 1)


@pytest.mark.parametrize("kwargs,message", [
    ({"n_features": 0}, "n_features must be an integer >= 1"),
    ({"n_features": 3, "horizon": 0}, "horizon must be an integer >= 1"),
    ({"n_features": 3, "hidden_size": 2.5}, "hidden_size must be an integer"),
    ({"n_features": 3, "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
])
def test_bad_arguments_are_refused_with_the_parameter_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTMRegressor(**kwargs)


def test_wrong_feature_count_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expected input \[batch, steps, 6\]"):
        LSTMRegressor(n_features=6)(torch.randn(2, 10, 5))


def test_rebuilt_from_hparams_gives_the_same_outputs():
    model = LSTMRegressor(n_features=3, hidden_size=4, horizon=2)
    twin = LSTMRegressor.from_hparams(model.hparams)
    twin.load_state_dict(model.state_dict())
    x = torch.randn(3, 7, 3)
    torch.testing.assert_close(twin(x), model(x))


@pytest.fixture
def one_thread():
    # A model this small runs ~100x slower with 2 OpenMP threads on a busy 2-core machine
    # (the threads spin waiting for each other); one thread is the fast choice here.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_training_lowers_the_validation_loss_on_real_sbux_volume(one_thread):
    """Next-day volume from 10 days of scaled prices and log-volume, split 70/15/15."""
    df = pd.read_csv(SBUX)
    x, volume = df[FEATURES].to_numpy(np.float64), df["Volume"].to_numpy(np.float64)
    split = chronological_split(len(df), val_fraction=0.15, test_fraction=0.15)
    fx = StandardScaler(log1p=[False] * 5 + [True]).fit(x[: split.train_end])
    fy = MinMaxScaler(log1p=True).fit(volume[: split.train_end])
    zx, zy = fx.transform(x).astype(np.float32), fy.transform(volume).astype(np.float32)

    def tensors(part):
        w = make_windows(zx, zy, lookback=10, horizon=1, targets_within=part)
        return TensorData(torch.tensor(w.x), torch.tensor(w.y))  # copies: windows are read-only views

    train, val = tensors(split.train), tensors(split.val)
    torch.manual_seed(0)
    model = LSTMRegressor(n_features=6, hidden_size=16, fc_size=32)
    before = nn.functional.mse_loss(predict(model, val), val.y).item()
    result = fit(model, train, val, nn.functional.mse_loss,
                 TrainConfig(epochs=30, batch_size=32, lr=5e-3, patience=30, device="cpu"), progress=False)
    after = nn.functional.mse_loss(predict(model, val), val.y).item()
    assert result.best_val_loss == pytest.approx(after, rel=1e-5)  # best weights were restored
    assert after < 0.5 * before
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]


def test_quantile_outputs_are_ordered_per_step_and_share_the_skip_path():
    model = LSTMRegressor(n_features=3, hidden_size=4, horizon=2, skip=5, quantiles=[0.1, 0.5, 0.9]).eval()
    out = model(torch.randn(6, 7, 3))
    assert out.shape == (6, 2, 3)
    assert (out[..., :-1] <= out[..., 1:]).all()  # a lower level never above a higher one
    assert model.hparams["quantiles"] == [0.1, 0.5, 0.9]
    assert "quantiles" not in LSTMRegressor(n_features=3).hparams  # point models keep their hparams
    with pytest.raises(ValueError, match="quantiles must be increasing levels"):
        LSTMRegressor(n_features=3, quantiles=[0.9, 0.1])


def test_pinball_loss_is_half_the_absolute_error_at_the_median_and_asymmetric_elsewhere():
    from lstm_models.regressor import pinball_loss

    target = torch.tensor([[1.0, 2.0]])
    out = torch.tensor([[[0.0], [3.0]]])  # under by 1 at step 1, over by 1 at step 2
    assert pinball_loss(out, target, [0.5]).item() == pytest.approx(0.5)
    # q = 0.9: under-forecasting costs 0.9 a unit, over-forecasting 0.1
    assert pinball_loss(out[:, :1], target[:, :1], [0.9]).item() == pytest.approx(0.9)
    assert pinball_loss(out[:, 1:], target[:, 1:], [0.9]).item() == pytest.approx(0.1)


def test_conformal_calibration_moves_the_outer_levels_until_the_interval_holds_its_level():
    from lstm_models.regressor import conformal_shift, widen_interval

    torch.manual_seed(0)
    model = LSTMRegressor(n_features=3, hidden_size=4, horizon=2, quantiles=[0.1, 0.5, 0.9]).eval()
    with torch.no_grad():  # levels apart, as training leaves them
        model.head[-1].bias.copy_(torch.tensor([-0.5, 0.0, 0.5, -0.5, 0.0, 0.5]))
    x, y = torch.randn(400, 7, 3), 2 * torch.randn(400, 2)  # targets wider than the model's spread
    before = model(x)
    shift = conformal_shift(before, y, 0.8)
    widen_interval(model, shift)
    after = model(x)
    torch.testing.assert_close(after[..., 1], before[..., 1])  # the median stays
    torch.testing.assert_close(after[..., 0], before[..., 0] - shift)
    torch.testing.assert_close(after[..., 2], before[..., 2] + shift)
    inside = ((y >= after[..., 0]) & (y <= after[..., 2])).float().mean(0)
    assert ((inside >= 0.8) & (inside <= 0.81)).all()  # each step: the level, and hardly more
