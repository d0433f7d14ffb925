"""The forecast stages' results (the flow's wiring). Validation and training results are the
shared ones (tasks/shared/results.py); the drift report is a report dict, the profile stage's
result the path of profile.json."""
from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.results import StageResult


@dataclass(frozen=True)
class IngestedPrices(StageResult):
    """ingest-prices: one price file's rows as read, source file and row kept."""

    prices: str  # prices.parquet
    source: str
    source_sha256: str
    rows: int
    files: int
    tickers: list
    layout: dict  # file name -> how it was read: columns (ours -> theirs), ignored, adj_close_from_close, ticker


@dataclass(frozen=True)
class PreparedWindows(StageResult):
    """prepare-windows: the scaled sliding windows of every ticker, its series and scalers."""

    windows_path: str  # windows.parquet: x, y, future covariates, level, weight, ticker, split, anchor, date
    series: str  # series.parquet: each ticker's target series and split
    scalers: str  # scalers.json: the fitted scalers, plain JSON
    windows: dict  # train / val / test windows
    rows: dict  # rows of each split
    tickers: list
    skipped: list  # tickers with too few rows
    boundaries: dict  # ticker -> first validation and test dates
    lookback: int
    horizon: int
    offset: int
    n_features: int
    n_future: int
    inputs: str  # levels or relative


@dataclass(frozen=True)
class ForecastEvaluation(StageResult):
    """evaluate-forecast: test metrics of the LSTM and every baseline, predictions and plots."""

    metrics: dict  # overall, by_step, best_baseline, per ticker
    predictions: str  # predictions.parquet
    plots: dict  # name -> PNG path
