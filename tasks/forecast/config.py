"""The forecast pipeline's one typed config: a section per stage."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tasks.shared.config import DataDocsConfig, GateConfig, RetentionConfig, Section, SharedCacheConfig, TrainSettings

PriceColumn = Literal["Open", "High", "Low", "Close", "Adj Close", "Volume"]
ALL_PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


def _normalised(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


class PriceIngestConfig(Section):
    """How price files are read (tasks/forecast/layouts.py): columns are found by name in any case
    and common spelling (`date`, `timestamp`, `adjusted_close`, `vol`...); `columns` names the
    others. A file's layout is in the validation report."""

    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Our column -> the file's, for names not recognised, e.g. {Date: Datetime, Volume: vol}; ours: "
                    "Date, Open, High, Low, Close, Adj Close, Volume (Adj Close may be left out: Close is used)")
    ticker: str = Field(
        "auto", min_length=1,
        description="Where each row's ticker comes from. auto: a ticker or symbol column if the file has one, else "
                    "the file name; file: the file name (SBUX.csv -> SBUX) even when such a column exists; any "
                    "other value: the name of the column that holds it")

    @field_validator("columns")
    @classmethod
    def _our_names(cls, columns: dict[str, str]) -> dict[str, str]:
        """Keys are our names in any case or spelling (`adj_close`), kept in ours (`Adj Close`)."""
        ours = {_normalised(c): c for c in ("Date", *ALL_PRICE_COLUMNS)}
        unknown = [k for k in columns if _normalised(k) not in ours]
        if unknown:
            raise ValueError(f"not our column(s): {', '.join(unknown)}; ours: {', '.join(ours.values())}")
        named = {ours[_normalised(k)]: str(v).strip() for k, v in columns.items()}
        if len(named) < len(columns):
            raise ValueError(f"a column is mapped twice: {', '.join(columns)}")
        return named


class PriceValidationConfig(Section):
    open_fill: Literal["prev_close", "close"] = Field(
        "prev_close", description="Open = 0 means 'not recorded': fill it with the previous Close or the same day's Close")
    max_quarantine_fraction: float = Field(0.5, ge=0, le=1, description="Reject the batch above this share")
    min_rows_per_ticker: int = Field(30, ge=1, description="Reject the batch when a ticker has fewer accepted rows "
                                                           "(30: about six weeks of trading days)")


