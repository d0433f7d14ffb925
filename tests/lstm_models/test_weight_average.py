"""A moving average of the weights (TrainConfig.ema_decay): what is validated is what is kept,
training itself does not change, and a resumed run carries the average on."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from lstm_models.data import TensorData
from lstm_models.regressor import LSTMRegressor
from lstm_models.training import TrainConfig, fit, predict

SBUX = Path(__file__).resolve().parents[2] / "data" / "SBUX.csv"


def _windows() -> tuple[TensorData, TensorData]:
    """Next-day log volume of SBUX from its last 10 days (standardised): a small real task."""
    v = np.log1p(pd.read_csv(SBUX)["Volume"].to_numpy(np.float64))
    v = (v - v.mean()) / v.std()
    idx = np.arange(10, len(v))
    x = torch.tensor(v[idx[:, None] - np.arange(10, 0, -1)][..., None], dtype=torch.float32)
    y = torch.tensor(v[idx][:, None], dtype=torch.float32)
    cut = int(0.8 * len(idx))
    return TensorData(x[:cut], y[:cut]), TensorData(x[cut:], y[cut:])


def _fit(decay, epochs=3, checkpoint=None):
    train, val = _windows()
    torch.manual_seed(0)
    model = LSTMRegressor(1, hidden_size=8, fc_size=8)
    cfg = TrainConfig(epochs=epochs, batch_size=32, patience=100, seed=3, ema_decay=decay)
    return model, fit(model, train, val, F.l1_loss, cfg, progress=False, checkpoint=checkpoint), val


@pytest.fixture(scope="module")
def plain():
    """The same training without an average."""
    return _fit(None)[1]


def test_an_average_that_forgets_at_once_is_the_trained_weights(plain):
    _, ema, _ = _fit(1e-12)
    for k, v in plain.state_dict.items():
        torch.testing.assert_close(ema.state_dict[k], v)
    assert [h["val_loss"] for h in ema.history] == pytest.approx([h["val_loss"] for h in plain.history])


def test_the_average_is_what_is_validated_and_kept(plain):
    model, ema, val = _fit(0.95)
    assert any(not torch.equal(ema.state_dict[k], v) for k, v in plain.state_dict.items())
    # the returned weights score the best validation loss on record (they are the ones validated)
    assert F.l1_loss(predict(model, val), val.y).item() == pytest.approx(ema.best_val_loss, rel=1e-5)


def test_a_resumed_run_carries_the_average_on(tmp_path):
    ckpt = tmp_path / "train.ckpt"
    _fit(0.95, epochs=2, checkpoint=ckpt)  # stops after two epochs, leaving its checkpoint
    _, resumed, _ = _fit(0.95, epochs=4, checkpoint=ckpt)
    assert resumed.resumed_from_epoch == 2
    _, straight, _ = _fit(0.95, epochs=4)
    for k, v in straight.state_dict.items():
        torch.testing.assert_close(resumed.state_dict[k], v)


def test_decay_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
