"""Forecasts from recent prices with a registry version (the champion unless one is named), for
the CLI and the batch-prediction flow."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_models.atomic import atomic_file
from tasks.shared.batch import prediction_path
from tasks.shared.errors import DataError
from tasks.shared.registry import Registry

from .prices import file_layout, fill_missing_open, list_price_files, read_price_file, ticker_from_name


def bundle_ingest(bundle):
    """How the model's training read its price files (`ingest` of the pipeline config the bundle's
    config.json keeps), so recent prices are read with the same column mapping; the default for
    bundles from before it existed."""
    from lstm_models.bundle import read_config

    from .config import PriceIngestConfig

    return PriceIngestConfig.model_validate((read_config(bundle, "forecast").get("pipeline") or {}).get("ingest") or {})


def files_by_ticker(data: str, ingest=None) -> dict[str, list[tuple]]:
    """{ticker: [(file, its rows of the ticker, or None)]}. A file of one ticker, named by the file
    as Yahoo writes them, is read in its turn (None: memory holds one ticker at a time); a long
    table (a ticker column) is read now and its rows go to their tickers. A file that cannot be
    read waits for its turn too, where its error becomes its ticker's row."""
    groups: dict[str, list[tuple]] = {}
    for path in list_price_files(data):
        try:
            frame = read_price_file(path, ingest) if file_layout(path, ingest).ticker is not None else None
        except DataError:
            frame = None
        if frame is None:
            groups.setdefault(ticker_from_name(path), []).append((path, None))
            continue
        for ticker, rows in frame.groupby("ticker", sort=False):
            groups.setdefault(str(ticker), []).append((path, rows))
    return groups


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
        # rows before the newest `lookback` that training would quarantine (a missing or non-finite
        # value, such as AAPL's all-null 1981-08-10) are left out, as training leaves them out: one
        # such row anywhere in a long history would otherwise make the forecast NaN
        older = len(rows) - lookback
        if older > 0:
            values = rows[columns].iloc[:older].to_numpy(dtype=float)
            keep = np.isfinite(values).all(axis=1)
            rows = pd.concat([rows.iloc[:older][keep], rows.iloc[older:]], ignore_index=True)
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
    """Forecasts for every ticker of a file, folder or glob, streamed ticker by ticker to Parquet
    (memory: one ticker's history at a time). A ticker that cannot be forecast (a bad row among
    its newest, too short, unknown to a levels model) gets one row with its `error` naming the
    file, row and rule, and the batch goes on: one bad file does not cost the others."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lstm_models.forecaster import ForecastPredictor, level_name

    version, bundle = Registry(registry).resolve("forecast", version)
    predictor = ForecastPredictor.load(bundle)
    key = predictor.target.lower().replace(" ", "_")
    ingest = bundle_ingest(bundle)
    groups = files_by_ticker(data, ingest)
    levels = [(level_name(q), pa.float64()) for q in predictor.quantiles]  # p10, p90 of a quantile model
    schema = pa.schema([("ticker", pa.string()), ("date", pa.string()), ("step", pa.int32()), (key, pa.float64()),
                        *levels, ("source_file", pa.string()), ("error", pa.string()), ("model_version", pa.string())])
    target = prediction_path(output, "forecast", version)
    rows, failed, first_error = 0, 0, ""
    with atomic_file(target) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for ticker, parts in sorted(groups.items()):
                sources = ", ".join(str(p) for p, _ in parts)
                try:
                    frame = pd.concat([read_price_file(p, ingest) if rows is None else rows for p, rows in parts],
                                      ignore_index=True)
                    lines = []
                    for name, history in history_for_forecast(frame, predictor.columns, predictor.history_needed,
                                                              predictor.open_fill).items():
                        try:
                            forecast = predictor.forecast(history, name)
                        except ValueError as exc:
                            raise DataError(sources, "cannot forecast", str(exc)) from None
                        if not np.isfinite([line[key] for line in forecast]).all():
                            raise DataError(sources, "cannot forecast", f"the model's forecast for {name} is not a number")
                        lines += forecast
                    batch = [{**line, "source_file": sources, "error": None} for line in lines]
                except DataError as exc:
                    batch, failed = [{"ticker": ticker, "source_file": sources, "error": str(exc)}], failed + 1
                    first_error = first_error or str(exc)
                writer.write_table(pa.Table.from_pylist([{**r, "model_version": version} for r in batch], schema=schema))
                rows += len(batch)
        if failed == len(groups):
            raise DataError(data, "no ticker could be forecast", first_error)
    return {"kind": "forecast", "predictions": str(target), "version": version, "rows": rows,
            "tickers": len(groups) - failed, "unforecast": failed}
