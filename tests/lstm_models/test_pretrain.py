"""Language-model pretraining (lstm_models/pretrain.py) on real reviews."""
from collections import Counter

import pytest
import torch

from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.pretrain import pretrain_lm
from lstm_models.text import build_vocab, encode, token_index, tokenize
from lstm_models.training import TrainConfig


def _texts(review_lines, n=300):
    tokens = [tokenize(line.split(" ", 1)[1]) for line in review_lines[:n]]
    itos = build_vocab(Counter(t for toks in tokens for t in toks), min_count=2)
    index = token_index(itos)
    ids = [encode(t, index, 80) for t in tokens]
    return TensorData.from_sequences(ids, [0.0] * len(ids)), len(itos)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_pretraining_lowers_the_language_model_loss_and_leaves_the_head(review_lines, bidirectional):
    data, vocab = _texts(review_lines)
    train, val = TensorData(data.x[:250], data.y[:250], data.lengths[:250]), TensorData(data.x[250:], data.y[250:],
                                                                                          data.lengths[250:])
    torch.manual_seed(0)
    model = LSTMClassifier(vocab, 16, 16, bidirectional=bidirectional, dropout=0.0)
    head = model.head.weight.detach().clone()
    embedding = model.embedding.weight.detach().clone()
    summary = pretrain_lm(model, train, val, TrainConfig(epochs=3, batch_size=32, lr=5e-3, patience=3),
                          targets=300)
    history = summary["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert summary["best_val_loss"] == min(h["val_loss"] for h in history)
    assert torch.equal(model.head.weight, head)  # the classifier's head is fine-tuning's
    assert not torch.equal(model.embedding.weight, embedding)
    assert set(model.state_dict()) == set(LSTMClassifier(vocab, 16, 16, bidirectional=bidirectional).state_dict())
