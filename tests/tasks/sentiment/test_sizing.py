"""Settings that follow the data: the rules on the shapes they were chosen on, and a config
value always winning over a rule."""
import pytest

from tasks.sentiment.config import ClassifierConfig, SentimentConfig, SentimentTrainSettings
from tasks.sentiment.sizing import DataShape, resolve


@pytest.mark.parametrize("shape,expected", [
    # the bundled sample's training split: long reviews, a mid-sized set -> 64 units, dropout 0.5; validation
    # once an epoch ends training (30 passes at most)
    (DataShape(5173, 81, 13537), {"embedding_dim": 128, "hidden_size": 64, "dropout": 0.5, "lr": 5e-3,
                                  "batch_size": 64, "epochs": 30, "patience": 4, "eval_every_steps": None}),
    # 1,600 long reviews: batches of 32 (small sets stopped improving at epoch 5 with 64)
    (DataShape(1611, 80, 6276), {"hidden_size": 32, "dropout": 0.1, "batch_size": 32, "epochs": 30, "patience": 4}),
    # 5,000 titles: short texts, a small set -> the small model
    (DataShape(5187, 4, 1861), {"embedding_dim": 64, "hidden_size": 64, "dropout": 0.3, "lr": 2e-3, "batch_size": 64}),
    # tens of thousands of one-line sentences: a large set earns the capacity; 938 updates an epoch, so
    # validation four times an epoch and patience two epochs: no update budget ends it early
    (DataShape(60_000, 9, 14_000), {"embedding_dim": 128, "hidden_size": 128, "lr": 2e-3, "batch_size": 64,
                                    "epochs": 30, "eval_every_steps": 235, "patience": 8}),
    # long and large: the large set's model
    (DataShape(25_000, 230, 60_000), {"hidden_size": 128, "dropout": 0.5, "lr": 2e-3}),
    # millions of reviews: bigger batches, validation every quarter epoch
    (DataShape(3_000_000, 80, 500_000), {"batch_size": 128, "epochs": 30, "eval_every_steps": 5860}),
])
def test_rules_follow_the_size_and_length_of_the_training_split(shape, expected):
    model, train, record = resolve(ClassifierConfig(), SentimentTrainSettings(), shape)
    got = {**model.model_dump(), **train.model_dump()}
    assert {k: got[k] for k in expected} == expected
    assert all(why != "config" for _, why in record["settings"].values())


def test_a_value_in_the_config_wins_over_the_rule():
    cfg = SentimentConfig.model_validate({"model": {"hidden_size": 32}, "train": {"epochs": 3}})
    model, train, record = resolve(cfg.model, cfg.train, DataShape(5173, 81, 13537))
    assert (model.hidden_size, model.embedding_dim, train.epochs, train.patience) == (32, 128, 3, 4)
    assert train.lr == 5e-3 and record["settings"]["lr"][1] != "config"
    assert record["settings"]["hidden_size"] == (32, "config") and record["settings"]["epochs"] == (3, "config")
    assert record["settings"]["embedding_dim"][1] != "config"


def test_the_default_vectors_yield_to_an_embedding_size_set_in_the_config():
    from tasks.sentiment.config import WordVectorsConfig
    from tasks.sentiment.train import vectors_for

    default = SentimentConfig()
    assert default.vectors.named == "glove-6b-50d"
    assert vectors_for(default.model, default.vectors).named == "glove-6b-50d"  # nothing set: GloVe
    assert vectors_for(ClassifierConfig(embedding_dim=50), default.vectors).named == "glove-6b-50d"  # its own size
    assert vectors_for(ClassifierConfig(embedding_dim=16), default.vectors).named is None  # an older config: as before
    as_file = WordVectorsConfig(path="my-vectors.txt")
    assert vectors_for(ClassifierConfig(embedding_dim=16), as_file) == as_file  # a file asked for: its check stays
