"""The forecast pipeline's one typed config: a section per stage."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tasks.shared.config import GateConfig, Section, TrainSettings

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
