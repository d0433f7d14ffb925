from collections import Counter

import pytest
import torch
from torch.nn import functional as F

from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData, batch_indices
from lstm_models.text import build_vocab, encode, token_index, tokenize
from lstm_models.training import TrainConfig, fit, predict


def _real_data(review_lines, n=400):
    texts = [l.split(" ", 1)[1] for l in review_lines[:n]]
    labels = [1.0 if l.startswith("__label__2") else 0.0 for l in review_lines[:n]]
    tokens = [tokenize(t) for t in texts]
    itos = build_vocab(Counter(t for toks in tokens for t in toks), min_count=2)
    index = token_index(itos)
    return TensorData.from_sequences([encode(t, index, 100) for t in tokens], labels), len(itos)


def test_output_shape_for_each_pooling():
    ids = torch.tensor([[2, 3, 4], [5, 0, 0]])
    lengths = torch.tensor([3, 1])
    for pooling in ("last", "max", "mean"):
        model = LSTMClassifier(10, 8, 6, num_layers=2, bidirectional=True, pooling=pooling)
        assert model(ids, lengths).shape == (2,)


def test_padding_has_no_effect_on_logits(review_lines):
    """A bucketed, padded batch gives the same logits as each example alone."""
    data, vocab = _real_data(review_lines, 40)
    for pooling in ("last", "max", "mean"):
        torch.manual_seed(0)
        model = LSTMClassifier(vocab, 16, 12, bidirectional=True, pooling=pooling).eval()
        batched = predict(model, data, batch_size=16)
        alone = torch.stack([model(data.x[i:i + 1, : data.lengths[i]], data.lengths[i:i + 1])[0] for i in range(len(data))])
        torch.testing.assert_close(batched, alone.detach(), rtol=1e-4, atol=1e-5)


def test_bag_part_ignores_padding_and_learns_a_word_pair(review_lines):
    """The bag of words and pairs gives the same logits padded or alone, and (the LSTM frozen) it
    alone fits a label that only a word pair decides."""
    data, vocab = _real_data(review_lines, 40)
    torch.manual_seed(0)
    model = LSTMClassifier(vocab, 16, 12, bag_buckets=512).eval()
    torch.nn.init.normal_(model.bag.weight)
    batched = predict(model, data, batch_size=16)
    alone = torch.stack([model(data.x[i:i + 1, : data.lengths[i]], data.lengths[i:i + 1])[0] for i in range(len(data))])
    torch.testing.assert_close(batched, alone.detach(), rtol=1e-4, atol=1e-5)

    # label 1 iff the pair (3, 4) occurs; words 3 and 4 occur in every text, so words alone cannot tell
    g = torch.Generator().manual_seed(0)
    seqs, labels = [], []
    for i in range(200):
        body = torch.randint(5, 20, (8,), generator=g).tolist()
        seqs.append(([3, 4] if i % 2 else [4, 3]) + body)
        labels.append(float(i % 2))
    pairs = TensorData.from_sequences(seqs, labels)
    model = LSTMClassifier(20, 4, 4, dropout=0.0, bag_buckets=64)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("bag"))
    fit(model, pairs, pairs, F.binary_cross_entropy_with_logits,
        TrainConfig(epochs=20, batch_size=20, lr=1e-2, patience=20), progress=False)
    accuracy = ((predict(model, pairs) > 0).float() == pairs.y).float().mean().item()
    assert accuracy == 1.0


def test_bucketing_groups_similar_lengths_and_covers_every_row(review_lines):
    data, _ = _real_data(review_lines, 400)
    batches = list(batch_indices(data, 32, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert sorted(torch.cat(batches).tolist()) == list(range(len(data)))
    padded = sum(len(b) * int(data.lengths[b].max()) for b in batches)
    fixed = len(data) * int(data.lengths.max())
    assert padded < 0.8 * fixed


@pytest.mark.slow
@pytest.mark.parametrize("family", [
    {},  # the default: one bidirectional LSTM layer, max pooling
    {"cell": "gru"},
    {"bidirectional": False, "pooling": "last"},
    {"num_layers": 2},
    {"pooling": "mean"},
])
def test_a_few_steps_lower_the_loss_on_real_reviews(review_lines, family):
    data, vocab = _real_data(review_lines, 300)
    model = LSTMClassifier(vocab, 16, 16, dropout=0.0, **family)
    before = F.binary_cross_entropy_with_logits(predict(model, data), data.y).item()
    fit(model, data, data, F.binary_cross_entropy_with_logits,
        TrainConfig(epochs=3, batch_size=32, lr=1e-2, patience=5), progress=False)
    after = F.binary_cross_entropy_with_logits(predict(model, data), data.y).item()
    assert after < before - 0.05


def test_constructor_rejects_bad_arguments():
    import pytest

    with pytest.raises(ValueError, match="pooling"):
        LSTMClassifier(10, pooling="attention")
    with pytest.raises(ValueError, match="dropout"):
        LSTMClassifier(10, dropout=1.5)
    with pytest.raises(ValueError, match="bag_buckets"):
        LSTMClassifier(10, bag_buckets=-1)
    with pytest.raises(ValueError, match="cell"):
        LSTMClassifier(10, cell="rnn")


def test_word_dropout_drops_whole_tokens_in_training_only():
    torch.manual_seed(0)
    plain = LSTMClassifier(30, 8, 6, dropout=0.0)
    dropped = LSTMClassifier(30, 8, 6, dropout=0.0, word_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    ids, lengths = torch.randint(2, 30, (4, 12)), torch.full((4,), 12)
    plain.eval(), dropped.eval()
    assert torch.equal(plain(ids, lengths), dropped(ids, lengths))  # prediction reads every token
    dropped.train()
    assert not torch.allclose(plain(ids, lengths), dropped(ids, lengths))
    with pytest.raises(ValueError, match="word_dropout"):
        LSTMClassifier(30, word_dropout=1.0)
