"""The sentiment stages' results (the flow's wiring). Validation and training results are the
shared ones (tasks/shared/results.py); the baseline's metrics and the drift report are report
dicts, the profile stage's result the path of profile.json."""
from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.results import StageResult


@dataclass(frozen=True)
class IngestedReviews(StageResult):
    """ingest-reviews: every input row as read, kept as the raw input of record."""

    raw: str  # raw.parquet: row, text, label as read
    label_map: dict  # the input's labels -> 0/1
    format: str  # fasttext, csv or parquet
    rows: int
    source: str
    source_sha256: str


@dataclass(frozen=True)
class TokenizedReviews(StageResult):
    """tokenize-reviews: token ids of every accepted review, its split and the vocabulary."""

    tokens: str  # tokens.parquet: row, label, split, length, ids
    vocab: str  # vocab.json
    split: str  # split.json: seed, fractions, sizes, how duplicates are kept together
    rows: int
    shards: int
    shards_tokenized: int  # the rest came from the shard cache
    splits: dict  # train / val / test rows
    vocab_size: int
    duplicate_reviews: int
    train_oov_rate: float
    mean_length: float
    median_train_length: float
    truncated: int  # reviews at the length cap


@dataclass(frozen=True)
class Evaluation(StageResult):
    """evaluate: the LSTM's and the baseline's test metrics and the plots."""

    lstm: dict
    baseline: dict
    plots: dict  # name -> PNG path
