"""Pretraining as a config: train_classifier with pretrain.enabled, on the training split and on
an unlabelled file read with the run's vocabulary; the bundle keeps the classifier's shape."""
import json
import math

import pandas as pd
import pytest

from tasks.sentiment.config import (
    ClassifierConfig,
    PreprocessConfig,
    PretrainSettings,
    SentimentTrainSettings,
    SplitConfig,
)
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.train import load_classifier, train_classifier, unlabelled_texts
from tasks.shared.errors import ConfigError


@pytest.fixture(scope="module")
def tokens(tmp_path_factory, review_lines):
    work = tmp_path_factory.mktemp("pretrain")
    lines = review_lines[:600]
    pd.DataFrame({"row": range(1, len(lines) + 1), "label": [int(l[9] == "2") for l in lines],
                  "text": [l.split(" ", 1)[1] for l in lines]}).to_parquet(work / "valid.parquet")
    stats = tokenize_reviews(work / "valid.parquet", work / "tok", PreprocessConfig(processes=1, seq_len=60), SplitConfig())
    return work / "tok", stats["vocab_size"]


def test_pretraining_on_the_split_and_an_unlabelled_file(tokens, tmp_path, review_lines):
    tok, vocab_size = tokens
    extra = tmp_path / "more.txt"
    extra.write_text("\n".join(review_lines[600:800]) + "\n\n", encoding="utf-8")  # labels ignored, blank skipped
    unlabelled = unlabelled_texts(str(extra), str(tok / "vocab.json"), seq_len=60, tail=20)
    assert len(unlabelled) == 200 and int(unlabelled.lengths.max()) <= 60
    model = ClassifierConfig(embedding_dim=16, hidden_size=16, dropout=0.1)
    out = tmp_path / "out"
    out.mkdir()
    summary = train_classifier(str(tok / "tokens.parquet"), vocab_size, model,
                               SentimentTrainSettings(epochs=3, batch_size=32, lr=5e-3, patience=2), out, progress=False,
                               pretrain=PretrainSettings(enabled=True, epochs=2, targets=500), unlabelled=unlabelled)
    lm = json.loads((out / "training.json").read_text())["pretrain"]
    assert lm["texts"] == summary["train_rows"] + 200
    assert 1 <= lm["epochs"] <= 2  # pretrain.epochs (2), not the classifier's 3: the loop got pretraining's own cap
    assert lm["best_val_loss"] < math.log(lm["targets"])  # below a uniform guess over the targets: it learnt
    load_classifier(out / "model.safetensors", vocab_size, model)  # the classifier's own shape


def test_a_missing_unlabelled_file_is_a_config_error(tokens, tmp_path):
    tok, _ = tokens
    with pytest.raises(ConfigError, match="pretrain.unlabelled: .*nope.txt"):
        unlabelled_texts(str(tmp_path / "nope.txt"), str(tok / "vocab.json"), 60, 0)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ConfigError, match="no text"):
        unlabelled_texts(str(tmp_path / "empty.txt"), str(tok / "vocab.json"), 60, 0)
