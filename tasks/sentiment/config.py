"""The sentiment pipeline's one typed config: a section per stage."""
from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, ConfigDict, Field

from tasks.shared.config import DataDocsConfig, GateConfig, RetentionConfig, Section, SharedCacheConfig, TrainSettings


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


def _old_names(schema: dict) -> None:
    """The schema (a deployment's run form, the server's check of its parameters) still accepts
    `workers`, the old name of `processes`, marked deprecated."""
    schema["properties"]["workers"] = {"type": "integer", "minimum": 0, "deprecated": True,
                                       "description": "Old name of processes"}


class PreprocessConfig(Section):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_old_names)

    seq_len: int = Field(400, ge=1, le=10_000, description="Cap on tokens per text (which are kept: tail_tokens)")
    tail_tokens: int = Field(150, ge=0, description="Of a text longer than seq_len, keep this many tokens from its "
                                                  "end (at most seq_len / 2) and the rest from its start; 0: the start only")
    min_count: int = Field(2, ge=1, description="Minimum count in the training split to enter the vocabulary")
    max_vocab: int | None = Field(None, ge=3)
    processes: int = Field(0, ge=0, validation_alias=AliasChoices("processes", "workers"),
                           description="Tokenizer processes (of the local runner's pool); 0 = one per CPU core. "
                                       "The old name `workers` is still read")
    shard_rows: int = Field(20_000, ge=100, description="Rows per tokenization shard")

    @property
    def tail(self) -> int:
        """The tokens kept from the end of a long text: tail_tokens, at most half the cap."""
        return min(self.tail_tokens, self.seq_len // 2)


class SplitConfig(Section):
    val_fraction: float = Field(0.1, gt=0, lt=0.5)
    test_fraction: float = Field(0.1, gt=0, lt=0.5)
    seed: int = 13


FROM_DATA = "empty: chosen from the training split (tasks/sentiment/sizing.py)"


class ClassifierConfig(Section):
    embedding_dim: int | None = Field(None, ge=1, description=FROM_DATA)
    hidden_size: int | None = Field(None, ge=1, description=FROM_DATA)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = True
    dropout: float | None = Field(None, ge=0, lt=1, description=FROM_DATA)
    pooling: Literal["last", "max", "mean"] = "max"
    cell: Literal["lstm", "gru"] = "lstm"
    word_dropout: float = Field(0.0, ge=0, lt=1, description="Share of tokens dropped whole from each training "
                                                             "text (their embedding zeroed)")
    bag_buckets: int = Field(65_536, ge=0, description="A linear bag-of-words-and-pairs part beside the LSTM: hashed "
                                                  "word pairs into this many buckets (0: none)")
    # The fixed fields' defaults are LSTMClassifier's own; bag_buckets is the pipeline's (chosen on validation,
    # docs/decisions/sentiment-defaults.md); the library's stays 0, so bundles written before it load as they were.


class WordVectorsConfig(Section):
    """Pretrained word vectors to start the embedding from: a named source installed with the
    project (glove-6b-50d) or a local GloVe or word2vec text file; model.embedding_dim follows
    their dimension."""

    source: Literal["glove-6b-50d"] | None = Field("glove-6b-50d", description="Named vectors from an installed package "
                                                                     "(glove-6b-50d: GloVe 6B, 50 dimensions, PDDL 1.0); "
                                                                     "used unless path is set")
    path: str | None = Field(None, description="GloVe or word2vec text file (.txt or .txt.gz); wins over source")
    freeze: bool = Field(False, description="Keep the embedding as loaded (True) or fine-tune it (False)")

    @property
    def named(self) -> str | None:
        """The named source in use (None where a file is given or no vectors at all)."""
        return None if self.path else self.source

    @property
    def enabled(self) -> bool:
        return bool(self.path or self.source)

    @property
    def setting(self) -> str:
        """The config key an error about these vectors names."""
        return "vectors.source" if self.named else "vectors.path"


class PretrainSettings(Section):
    """Language-model pretraining of the embedding and first LSTM layer before training on the
    labels (lstm_models/pretrain.py): on the training split's texts and, with `unlabelled`, on
    more texts of the same kind."""

    enabled: bool = False
    epochs: int = Field(4, ge=1, le=100, description="At most this many passes; the pass with the lowest "
                                                    "validation-text loss is kept")
    lr: float = Field(2e-3, gt=0)
    targets: int = Field(2_000, ge=1, description="Words predicted: the most frequent; rarer ones count as _UNK")
    max_minutes: float | None = Field(None, gt=0, description="A time cap on pretraining")
    unlabelled: str | None = Field(None, description="A local text file (one text a line; fastText labels ignored) to "
                                                     "pretrain on as well")


class SentimentTrainSettings(TrainSettings):
    lr: float | None = Field(None, gt=0, description=FROM_DATA)
    epochs: int | None = Field(None, ge=1, description=FROM_DATA)
    batch_size: int | None = Field(None, ge=1, description=FROM_DATA)
    patience: int | None = Field(None, ge=1, description=FROM_DATA)
    processes: int = Field(1, ge=1, le=64, description="Training processes (DistributedDataParallel: gloo on CPU, NCCL "
                                                       "with one GPU a process); 1: this process alone")


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
    vectors: WordVectorsConfig = WordVectorsConfig()
    train: SentimentTrainSettings = SentimentTrainSettings()
    pretrain: PretrainSettings = PretrainSettings()
    baseline: BaselineConfig = BaselineConfig()
    gate: GateConfig = GateConfig()
    docs: DataDocsConfig = DataDocsConfig()
    cache: SharedCacheConfig = SharedCacheConfig()
    retention: RetentionConfig = RetentionConfig()
