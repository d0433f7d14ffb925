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

from lstm_models import forecast_metrics as fm
from lstm_models.bundle import read_config, read_json
from lstm_models.features import LEVEL_DAYS, input_names, relative_rows
from lstm_models.forecaster import window_inputs
from lstm_models.scaling import ForecastScalers, InputStandardizer, forecast_scalers_from_dict
from lstm_models.windows import anchor_range, chronological_split
from tasks.shared.caching import cached_task, staging
from tasks.shared.errors import ConfigError, DataError

from .config import ForecastPrepareConfig, ForecastSplitConfig
from .results import PreparedWindows

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


def _split_parts(valid: pd.DataFrame, prepare: ForecastPrepareConfig, split: ForecastSplitConfig, source: str):
    """{ticker: (rows, Split)} of the tickers with enough rows, and {ticker: why} of the others."""
    lookback, horizon, offset = prepare.lookback, prepare.horizon, prepare.offset
    # a training window needs its lookback, and relative inputs also the level's days, before it
    need = max(lookback, LEVEL_DAYS if prepare.inputs == "relative" else 0) + offset + horizon
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
    return parts, skipped


def _first_anchor(prepare: ForecastPrepareConfig) -> int:
    """The earliest anchor whose window (and, for relative inputs, whose level) is complete."""
    return max(prepare.lookback, LEVEL_DAYS if prepare.inputs == "relative" else 1) - 1


def fit_scalers(parts: dict, prepare: ForecastPrepareConfig) -> ForecastScalers | InputStandardizer:
    """Preprocessing state fitted on the training rows only: per-ticker scalers (levels) or one
    standardizer of the scale-free inputs over all tickers (relative)."""
    if prepare.inputs == "relative":
        rows = np.concatenate([relative_rows(r, prepare.calendar)["inputs"][: s.train_end] for r, s in parts.values()])
        return InputStandardizer.fit(rows, input_names(prepare.calendar)[:-1], prepare.calendar)
    features, target = list(prepare.features), prepare.target
    return ForecastScalers.fit(
        {t: (rows[features].to_numpy(np.float64)[: s.train_end], rows[target].to_numpy(np.float64)[: s.train_end])
         for t, (rows, s) in parts.items()},
        feature_names=features, target_name=target, feature_kind=prepare.feature_scaler,
        target_kind=prepare.target_scaler, log_columns=["Volume"] if prepare.log_volume else [],
        per_ticker=prepare.per_ticker_scalers,
    )


def window_spec(prepare: ForecastPrepareConfig) -> dict:
    """What lstm_models.forecaster.window_inputs needs of the config (and a bundle stores)."""
    return {k: getattr(prepare, k) for k in ("inputs", "calendar", "features", "target", "lookback", "horizon", "offset")}


def start_scalers(bundle: str | Path, prepare: ForecastPrepareConfig) -> InputStandardizer:
    """The input standardizer of a bundle this run starts from (--init-from): its weights expect
    inputs scaled as they were when it was trained. Its windows must be this config's."""
    config = read_config(bundle, "forecast")
    theirs = {k: config.get(k) for k in ("inputs", "lookback", "horizon", "offset")}
    mine = {"inputs": prepare.inputs, "lookback": prepare.lookback, "horizon": prepare.horizon, "offset": prepare.offset}
    if prepare.inputs != "relative" or theirs != mine:
        raise ConfigError(f"{bundle}: a run can start from a model on relative inputs with the same windows; "
                          f"it has {theirs}, this config {mine}")
    scalers = forecast_scalers_from_dict(read_json(Path(bundle), "scalers.json"))
    if scalers.calendar != prepare.calendar:
        raise ConfigError(f"{bundle}: calendar inputs {scalers.calendar}, this config {prepare.calendar}")
    return scalers


