"""Pretrained word vectors from a local text file: both formats, case folding, the OOV rate, clear
errors, and an embedding that starts from them (frozen or fine-tuned) and learns."""
from collections import Counter

import pytest
import torch
from torch.nn import functional as F

from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.text import build_vocab, encode, token_index, tokenize
from lstm_models.training import TrainConfig, fit, predict
from lstm_models.vectors import VectorFileError, load_vectors, vector_dim

ITOS = ["_PAD", "_UNK", "good", "Bad", "movie", "zzyzx"]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_glove_and_word2vec_text_formats_give_the_same_matrix(tmp_path):
    rows = ["good 1 0 0", "bad 0 1 0", "movie 0 0 1", "other 1 1 1"]
    glove = write(tmp_path / "glove.txt", rows)
    w2v = write(tmp_path / "w2v.txt", ["4 3"] + rows)
    assert vector_dim(glove) == vector_dim(w2v) == 3
    a, cov = load_vectors(glove, ITOS)
    b, _ = load_vectors(w2v, ITOS)
    torch.testing.assert_close(a, b)
    assert a[2].tolist() == [1, 0, 0] and a[4].tolist() == [0, 0, 1]
    assert a[3].tolist() == [0, 1, 0]  # "Bad" found lower-cased
    assert a[0].abs().sum() == 0  # _PAD stays zero
    assert a[5].abs().sum() > 0  # a word without a vector gets a small random one
    assert (cov.words, cov.found, cov.dim) == (4, 3, 3) and cov.oov_rate == pytest.approx(0.25)


def test_an_exact_match_wins_over_a_lower_cased_one(tmp_path):
    path = write(tmp_path / "v.txt", ["bad 1 1", "Bad 2 2"])
    weights, _ = load_vectors(path, ITOS)
    assert weights[3].tolist() == [2, 2]


@pytest.mark.parametrize("lines,message", [
    (["good 1 0 0", "bad 1 0"], "line 2: 2 numbers for 'bad', expected 3"),
    (["good 1 0 x"], "line 1: a value of 'good' is not a number"),
])
def test_a_bad_line_is_named(tmp_path, lines, message):
    path = write(tmp_path / "v.txt", lines)
    with pytest.raises(VectorFileError, match=message):
        load_vectors(path, ITOS)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(VectorFileError, match="not found"):
        vector_dim(tmp_path / "nope.txt")


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [True, False])
def test_a_classifier_starting_from_vectors_learns_and_freezing_keeps_them(review_lines, tmp_path, freeze):
    """Vectors that carry a sentiment direction (a handful of opinion words), frozen or fine-tuned."""
    lines = review_lines[:300]
    tokens = [tokenize(line.split(" ", 1)[1]) for line in lines]
    itos = build_vocab(Counter(t for toks in tokens for t in toks), min_count=2)
    opinion = {"great": 1, "love": 1, "excellent": 1, "best": 1, "bad": -1, "waste": -1, "poor": -1, "boring": -1}
    rows = [f"{w} {s} " + " ".join(["0.1"] * 7) for w, s in opinion.items()] + ["the 0 " + " ".join(["0.1"] * 7)]
    weights, cov = load_vectors(write(tmp_path / "v.txt", rows), itos)
    assert cov.found >= 5
    index = token_index(itos)
    data = TensorData.from_sequences([encode(t, index, 100) for t in tokens],
                                     [1.0 if line.startswith("__label__2") else 0.0 for line in lines])
    torch.manual_seed(0)
    model = LSTMClassifier(len(itos), 8, 16, dropout=0.0)
    with torch.no_grad():
        model.embedding.weight.copy_(weights)
    model.embedding.weight.requires_grad_(not freeze)
    before = F.binary_cross_entropy_with_logits(predict(model, data), data.y).item()
    fit(model, data, data, F.binary_cross_entropy_with_logits, TrainConfig(epochs=8, batch_size=32, lr=1e-2, patience=8),
        progress=False)
    after = F.binary_cross_entropy_with_logits(predict(model, data), data.y).item()
    assert after < before - 0.05
    assert torch.equal(model.embedding.weight, weights) == freeze


def test_named_source_rows_come_from_the_installed_glove_matrix():
    import numpy as np
    import pyarrow.parquet as pq

    from lstm_models.vectors import NAMED_SOURCES, _named_files, load_named_vectors, named_vector_dim

    assert "glove-6b-50d" in NAMED_SOURCES and named_vector_dim("glove-6b-50d") == 50
    matrix_path, words_path = _named_files("glove-6b-50d")
    words = pq.read_table(words_path).column("index").to_pylist()
    matrix = np.load(matrix_path, mmap_mode="r")
    itos = ["_PAD", "_UNK", "good", "Great", "zzqxnotaword"]
    weights, coverage = load_named_vectors("glove-6b-50d", itos, seed=1)
    assert coverage.found == 2 and coverage.words == 3  # "Great" matched lower-cased, the made-up word not
    assert torch.equal(weights[2], torch.from_numpy(np.array(matrix[words.index("good")])))
    assert torch.equal(weights[3], torch.from_numpy(np.array(matrix[words.index("great")])))
    assert weights[0].abs().sum() == 0 and weights[4].abs().sum() > 0  # _PAD zero, the OOV word a random vector


def test_unknown_named_source_is_a_clear_error():
    from lstm_models.vectors import load_named_vectors

    with pytest.raises(VectorFileError, match="unknown vector source 'glove-nope'"):
        load_named_vectors("glove-nope", ["_PAD", "_UNK", "a"])
