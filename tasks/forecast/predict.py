"""Forecasts from recent prices with a registry version (the champion unless one is named), for
the CLI and the batch-prediction flow."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from tasks.shared.batch import prediction_path
from tasks.shared.errors import DataError
from tasks.shared.registry import Registry

from .prices import fill_missing_open, read_prices


def history_for_forecast(df: pd.DataFrame, columns: list[str], lookback: int,
                         open_fill: str = "prev_close") -> dict[str, pd.DataFrame]:
    """{ticker: rows sorted by date} ready for a forecast from the newest `lookback` rows.

    The same cleaning as training (Open = 0 is missing and filled per `open_fill`), but no
    quarantine: the newest rows are what a forecast is made from, so a bad one among them is
    an error naming the file, the row and the rule, not something to skip silently."""
    frame = df.copy()
    frame["Date"] = pd.to_datetime(frame["Date"], format="ISO8601", errors="coerce")
    frame.loc[frame["Open"] == 0, "Open"] = np.nan
    out = {}
    for ticker, rows in frame.groupby("ticker", sort=True):
        bad_date = rows[rows["Date"].isna()]
        if len(bad_date):
            r = bad_date.iloc[0]
            raise DataError(r["source_file"], "date missing or unparseable", repr(r.get("Date")), row=int(r["row"]))
        rows = rows.sort_values("Date", kind="stable")
        if rows["Date"].duplicated().any():
            r = rows[rows["Date"].duplicated()].iloc[0]
            raise DataError(r["source_file"], "duplicate date", str(r["Date"].date()), row=int(r["row"]))
        rows = fill_missing_open(rows.reset_index(drop=True), open_fill)
        if len(rows) < lookback:
            raise DataError(rows["source_file"].iloc[0], "too few rows",
                            f"{len(rows)} rows of {ticker}; the model reads the last {lookback}")
        recent = rows.iloc[len(rows) - lookback:]
        for col in columns:
            values = recent[col]
            bad = values.isna() | ~np.isfinite(values) | (values < 0) | ((values == 0) & (col != "Volume"))
            if bad.any():
                r = recent[bad].iloc[0]
                raise DataError(r["source_file"], f"{col} missing or not positive in the last {lookback} rows",
                                f"{col}={float(r[col])!r} on {r['Date'].date()}", row=int(r["row"]))
        out[str(ticker)] = rows
    return out


def predict_forecast(data: str, registry: str, version: str | None, output: str) -> dict:
    from lstm_models.forecaster import ForecastPredictor

    version, bundle = Registry(registry).resolve("forecast", version)
    predictor = ForecastPredictor.load(bundle)
    lines = []
    for ticker, rows in history_for_forecast(read_prices(data), predictor.columns, predictor.history_needed,
                                             predictor.open_fill).items():
        try:
            lines += predictor.forecast(rows, ticker)
        except ValueError as exc:
            raise DataError(rows["source_file"].iloc[0], "cannot forecast", str(exc)) from None
    frame = pd.DataFrame(lines).assign(model_version=version)
    target = prediction_path(output, "forecast", version)
    tmp = target.with_name(f".{target.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return {"kind": "forecast", "predictions": str(target), "version": version, "rows": len(frame),
            "tickers": int(frame["ticker"].nunique())}
