"""One typed config per pipeline. It is the flow's parameter, so the Prefect UI renders it as a
form and rejects bad values with clear messages; the CLI loads it from YAML/JSON files."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class TrainSettings(Section):
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    clip: float = Field(5.0, ge=0)
    patience: int = Field(2, ge=1)
    eval_every_steps: int | None = Field(None, ge=1)
    seed: int = 13
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: bool = True


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
    train: TrainSettings = TrainSettings()
    baseline: BaselineConfig = BaselineConfig()


def load_config(cls: type[BaseModel], source: str | Path | None, kind: str) -> BaseModel:
    """A config from a YAML/JSON file, or a named config shipped in flows/configs
    (`article` -> `<kind>-article.yaml`); None gives `<kind>-default.yaml`."""
    if source is None:
        source = "default"
    path = Path(source)
    if not path.exists():
        named = CONFIG_DIR / f"{kind}-{source}.yaml"
        if not named.exists():
            known = sorted(p.stem.removeprefix(f"{kind}-") for p in CONFIG_DIR.glob(f"{kind}-*.yaml"))
            raise ConfigError(f"{source}: no such config file, and not a named config ({', '.join(known)})")
        path = named
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: invalid config: {problems}") from None
