"""Prepare: validated rows -> windows.parquet (inputs, targets, actual values), series.parquet and
scalers.json.

Split and scaling (no look-ahead): each ticker's rows are split in time order into train,
validation and test parts; the scalers are fitted on the training rows only (per ticker by
default); a window belongs to the part that holds all its targets, and its inputs may reach
back into earlier parts (history known by then), never forward.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lstm_models.scaling import ForecastScalers
from lstm_models.windows import chronological_split, make_windows
from tasks.shared.caching import cached_task, staging
from tasks.shared.errors import DataError

from .config import ForecastPrepareConfig, ForecastSplitConfig

SPLITS = ("train", "val", "test")


def _fixed_list(values: np.ndarray, pa_type) -> pa.FixedSizeListArray:
    values = np.ascontiguousarray(values)
    width = int(np.prod(values.shape[1:])) if values.ndim > 1 else 1
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), type=pa_type), width)


def ticker_rows(valid: pd.DataFrame, max_rows: int | None = None) -> dict[str, pd.DataFrame]:
    """Each ticker's rows in date order, numbered from 0 (window anchors index these rows)."""
    valid = valid.sort_values(["ticker", "Date"], kind="stable")
    if max_rows:
        valid = valid.groupby("ticker", sort=False).tail(max_rows)
    return {str(t): rows.reset_index(drop=True) for t, rows in valid.groupby("ticker", sort=True)}


def prepare_windows(valid: pd.DataFrame, prepare: ForecastPrepareConfig, split: ForecastSplitConfig, source: str = "input"
                    ) -> tuple[pa.Table, pd.DataFrame, ForecastScalers, dict]:
    """(windows table, series frame, fitted scalers, info) from validated rows.

    windows: ticker, split, anchor (row of the window's last input within its ticker), date
    (that row's date), x (scaled inputs, lookback * F floats), y (scaled targets, horizon) and
    actual (targets in original units). series: every row used, with its part and target value
    in original units (what baselines, MASE scales and plots read)."""
    features, target = list(prepare.features), prepare.target
    lookback, horizon, offset = prepare.lookback, prepare.horizon, prepare.offset
    need = lookback + offset + horizon  # rows for one training window and one test window, at least
    log_columns = ["Volume"] if prepare.log_volume else []

    parts, skipped = {}, {}
    for ticker, rows in ticker_rows(valid, prepare.max_rows_per_ticker).items():
        try:
            s = chronological_split(len(rows), val_fraction=split.val_fraction, test_fraction=split.test_fraction,
                                    train_rows=split.train_rows, val_rows=split.val_rows)
        except ValueError as exc:
            skipped[ticker] = str(exc)
            continue
        if s.train_end < need or s.n - s.val_end < horizon + offset:
            skipped[ticker] = (f"{len(rows)} rows: train part {s.train_end} rows (needs {need}), "
                               f"test part {s.n - s.val_end} rows (needs {horizon + offset})")
            continue
        parts[str(ticker)] = (rows, s)
    if not parts:
        detail = "; ".join(f"{t}: {why}" for t, why in list(skipped.items())[:3])
        raise DataError(source, "too few rows for the configured windows",
                        f"lookback {lookback} + horizon {horizon} per part; {detail}")

    scalers = ForecastScalers.fit(
        {t: (rows[features].to_numpy(np.float64)[: s.train_end], rows[target].to_numpy(np.float64)[: s.train_end])
         for t, (rows, s) in parts.items()},
        feature_names=features, target_name=target, feature_kind=prepare.feature_scaler,
        target_kind=prepare.target_scaler, log_columns=log_columns, per_ticker=prepare.per_ticker_scalers,
    )

    chunks, series = [], []
    for ticker, (rows, s) in parts.items():
        x_all = scalers.transform_features(rows[features].to_numpy(np.float64), ticker).astype(np.float32)
        y_raw = rows[target].to_numpy(np.float64)
        y_all = scalers.transform_target(y_raw, ticker).astype(np.float32)
        label = np.empty(len(rows), dtype=object)
        for name, (lo, hi) in s.parts().items():
            label[lo:hi] = name
            w = make_windows(x_all, y_all, lookback, horizon, offset=offset, targets_within=(lo, hi))
            if not len(w):
                continue
            actual = make_windows(x_all, y_raw, lookback, horizon, offset=offset, targets_within=(lo, hi)).y
            chunks.append(pa.table({
                "ticker": pa.array([ticker] * len(w), pa.string()),
                "split": pa.array([name] * len(w), pa.string()),
                "anchor": pa.array(w.anchor, pa.int64()),
                "date": pa.array(rows["Date"].to_numpy()[w.anchor]),
                "x": _fixed_list(w.x.astype(np.float32), pa.float32()),
                "y": _fixed_list(w.y.astype(np.float32), pa.float32()),
                "actual": _fixed_list(actual.astype(np.float64), pa.float64()),
            }))
        series.append(pd.DataFrame({"ticker": ticker, "row": np.arange(len(rows)), "Date": rows["Date"].to_numpy(),
                                    "split": label, "value": y_raw}))
    windows = pa.concat_tables(chunks)
    shape = {"lookback": lookback, "n_features": len(features), "horizon": horizon, "offset": offset}
    windows = windows.replace_schema_metadata({"forecast": json.dumps(shape)})
    series_df = pd.concat(series, ignore_index=True)
    counts = pd.Series(windows.column("split").to_pylist()).value_counts()
    info = {
        "windows": {k: int(counts.get(k, 0)) for k in SPLITS},
        "tickers": sorted(parts), "skipped": skipped,
        "rows": {k: int((series_df["split"] == k).sum()) for k in SPLITS},
        "boundaries": {t: {"val_start": str(rows["Date"].iloc[s.train_end].date()) if s.val_end > s.train_end else None,
                           "test_start": str(rows["Date"].iloc[s.val_end].date())} for t, (rows, s) in parts.items()},
        **shape,
    }
    return windows, series_df, scalers, info


