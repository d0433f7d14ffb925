"""Test-part errors in original units for the LSTM next to the baselines on the same windows,
pooled, per ticker and per step, with actual-vs-predicted plots."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lstm_models import forecast_metrics as fm
from lstm_models.forecaster import level_name, predict_windows
from lstm_models.scaling import forecast_scalers_from_dict
from tasks.shared.caching import cached_task, staging
from tasks.shared.plots import plot_history

from .baselines import BASELINES, baseline_forecasts
from .config import ForecastEvaluateConfig
from .prepare import load_windows
from .results import ForecastEvaluation
from .train import load_regressor


def naive_scales(series: pd.DataFrame) -> dict[str, float]:
    """MASE denominators: each ticker's one-step naive MAE on its training part."""
    train = series[series["split"] == "train"]
    return {str(t): fm.naive_scale(rows["value"].to_numpy(np.float64)) for t, rows in train.groupby("ticker")}


def back_transform(scaled: np.ndarray, w: dict, scalers, inputs: str) -> np.ndarray:
    """Model outputs [M, horizon] (or [M, horizon, levels] of a quantile model) in original units:
    relative inputs predict log volume relative to the window's level (back by expm1: a monotone
    map, so quantiles stay quantiles and the median the median), levels inputs a scaled target
    per ticker."""
    scaled = np.asarray(scaled, dtype=np.float64)
    if inputs == "relative":
        return np.expm1(scaled + w["level"].reshape((-1,) + (1,) * (scaled.ndim - 1)))
    if scaled.ndim == 3:
        return np.stack([back_transform(scaled[..., j], w, scalers, inputs) for j in range(scaled.shape[2])], 2)
    pred = np.empty(scaled.shape, dtype=np.float64)
    for ticker in np.unique(w["ticker"]):
        sel = w["ticker"] == ticker
        pred[sel] = scalers.inverse_target(scaled[sel], str(ticker))
    return pred


def quantile_parts(pred: np.ndarray, quantiles: list[float] | None) -> tuple[np.ndarray, dict | None]:
    """(point forecast [M, horizon], interval) of a model's outputs in original units: the median
    of a quantile model, with its outermost levels as the interval {lower, upper, level, levels};
    a point model's outputs as they are, and None."""
    if not quantiles:
        return pred, None
    return pred[..., quantiles.index(0.5)], {"lower": pred[..., 0], "upper": pred[..., -1],
                                             "level": round(quantiles[-1] - quantiles[0], 6),
                                             "levels": {level_name(q): pred[..., j] for j, q in enumerate(quantiles)
                                                        if q != 0.5}}


def best_baseline(metrics: dict) -> str:
    """The baseline with the lowest pooled test MASE: what the LSTM must beat."""
    return min(BASELINES, key=lambda b: metrics[b]["overall"]["mase"])


def evaluate_forecasts(w: dict, pred: np.ndarray, series: pd.DataFrame, horizon: int, offset: int, window: int,
                       interval: dict | None = None, baselines: tuple[dict, dict] | None = None) -> dict:
    """Test-part scores in original units of the LSTM and every baseline on the same windows,
    pooled and per ticker, overall and by forecast step, and which baseline is the strongest;
    with the LSTM's interval (quantile_parts), its test coverage and width as `intervals`.
    `baselines`: baseline_forecasts' answer for these windows, when already computed (several
    models scored against the same baselines)."""
    scales = naive_scales(series)
    baselines, chosen = baselines or baseline_forecasts(series, w, horizon, offset, window, scales)
    test = w["split"] == "test"
    tickers, actual = w["ticker"][test].astype(str), w["actual"][test]
    forecasts = {"lstm": pred[test], **{name: f[test] for name, f in baselines.items()}}
    metrics = {name: fm.scores_by_ticker(actual, f, tickers, scales) for name, f in forecasts.items()}
    metrics["by_step"] = {
        str(k + 1): {name: fm.scores_by_ticker(actual[:, k], f[:, k], tickers, scales)["overall"]
                     for name, f in forecasts.items()}
        for k in range(horizon)
    }
    metrics["best_baseline"] = best_baseline(metrics)
    metrics["baseline_settings"] = chosen
    metrics["test_windows"] = int(test.sum())
    metrics["moving_average_window"] = window
    if interval is not None:
        metrics["intervals"] = fm.interval_scores(actual, interval["lower"][test], interval["upper"][test], tickers,
                                                  scales, interval["level"])
    return metrics


def plot_ticker(series: pd.DataFrame, w: dict, pred: np.ndarray, ticker: str, offset: int, target: str, path: Path,
                interval: dict | None = None) -> None:
    """Actual vs predicted (first forecast step) over the whole series, with the part boundaries,
    as in the article's plot, and the prediction interval shaded."""
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
    if interval is not None:
        ax.fill_between(dates[target_rows], interval["lower"][sel][:, 0], interval["upper"][sel][:, 0], lw=0,
                        alpha=0.25, color="C1", label=f"{interval['level']:.0%} interval")
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


@cached_task(name="evaluate-forecast", stage="evaluate")
def evaluate_forecast_task(windows: str, series: str, scalers: str, weights: str, training_summary: str, target: str,
                           evaluate: ForecastEvaluateConfig, out_dir: str) -> ForecastEvaluation:
    training = json.loads(Path(training_summary).read_text())
    hparams = training["hparams"]
    w = load_windows(windows)
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    sc = forecast_scalers_from_dict(json.loads(Path(scalers).read_text()))
    scaled = predict_windows(load_regressor(weights, hparams), w["x"], w["future"])
    pred, interval = quantile_parts(back_transform(scaled, w, sc, meta.get("inputs", "levels")), hparams.get("quantiles"))
    ser = pd.read_parquet(series)
    metrics = evaluate_forecasts(w, pred, ser, meta["horizon"], meta["offset"], evaluate.moving_average_window, interval)
    plots = {}
    with staging(out_dir) as tmp:
        levels = {name: list(v) for name, v in interval["levels"].items()} if interval else {}
        pd.DataFrame({"ticker": w["ticker"], "split": w["split"], "anchor": w["anchor"], "date": w["date"],
                      "predicted": list(pred), **levels, "actual": list(w["actual"])}).to_parquet(
            tmp / "predictions.parquet", index=False)
        plot_history([{**h, "val_loss": h["val_loss"] if h["val_loss"] is not None else float("nan")}
                      for h in training["history"]], tmp / "loss_curves.png", ylabel="training loss (weighted)")
        plots["loss_curves"] = "loss_curves.png"
        for ticker in sorted(np.unique(w["ticker"]))[: evaluate.max_plots]:
            name = f"forecast_{ticker}"
            plot_ticker(ser, w, pred, str(ticker), meta["offset"], target, tmp / f"{name}.png", interval)
            plots[name] = f"{name}.png"
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
    out = Path(out_dir)
    return ForecastEvaluation(metrics=metrics, predictions=str(out / "predictions.parquet"),
                              plots={name: str(out / f) for name, f in plots.items()})