def prepare_windows(valid: pd.DataFrame, prepare: ForecastPrepareConfig, split: ForecastSplitConfig,
                    source: str = "input", start_bundle: str | None = None
                    ) -> tuple[pa.Table, pd.DataFrame, ForecastScalers | InputStandardizer, dict]:
    """(windows table, series frame, fitted preprocessing state, info) from validated rows.

    windows: ticker, split, anchor (row of the window's last input within its ticker), date
    (that row's date), x (model inputs, lookback * F floats), future (covariates of the forecast
    days, when used), y (targets as the model sees them), level (what predictions are relative
    to), weight (each window's share of the loss) and actual (targets in original units).
    series: every row used, with its part, target value in original units and log |return|
    (what baselines, MASE scales and plots read)."""
    lookback, horizon, offset = prepare.lookback, prepare.horizon, prepare.offset
    parts, skipped = _split_parts(valid, prepare, split, source)
    scalers = start_scalers(start_bundle, prepare) if start_bundle else fit_scalers(parts, prepare)

    chunks, series = [], []
    for ticker, (rows, s) in parts.items():
        values = rows[prepare.target].to_numpy(np.float64)
        # the loss weight that makes an L1 loss on log volume approximate MASE in original units:
        # an error of e on the log scale costs about exp(level) * e, divided by the ticker's scale
        scale = fm.naive_scale(values[: s.train_end]) if s.train_end > 1 else 1.0
        label = np.empty(len(rows), dtype=object)
        part_anchors = {}
        for name, (lo, hi) in s.parts().items():
            label[lo:hi] = name
            first, stop = anchor_range(len(rows), lookback, horizon, offset, (lo, hi))
            part_anchors[name] = np.arange(max(first, _first_anchor(prepare)), stop, dtype=np.int64)
        every = np.concatenate(list(part_anchors.values()))
        w_all = window_inputs(rows, ticker, every, window_spec(prepare), scalers) if len(every) else {}
        start = 0
        for name, anchors in part_anchors.items():
            part = slice(start, start + len(anchors))
            start += len(anchors)
            if not len(anchors):
                continue
            w = {k: None if v is None else v[part] for k, v in w_all.items()}
            weight = (np.exp(w["level"]) / scale if prepare.inputs == "relative" and scale > 0
                      else np.ones(len(anchors)))
            table = {
                "ticker": pa.array([ticker] * len(anchors), pa.string()),
                "split": pa.array([name] * len(anchors), pa.string()),
                "anchor": pa.array(anchors, pa.int64()),
                "date": pa.array(rows["Date"].to_numpy()[anchors]),
                "x": _fixed_list(w["x"], pa.float32()),
                "y": _fixed_list(w["y"].astype(np.float32), pa.float32()),
                "level": pa.array(w["level"], pa.float64()),
                "weight": pa.array((weight / max(np.mean(weight), 1e-12)).astype(np.float32), pa.float32()),
                "actual": _fixed_list(values[anchors[:, None] + offset + np.arange(horizon)], pa.float64()),
            }
            if w["future"] is not None:
                table["future"] = _fixed_list(w["future"].astype(np.float32), pa.float32())
            chunks.append(pa.table(table))
        adj = rows["Adj Close"].to_numpy(np.float64)
        abs_ret = np.log(np.abs(np.concatenate([[0.0], np.diff(np.log(adj))])) + 1e-4)
        series.append(pd.DataFrame({"ticker": ticker, "row": np.arange(len(rows)), "Date": rows["Date"].to_numpy(),
                                    "split": label, "value": values, "abs_ret": abs_ret}))
    windows = pa.concat_tables(chunks, promote_options="default")
    n_future = windows.schema.field("future").type.list_size // horizon if "future" in windows.schema.names else 0
    shape = {"lookback": lookback, "n_features": windows.schema.field("x").type.list_size // lookback,
             "horizon": horizon, "offset": offset, "n_future": n_future, "inputs": prepare.inputs}
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
def prepare_windows_task(valid: str, source: str, prepare: ForecastPrepareConfig, split: ForecastSplitConfig,
                         start_bundle: str | None, out_dir: str) -> PreparedWindows:
    windows, series, scalers, info = prepare_windows(pd.read_parquet(valid), prepare, split, source, start_bundle)
    with staging(out_dir) as tmp:
        pq.write_table(windows, tmp / "windows.parquet")
        series.to_parquet(tmp / "series.parquet", index=False)
        (tmp / "scalers.json").write_text(json.dumps(scalers.to_dict(), indent=2))
        (tmp / "prepare.json").write_text(json.dumps(info, indent=2))
    out = Path(out_dir)
    return PreparedWindows(**info, windows_path=str(out / "windows.parquet"), series=str(out / "series.parquet"),
                           scalers=str(out / "scalers.json"))


def load_windows(path: str | Path, split: str | None = None) -> dict[str, np.ndarray]:
    """Arrays of windows.parquet (all parts, or one): x [M, lookback, F], y and actual [M, horizon],
    future [M, horizon * n_future] (None without covariates), level and weight [M], ticker,
    split, anchor, date."""
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
            "future": flat("future", np.float32) if "future" in table.schema.names else None,
            "level": table.column("level").to_numpy(), "weight": table.column("weight").to_numpy(),
            "ticker": np.asarray(table.column("ticker").to_pylist(), dtype=object),
            "split": np.asarray(table.column("split").to_pylist(), dtype=object),
            "anchor": table.column("anchor").to_numpy(), "date": table.column("date").to_numpy()}