class ForecastPrepareConfig(Section):
    """How rows become windows. `inputs: relative` (the default) reads inputs that keep their
    range whatever the era and the ticker (lstm_models/features.py) and predicts log volume
    relative to the window's level; `inputs: levels` is the article's setup: the chosen price
    columns standardised per ticker on its training rows (`features`, `log_volume` and the
    scaler settings apply to it only)."""

    inputs: Literal["relative", "levels"] = Field(
        "relative", description="relative: scale-free returns, ranges, relative log volume and calendar (any ticker, "
                                "any era); levels: the price columns scaled per ticker (the article)")
    calendar: bool = Field(True, description="relative inputs: calendar features of each day, and of each forecast "
                                             "day for the head (weekday, month end, option expiry)")
    features: list[PriceColumn] = Field(default_factory=lambda: list(ALL_PRICE_COLUMNS), min_length=1,
                                        description="levels inputs: the columns of each window step")
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
    def _consistent(self):
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features repeat a column: {self.features}")
        if self.inputs == "relative" and self.target != "Volume":
            raise ValueError(f"relative inputs forecast Volume; target {self.target} needs inputs: levels")
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
    """The article's series models are configs of one regressor: LSTM1 (cell lstm, one layer), a
    stacked LSTM (num_layers 2), a GRU (cell gru), a CNN-LSTM (conv_channels > 0)."""

    cell: Literal["lstm", "gru"] = "lstm"
    hidden_size: int = Field(64, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    fc_size: int = Field(64, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    conv_channels: int = Field(0, ge=0, description="Conv1d channels (kernel 3, max-pool 2) before the recurrent "
                                                    "layers; 0: none")
    skip: int = Field(20, ge=0, description="relative inputs: a linear path from the last `skip` days of relative "
                                            "log volume to the outputs (the autoregressive part); 0: none")
    members: int = Field(2, ge=1, le=16, description="Seed averaging: this many models trained from seeds seed, "
                                                     "seed + 1, ... and published as one (their mean in log space)")
    quantiles: list[float] = Field(default_factory=lambda: [0.1, 0.5, 0.9],
                                   description="Levels predicted for each step (pinball loss); the forecast is the "
                                               "0.5 level, the outer two make the interval; []: a point forecast "
                                               "(train.loss applies)")
    # The other fields' defaults are LSTMRegressor's own; skip and quantiles are the pipeline's (the library's
    # are 0 and none: it cannot know that its last input column is relative log volume).

    @model_validator(mode="after")
    def _median(self):
        if self.quantiles and (0.5 not in self.quantiles or len(self.quantiles) < 3
                               or self.quantiles != sorted(set(self.quantiles))):
            raise ValueError(f"quantiles must be increasing, hold 0.5 and one level on each side; got {self.quantiles}")
        return self


class ForecastTrainSettings(TrainSettings):
    """Training cost follows the data: a budget of samples seen (not a fixed number of epochs)
    and a batch size that grows with the number of training windows."""

    epochs: int = Field(50, ge=1, description="Passes over the training windows, at most (see max_samples)")
    batch_size: int | None = Field(None, ge=1, description="None: 2^round(log2(training windows / 1000)), "
                                                           "clipped to 32..512")
    max_samples: int | None = Field(1_500_000, ge=1, description="Training budget in samples seen: epochs x windows, "
                                                                 "capped here; None: epochs alone")
    min_samples: int = Field(20_000, ge=1, description="A budget of at least this many samples, however few the "
                                                       "windows (one short ticker: many passes, seconds of work)")
    evals: int = Field(10, ge=1, description="Validation checks over the budget (early stopping, best weights)")
    loss: Literal["l1", "mse", "huber"] = Field("l1", description="l1 pairs with MASE and a median forecast")
    lr_schedule: Literal["constant", "onecycle"] = "onecycle"
    patience: int = Field(3, ge=1)
    average_weights: float | None = Field(
        0.05, gt=0, le=1, description="Validate and keep a moving average of the weights whose time constant is this "
                                      "share of the planned steps (smooths the noise of the last steps); empty: the "
                                      "weights as trained")
    processes: int = Field(1, ge=1, le=64, description="Training processes (DistributedDataParallel: gloo on CPU, NCCL "
                                                       "with one GPU a process); 1: this process alone")
    fine_tune: bool = Field(True, description="With --init-from: train on from the given model (True) or use it as "
                                              "it is (False)")


class ForecastEvaluateConfig(Section):
    moving_average_window: int = Field(5, ge=1, description="Days averaged by the moving-average baseline")
    max_plots: int = Field(40, ge=0, description="Actual-vs-predicted PNGs, one per ticker, at most this many")


class ForecastConfig(Section):
    name: str = "forecast-default"
    ingest: PriceIngestConfig = PriceIngestConfig()
    validation: PriceValidationConfig = PriceValidationConfig()
    prepare: ForecastPrepareConfig = ForecastPrepareConfig()
    split: ForecastSplitConfig = ForecastSplitConfig()
    model: RegressorConfig = RegressorConfig()
    train: ForecastTrainSettings = ForecastTrainSettings()
    evaluate: ForecastEvaluateConfig = ForecastEvaluateConfig()
    gate: GateConfig = GateConfig(margin=0.01)
    docs: DataDocsConfig = DataDocsConfig()
    cache: SharedCacheConfig = SharedCacheConfig()
    retention: RetentionConfig = RetentionConfig()
