"""The sentiment pipeline's one typed config: a section per stage."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tasks.shared.config import GateConfig, Section, TrainSettings


class ReviewIngestConfig(Section):
    format: Literal["auto", "fasttext", "csv", "parquet"] = "auto"
    text_column: str = "text"
    label_column: str = "label"
    title_column: str | None = Field(None, description="Optional title column, joined as 'title: text'")
    label_map: dict[str, int] | None = Field(
        None, description="Raw label -> 0/1. Default: fastText 1/2; CSV/Parquet 0/1 or 1/2 detected"
    )


class ReviewValidationConfig(Section):
    max_quarantine_fraction: float = Field(0.5, ge=0, le=1, description="Reject the batch above this share")
    min_rows_per_class: int = Field(10, ge=1)
    max_text_chars: int = Field(100_000, ge=1, description="Quarantine texts longer than this (a line of megabytes "
                                                           "is a file without line breaks, not a review)")


class PreprocessConfig(Section):
    seq_len: int = Field(200, ge=1, le=10_000, description="Cap on tokens per text (truncation)")
    min_count: int = Field(2, ge=1, description="Minimum count in the training split to enter the vocabulary")
    max_vocab: int | None = Field(None, ge=3)
    workers: int = Field(0, ge=0, description="Tokenizer processes; 0 = one per CPU core")
    shard_rows: int = Field(20_000, ge=100, description="Rows per tokenization shard")


class SplitConfig(Section):
    val_fraction: float = Field(0.1, gt=0, lt=0.5)
    test_fraction: float = Field(0.1, gt=0, lt=0.5)
    seed: int = 13


class ClassifierConfig(Section):
    embedding_dim: int = Field(64, ge=1)
    hidden_size: int = Field(64, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0, lt=1)
    pooling: Literal["last", "max", "mean"] = "max"
    cell: Literal["lstm", "gru"] = "lstm"


class BaselineConfig(Section):
    max_features: int = Field(50_000, ge=1)
    ngram_max: int = Field(2, ge=1, le=3)
    C: float = Field(4.0, gt=0)


class SentimentConfig(Section):
    name: str = "sentiment-default"
    ingest: ReviewIngestConfig = ReviewIngestConfig()
    validation: ReviewValidationConfig = ReviewValidationConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    split: SplitConfig = SplitConfig()
    model: ClassifierConfig = ClassifierConfig()
    train: TrainSettings = TrainSettings(epochs=12, patience=3)  # = sentiment-default.yaml
    baseline: BaselineConfig = BaselineConfig()
    gate: GateConfig = GateConfig()