@cached_task(name="prepare-windows", stage="prepare", ignore=('source',))
def prepare_windows_task(valid: str, source: str, prepare: ForecastPrepareConfig, split: ForecastSplitConfig, out_dir: str,
                         cache_key: str) -> dict:
    windows, series, scalers, info = prepare_windows(pd.read_parquet(valid), prepare, split, source)
    with staging(out_dir) as tmp:
        pq.write_table(windows, tmp / "windows.parquet")
        series.to_parquet(tmp / "series.parquet", index=False)
        (tmp / "scalers.json").write_text(json.dumps(scalers.to_dict(), indent=2))
        (tmp / "prepare.json").write_text(json.dumps(info, indent=2))
    out = Path(out_dir)
    return {**info, "windows_path": str(out / "windows.parquet"), "series": str(out / "series.parquet"),
            "scalers": str(out / "scalers.json")}


def load_windows(path: str | Path, split: str | None = None) -> dict[str, np.ndarray]:
    """Arrays of windows.parquet (all parts, or one): x [M, lookback, F], y and actual [M, horizon],
    ticker, split, anchor, date."""
    table = pq.read_table(path)
    shape = json.loads(table.schema.metadata[b"forecast"])
    if split is not None:
        table = table.filter(pc.equal(table.column("split"), split))

    def flat(name, dtype):
        col = table.column(name).combine_chunks() if table.num_rows else None
        width = table.schema.field(name).type.list_size
        if col is None:
            return np.empty((0, width), dtype)
        return col.flatten().to_numpy(zero_copy_only=False).astype(dtype, copy=False).reshape(-1, width)

    x = flat("x", np.float32).reshape(-1, shape["lookback"], shape["n_features"])
    return {"x": x, "y": flat("y", np.float32), "actual": flat("actual", np.float64),
            "ticker": np.asarray(table.column("ticker").to_pylist(), dtype=object),
            "split": np.asarray(table.column("split").to_pylist(), dtype=object),
            "anchor": table.column("anchor").to_numpy(), "date": table.column("date").to_numpy()}
