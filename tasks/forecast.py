"""Forecast stages: price files -> prices.parquet -> GX validation -> scaled windows ->
LSTM regressor -> test-part errors next to persistence and a moving average, with plots.

Each stage is a plain function plus a thin cached @task that reads and writes Parquet/JSON in
its content-addressed stage folder (see tasks/caching.py), as in the sentiment pipeline.

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
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lstm_models import forecast_metrics as fm
from lstm_models.bundle import load_safetensors
from lstm_models.data import TensorData
from lstm_models.forecaster import predict_windows
from lstm_models.regressor import LSTMRegressor
from lstm_models.scaling import ForecastScalers
from lstm_models.training import TrainConfig, fit
from lstm_models.windows import chronological_split, make_windows

from .caching import cached_task, checkpoint_for, staging
from .errors import DataError
from .evaluate import plot_history
from .stocks import PriceRules, read_prices, validate_prices
from .validate import merge_tables

SPLITS = ("train", "val", "test")
BASELINES = ("persistence", "moving_average")


# -- ingest and validate ------------------------------------------------------------------------

@cached_task(name="ingest-prices")
def ingest_prices_task(source: str, source_sha256: str, out_dir: str, cache_key: str) -> dict:
    df = read_prices(source)
    # file names, not paths: the stage is keyed on content, so a hit may come from another folder
    df["source_file"] = df["source_file"].map(lambda p: Path(p).name)
    with staging(out_dir) as tmp:
        df.to_parquet(tmp / "prices.parquet", index=False)
        meta = {"source": str(source), "source_sha256": source_sha256, "rows": len(df),
                "files": int(df["source_file"].nunique()), "tickers": sorted(df["ticker"].unique().tolist())}
        (tmp / "ingest.json").write_text(json.dumps(meta, indent=2))
    return {**meta, "prices": str(Path(out_dir) / "prices.parquet")}


@cached_task(name="validate-prices")
def validate_prices_task(prices: str, source: str, validation: dict, out_dir: str, cache_key: str) -> dict:
    """Accepted rows, quarantined rows with reasons, and a report in the same shape as the
    sentiment one (rows read/accepted/quarantined, GX table as `expectations`, `rejected`)."""
    df = pd.read_parquet(prices)
    out = Path(out_dir)
    with staging(out_dir) as tmp:
        accepted, quarantined, stock_report = validate_prices(df, PriceRules(**validation), raise_on_reject=False,
                                                              docs_dir=tmp / "data_docs")
        report = {
            "source": str(source),
            "suite": stock_report["suite"],
            "rows": {"read": stock_report["rows"], "accepted": stock_report["accepted"],
                     "quarantined": stock_report["quarantined"]},
            "expectations": stock_report.pop("validation"),
            "rejected": stock_report.pop("rejected"),
            "data_docs": str(out / "data_docs" / "index.html"),  # where staging moves it
            **{k: stock_report[k] for k in ("open_missing", "zero_volume", "tickers", "reasons", "per_ticker")},
        }
        accepted.to_parquet(tmp / "valid.parquet", index=False)
        quarantined.to_parquet(tmp / "quarantine.parquet", index=False)
        (tmp / "validation.json").write_text(json.dumps(report, indent=2, default=str))
    return {**report, "valid": str(out / "valid.parquet"), "quarantine": str(out / "quarantine.parquet")}


# -- prepare: scalers fitted on train, windows per part -----------------------------------------

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


def prepare_windows(valid: pd.DataFrame, prepare: dict, split: dict, source: str = "input"
                    ) -> tuple[pa.Table, pd.DataFrame, ForecastScalers, dict]:
    """(windows table, series frame, fitted scalers, info) from validated rows.

    windows: ticker, split, anchor (row of the window's last input within its ticker), date
    (that row's date), x (scaled inputs, lookback * F floats), y (scaled targets, horizon) and
    actual (targets in original units). series: every row used, with its part and target value
    in original units (what baselines, MASE scales and plots read)."""
    features, target = list(prepare["features"]), prepare["target"]
    lookback, horizon, offset = prepare["lookback"], prepare["horizon"], prepare["offset"]
    need = lookback + offset + horizon  # rows for one training window and one test window, at least
    log_columns = ["Volume"] if prepare["log_volume"] else []

    parts, skipped = {}, {}
    for ticker, rows in ticker_rows(valid, prepare.get("max_rows_per_ticker")).items():
        try:
            s = chronological_split(len(rows), val_fraction=split["val_fraction"], test_fraction=split["test_fraction"],
                                    train_rows=split["train_rows"], val_rows=split["val_rows"])
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
        feature_names=features, target_name=target, feature_kind=prepare["feature_scaler"],
        target_kind=prepare["target_scaler"], log_columns=log_columns, per_ticker=prepare["per_ticker_scalers"],
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


@cached_task(name="prepare-windows")
def prepare_windows_task(valid: str, source: str, prepare: dict, split: dict, out_dir: str, cache_key: str) -> dict:
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


# -- train ------------------------------------------------------------------------------------

def tensor_data(w: dict) -> TensorData:
    return TensorData(torch.tensor(w["x"], dtype=torch.float32), torch.tensor(w["y"], dtype=torch.float32))


def build_regressor(n_features: int, horizon: int, model_cfg: dict) -> LSTMRegressor:
    return LSTMRegressor(n_features=n_features, horizon=horizon, **model_cfg)


def train_regressor(windows: str, model_cfg: dict, train_cfg: dict, out_dir: Path, progress: bool = True,
                    on_eval=None, checkpoint: Path | None = None) -> dict:
    train, val = load_windows(windows, "train"), load_windows(windows, "val")
    torch.manual_seed(train_cfg["seed"])  # fit seeds its own loop; the initial weights need it too
    model = build_regressor(train["x"].shape[2], train["y"].shape[1], model_cfg)
    result = fit(model, tensor_data(train), tensor_data(val), F.mse_loss, TrainConfig(**train_cfg), progress=progress,
                 on_eval=on_eval, checkpoint=checkpoint)
    save_file(result.state_dict, str(out_dir / "model.safetensors"))
    summary = {**result.summary(), "train_windows": len(train["x"]), "val_windows": len(val["x"]),
               "parameters": sum(p.numel() for p in model.parameters()), "hparams": model.hparams}
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm-regressor")
def train_regressor_task(windows: str, model: dict, train: dict, out_dir: str, cache_key: str) -> dict:
    from prefect.logging import get_run_logger

    from .train import progress_reporter

    report, done = progress_reporter("forecast", train["epochs"], get_run_logger())
    with staging(out_dir) as tmp:
        summary = train_regressor(windows, model, train, tmp, on_eval=report, checkpoint=checkpoint_for(out_dir))
    done(summary)
    out = Path(out_dir)
    return {**summary, "weights": str(out / "model.safetensors"), "summary": str(out / "training.json")}


def load_regressor(weights: str | Path, hparams: dict) -> LSTMRegressor:
    model = LSTMRegressor.from_hparams(hparams)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()


# -- evaluate ---------------------------------------------------------------------------------

def baseline_forecasts(series: pd.DataFrame, tickers: np.ndarray, anchors: np.ndarray, horizon: int, offset: int,
                       window: int) -> dict[str, np.ndarray]:
    """Persistence and moving-average forecasts [M, horizon] for the given windows, from each
    ticker's own target series (only values known at the forecast time)."""
    out = {name: np.empty((len(anchors), horizon)) for name in BASELINES}
    for ticker, rows in series.groupby("ticker", sort=False):
        sel = tickers == ticker
        if not sel.any():
            continue
        values = rows["value"].to_numpy(np.float64)
        out["persistence"][sel] = fm.persistence_forecast(values, anchors[sel], horizon, offset)
        out["moving_average"][sel] = fm.moving_average_forecast(values, anchors[sel], horizon, window, offset)
    return out


def naive_scales(series: pd.DataFrame) -> dict[str, float]:
    """MASE denominators: each ticker's one-step naive MAE on its training part."""
    train = series[series["split"] == "train"]
    return {str(t): fm.naive_scale(rows["value"].to_numpy(np.float64)) for t, rows in train.groupby("ticker")}


def evaluate_forecasts(w: dict, pred: np.ndarray, series: pd.DataFrame, horizon: int, offset: int, window: int) -> dict:
    """Test-part scores in original units: LSTM, persistence and moving average, pooled and per
    ticker, overall and by forecast step."""
    test = w["split"] == "test"
    tickers, anchors, actual = w["ticker"][test].astype(str), w["anchor"][test], w["actual"][test]
    forecasts = {"lstm": pred[test], **baseline_forecasts(series, tickers, anchors, horizon, offset, window)}
    scales = naive_scales(series)
    metrics = {name: fm.scores_by_ticker(actual, f, tickers, scales) for name, f in forecasts.items()}
    metrics["by_step"] = {
        str(k + 1): {name: fm.scores_by_ticker(actual[:, k], f[:, k], tickers, scales)["overall"]
                     for name, f in forecasts.items()}
        for k in range(horizon)
    }
    metrics["test_windows"] = int(test.sum())
    metrics["moving_average_window"] = window
    return metrics


def plot_ticker(series: pd.DataFrame, w: dict, pred: np.ndarray, ticker: str, offset: int, target: str, path: Path) -> None:
    """Actual vs predicted (first forecast step) over the whole series, with the part boundaries,
    as in the article's plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = series[series["ticker"] == ticker]
    sel = w["ticker"] == ticker
    dates = rows["Date"].to_numpy()
    target_rows = w["anchor"][sel] + offset
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(dates, rows["value"].to_numpy(), lw=0.8, label="actual")
    ax.plot(dates[target_rows], pred[sel][:, 0], lw=0.8, label="LSTM (step 1)")
    for part, style in (("val", ":"), ("test", "--")):
        start = rows.index[rows["split"] == part]
        if len(start):
            ax.axvline(rows.loc[start[0], "Date"], color="red", ls=style, lw=1, label=f"{part} starts")
    ax.set_title(f"{ticker}: {target}, actual vs predicted")
    ax.set_ylabel(target)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


@cached_task(name="evaluate-forecast")
def evaluate_forecast_task(windows: str, series: str, scalers: str, weights: str, training_summary: str, target: str,
                           evaluate: dict, out_dir: str, cache_key: str) -> dict:
    training = json.loads(Path(training_summary).read_text())
    hparams = training["hparams"]
    w = load_windows(windows)
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    sc = ForecastScalers.from_dict(json.loads(Path(scalers).read_text()))
    scaled = predict_windows(load_regressor(weights, hparams), w["x"])
    pred = np.empty(scaled.shape, dtype=np.float64)
    for ticker in np.unique(w["ticker"]):
        sel = w["ticker"] == ticker
        pred[sel] = sc.inverse_target(scaled[sel], str(ticker))
    ser = pd.read_parquet(series)
    metrics = evaluate_forecasts(w, pred, ser, meta["horizon"], meta["offset"], evaluate["moving_average_window"])
    plots = {}
    with staging(out_dir) as tmp:
        pd.DataFrame({"ticker": w["ticker"], "split": w["split"], "anchor": w["anchor"], "date": w["date"],
                      "predicted": list(pred), "actual": list(w["actual"])}).to_parquet(tmp / "predictions.parquet", index=False)
        plot_history([{**h, "val_loss": h["val_loss"] if h["val_loss"] is not None else float("nan")}
                      for h in training["history"]], tmp / "loss_curves.png", ylabel="MSE loss (scaled)")
        plots["loss_curves"] = "loss_curves.png"
        for ticker in sorted(np.unique(w["ticker"]))[: evaluate["max_plots"]]:
            name = f"forecast_{ticker}"
            plot_ticker(ser, w, pred, str(ticker), meta["offset"], target, tmp / f"{name}.png")
            plots[name] = f"{name}.png"
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
    out = Path(out_dir)
    return {"metrics": metrics, "predictions": str(out / "predictions.parquet"),
            "plots": {name: str(out / f) for name, f in plots.items()}}


# -- the gate's figures: the champion on the candidate's test windows ---------------------------

def score_bundle(bundle: str | Path, valid: str, windows: str, series: str, predictions: str, prepare: dict
                 ) -> tuple[dict | None, dict | None, str]:
    """A published bundle (its own scalers, features and lookback) and this run's model scored
    on the same test windows: (champion scores, candidate scores, note). Windows of tickers the
    bundle has no scalers for, or too early for its lookback, are left out of both; a bundle
    with another target, horizon or offset is not comparable (None, None, why)."""
    from lstm_models.forecaster import ForecastPredictor

    champ = ForecastPredictor.load(bundle)
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    if (champ.target, champ.horizon, champ.offset) != (prepare["target"], meta["horizon"], meta["offset"]):
        return None, None, (f"it predicts {champ.target} {champ.horizon} step(s) at offset {champ.offset}, this run "
                            f"{prepare['target']} {meta['horizon']} step(s) at offset {meta['offset']}")
    w = load_windows(windows, "test")
    mine = pd.read_parquet(predictions)
    mine = np.stack(mine.loc[mine["split"] == "test", "predicted"].to_numpy())
    rows = ticker_rows(pd.read_parquet(valid), prepare.get("max_rows_per_ticker"))
    theirs = np.full(w["actual"].shape, np.nan)
    unknown = []
    for ticker in np.unique(w["ticker"]):
        if not champ.scalers.knows(str(ticker)):
            unknown.append(str(ticker))
            continue
        sel = np.flatnonzero(w["ticker"] == ticker)
        frame = rows[str(ticker)]
        x_all = champ.scalers.transform_features(frame[champ.features].to_numpy(np.float64), str(ticker))
        anchors = w["anchor"][sel]
        ok = anchors >= champ.lookback - 1
        if not ok.any():
            continue
        x = np.stack([x_all[a - champ.lookback + 1: a + 1] for a in anchors[ok]]).astype(np.float32)
        theirs[sel[ok]] = champ.scalers.inverse_target(champ.predict_scaled(x), str(ticker))
    keep = np.isfinite(theirs).all(axis=1)
    note = f"tickers the champion was not trained on are left out: {', '.join(unknown)}" if unknown else ""
    if not keep.any():
        return None, None, "the champion knows none of this run's tickers"
    scales = naive_scales(pd.read_parquet(series))
    tickers = w["ticker"][keep].astype(str)
    score = lambda f: fm.scores_by_ticker(w["actual"][keep], f[keep], tickers, scales)["overall"]  # noqa: E731
    return score(theirs), score(mine), note


# -- many price files: validated one by one (cached per file), then combined ---------------------

def combine_validations(reports: list[dict], source: str, out_dir: Path) -> dict:
    """The per-file validation results as one batch: valid/quarantine Parquet concatenated,
    counts summed (read = accepted + quarantined still holds), any file's batch-level
    rejection kept."""
    valid = pd.concat([pd.read_parquet(r["valid"]) for r in reports], ignore_index=True)
    quarantine = pd.concat([pd.read_parquet(r["quarantine"]) for r in reports], ignore_index=True)
    rows = {k: sum(r["rows"][k] for r in reports) for k in ("read", "accepted", "quarantined")}
    assert rows["read"] == rows["accepted"] + rows["quarantined"], rows
    reasons: dict[str, int] = {}
    for r in reports:
        for why, n in r.get("reasons", {}).items():
            reasons[why] = reasons.get(why, 0) + n
    report = {
        "source": str(source), "suite": reports[0].get("suite"), "rows": rows, "files": len(reports),
        # each file's examples count as one, so the table shows those of the first files that failed
        "expectations": merge_tables([r["expectations"] for r in reports],
                                     [[[row["examples"]] if row["examples"] else [] for row in r["expectations"]]
                                      for r in reports])[0],
        "rejected": "; ".join(r["rejected"] for r in reports if r.get("rejected")) or None,
        "open_missing": sum(r.get("open_missing", 0) for r in reports),
        "zero_volume": sum(r.get("zero_volume", 0) for r in reports),
        "per_ticker": {t: v for r in reports for t, v in r.get("per_ticker", {}).items()},
        "reasons": reasons, "data_docs_per_file": [r["data_docs"] for r in reports if r.get("data_docs")],
    }
    report["tickers"] = len(report["per_ticker"])
    valid.to_parquet(out_dir / "valid.parquet", index=False)
    quarantine.to_parquet(out_dir / "quarantine.parquet", index=False)
    (out_dir / "validation.json").write_text(json.dumps(report, indent=2, default=str))
    return report


@cached_task(name="combine-validated")
def combine_validations_task(reports: list[dict], source: str, out_dir: str, cache_key: str) -> dict:
    with staging(out_dir) as tmp:
        report = combine_validations(reports, source, tmp)
    out = Path(out_dir)
    return {**report, "valid": str(out / "valid.parquet"), "quarantine": str(out / "quarantine.parquet")}
