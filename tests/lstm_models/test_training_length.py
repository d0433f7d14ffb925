"""Training length: a time cap stops training after one last validation, with the best weights."""
import torch
from torch.nn import functional as F

from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.training import TrainConfig, fit


def _data(n: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(2, 50, (n, 12), generator=g)
    y = (x[:, 0] < 25).float()  # the first token decides the label: learnable
    return TensorData.from_sequences(x.tolist(), y.numpy())


def test_max_minutes_stops_training_after_a_last_validation():
    train, val = _data(2000, 1), _data(200, 2)
    torch.manual_seed(0)
    model = LSTMClassifier(vocab_size=50, embedding_dim=8, hidden_size=8)
    result = fit(model, train, val, F.binary_cross_entropy_with_logits,
                 TrainConfig(epochs=50, batch_size=16, patience=50, max_minutes=0.02), progress=False)
    assert result.out_of_time and result.stopped_early
    assert result.history and result.history[-1]["val_loss"] is not None  # validated before stopping
    assert result.samples_seen < 50 * len(train)  # far from the 50 passes asked for


def test_without_a_time_cap_training_runs_its_epochs():
    train, val = _data(200, 1), _data(50, 2)
    torch.manual_seed(0)
    model = LSTMClassifier(vocab_size=50, embedding_dim=8, hidden_size=8)
    result = fit(model, train, val, F.binary_cross_entropy_with_logits,
                 TrainConfig(epochs=3, batch_size=50, patience=10), progress=False)
    assert not result.out_of_time and result.samples_seen == 3 * len(train)
