"""One typed config per pipeline. It is the flow's parameter, so the Prefect UI renders it as a
form and rejects bad values with clear messages; the CLI loads it from YAML/JSON files."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class GateConfig(Section):
    """The champion/challenger gate: a candidate is promoted only if it beats the naive
    baseline and the current champion, on the candidate's test data, by this margin."""

    margin: float = Field(0.005, ge=0, description="Required improvement of the gate metric "
                                                   "(sentiment: accuracy, higher; forecast: MASE, lower)")


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


# -- forecast ----------------------------------------------------------------------------------

PriceColumn = Literal["Open", "High", "Low", "Close", "Adj Close", "Volume"]
ALL_PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


class PriceValidationConfig(Section):
    open_fill: Literal["prev_close", "close"] = Field(
        "prev_close", description="Open = 0 means 'not recorded': fill it with the previous Close or the same day's Close")
    max_quarantine_fraction: float = Field(0.5, ge=0, le=1, description="Reject the batch above this share")
    min_rows_per_ticker: int = Field(30, ge=1, description="Reject the batch when a ticker has fewer accepted rows "
                                                           "(30: about six weeks of trading days)")


class ForecastPrepareConfig(Section):
    features: list[PriceColumn] = Field(default_factory=lambda: list(ALL_PRICE_COLUMNS), min_length=1,
                                        description="Input columns of each window step")
    target: PriceColumn = "Volume"
    lookback: int = Field(20, ge=1, le=1000, description="Window steps the model reads")
    horizon: int = Field(5, ge=1, le=250, description="Future steps predicted at once (direct multi-step)")
    offset: int = Field(1, ge=0, le=1, description="1: forecast (targets start the day after the window); "
                                                   "0: same-day mode of the article (explains, does not forecast)")
    log_volume: bool = Field(True, description="log1p(Volume) before scaling, expm1 after inverting")
    feature_scaler: Literal["standard", "minmax"] = "standard"
    target_scaler: Literal["standard", "minmax"] = "standard"
    per_ticker_scalers: bool = Field(True, description="One scaler pair per ticker (else one shared pair)")
    max_rows_per_ticker: int | None = Field(None, ge=10, description="Keep only each ticker's newest rows")

    @model_validator(mode="after")
    def _unique_features(self):
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features repeat a column: {self.features}")
        return self


class ForecastSplitConfig(Section):
    """Chronological, per ticker: by fraction (the last test_fraction rows are test, the
    val_fraction before them validation) or by count (first train_rows rows train, next val_rows
    validation, the rest test)."""

    val_fraction: float = Field(0.15, ge=0, lt=0.5)
    test_fraction: float = Field(0.2, gt=0, lt=0.5)
    train_rows: int | None = Field(None, ge=1)
    val_rows: int = Field(0, ge=0)


class RegressorConfig(Section):
    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    fc_size: int = Field(128, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)


class ForecastEvaluateConfig(Section):
    moving_average_window: int = Field(5, ge=1, description="Days averaged by the moving-average baseline")
    max_plots: int = Field(40, ge=0, description="Actual-vs-predicted PNGs, one per ticker, at most this many")


class ForecastConfig(Section):
    name: str = "forecast-default"
    validation: PriceValidationConfig = PriceValidationConfig()
    prepare: ForecastPrepareConfig = ForecastPrepareConfig()
    split: ForecastSplitConfig = ForecastSplitConfig()
    model: RegressorConfig = RegressorConfig()
    train: TrainSettings = TrainSettings(epochs=150, batch_size=32, lr=1e-3, patience=20)
    evaluate: ForecastEvaluateConfig = ForecastEvaluateConfig()
    gate: GateConfig = GateConfig(margin=0.01)


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
        detail = " ".join(str(exc).split())  # YAML errors span lines; the CLI prints one
        raise ConfigError(f"{path}: cannot read config ({detail})") from None
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: invalid config: {problems}") from None
