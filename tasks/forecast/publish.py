"""Publish the forecast bundle (safetensors + scalers JSON + model card + plots) as a registry version."""
from __future__ import annotations

import json
from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact

from lstm_models.bundle import load_safetensors, write_bundle
from tasks.shared.artifacts import BUNDLE_FORMAT, bundle_name, fmt, publish_bundle_artifacts
from tasks.shared.config import DataDocsConfig
from tasks.shared.registry import register

from .baselines import LABELS

FORECAST_KEYS = ("mase", "smape", "rmse", "mae")
FORECAST_METHODS = {"lstm": "LSTM", **LABELS}


def forecast_rows(metrics: dict) -> list[dict]:
    """One row a method: pooled test-part errors (MASE < 1 beats the one-step naive forecast)."""
    return [{"method": label, **{k: fmt(metrics[m]["overall"][k]) for k in FORECAST_KEYS}}
            for m, label in FORECAST_METHODS.items()]


def forecast_ticker_rows(metrics: dict) -> list[dict]:
    return [{"ticker": t, **{f"{m}_mase": fmt(metrics[m]["per_ticker"][t]["mase"]) for m in FORECAST_METHODS},
             "lstm_smape": fmt(metrics["lstm"]["per_ticker"][t]["smape"]),
             "persistence_smape": fmt(metrics["persistence"]["per_ticker"][t]["smape"])}
            for t in sorted(metrics["lstm"]["per_ticker"])]


def forecast_verdict(metrics: dict) -> str:
    """Plain words on whether the LSTM is worth publishing: against the best baseline of the run,
    overall and at each step, and against persistence ticker by ticker."""
    lstm, best = metrics["lstm"], metrics["best_baseline"]
    tickers = sorted(lstm["per_ticker"])
    ratio = lstm["overall"]["mase"] / metrics[best]["overall"]["mase"]
    text = (f"Pooled over {len(tickers)} ticker(s), the LSTM's MASE is {ratio:.3f} x that of the best baseline "
            f"({LABELS[best]}): it {'beats' if ratio < 1 else 'does not beat'} it "
            f"({lstm['overall']['mase']:.3f} vs {metrics[best]['overall']['mase']:.3f}).")
    losing = [k for k, v in metrics["by_step"].items() if not v["lstm"]["mase"] < v[best]["mase"]]
    if losing:
        text += f" It does not beat {LABELS[best]} at step(s) {', '.join(losing)}."
    if len(tickers) > 1:
        pers = metrics["persistence"]["per_ticker"]
        beats = [t for t in tickers if lstm["per_ticker"][t]["mase"] < pers[t]["mase"]]
        text += f" It beats persistence on {len(beats)} of {len(tickers)} tickers ({len(beats) / len(tickers):.0%})."
    if ratio >= 1:
        text += " Nothing here says this model forecasts better than plain arithmetic: use the baseline."
    return text


def interval_text(i: dict | None) -> str:
    """The model card's words on the prediction interval (none for a point model)."""
    if not i:
        return ""
    steps = ", ".join(f"{c:.1%}" for c in i["coverage_by_step"])
    return (f"\n### {i['level']:.0%} prediction interval\n"
            f"The outer quantile outputs cover {i['coverage']:.1%} of the test values (by step: {steps}); "
            f"mean width {i['scaled_width']:.2f} x the naive MAE, median width {i['relative_width']:.0%} of the actual "
            "value. `forecast predict` prints them beside the median forecast.\n")


def forecast_model_card(info: dict) -> str:
    m, p, r = info["metrics"], info["config"]["prepare"], info["rows"]
    table = "\n".join(f"| {row['method']} | {row['mase']} | {row['smape']} | {row['rmse']} | {row['mae']} |"
                      for row in forecast_rows(m))
    steps = "\n".join(f"| {k} | " + " | ".join(f"{v[name]['mase']:.3f}" for name in FORECAST_METHODS) + " |"
                      for k, v in m["by_step"].items())
    mode = ("same-day mode: it predicts day t's target from day t's own prices, which are not known "
            "before the day ends, so it **explains rather than forecasts**" if p["offset"] == 0 else
            f"a forecast: the targets of the next {p['horizon']} trading day(s) from the {p['lookback']} days up to today")
    w, t, mc = info["windows"], info["training"], info["config"]["model"]
    levels = mc.get("quantiles") or []
    net = (f"{'Conv1d ' + str(mc['conv_channels']) + ' -> ' if mc['conv_channels'] else ''}{mc['cell'].upper()} "
           f"{mc['hidden_size']} x {mc['num_layers']} -> FC {mc['fc_size']} -> FC {p['horizon']}"
           f"{' x ' + str(len(levels)) + ' quantiles (' + ', '.join(f'{q:.0%}' for q in levels) + ')' if levels else ''}"
           f"{'; ' + str(mc['members']) + ' such models from other seeds, averaged' if mc.get('members', 1) > 1 else ''}")
    if p["inputs"] == "relative":
        inputs = ("daily log returns, gap, range, open-to-close move, log |return|, change of log volume"
                  f"{', calendar' if p['calendar'] else ''} and log volume relative to the mean of the last 20 days "
                  "(scale free: any ticker, any era); the target is log volume relative to that level, "
                  "back-transformed by the median (expm1)")
        scaling = "inputs standardised with one mean and deviation over all tickers' training rows"
    else:
        inputs = ", ".join(p["features"])
        scaling = (f"scalers ({p['feature_scaler']} features, {p['target_scaler']} target"
                   f"{', log1p volume' if p['log_volume'] else ''}, {'per ticker' if p['per_ticker_scalers'] else 'shared'})"
                   " fitted on the training rows only")
    start = (f"\n- Started from `{t['init_from']}` ({'fine-tuned' if t['fine_tuned'] else 'used as it is'})"
             if t.get("init_from") else "")
    return f"""# Model card: {info['name']}

Regressor ({net}) predicting `{p['target']}` from {inputs}; {mode}.

## Data
- Source: `{info['source']}` (content hash `{info['source_sha256']}`)
- Tickers: {', '.join(info['tickers'][:40])}{' ...' if len(info['tickers']) > 40 else ''}
- Rows: read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']} (Open = 0 is filled, not quarantined)
- Split per ticker, in time order: windows train {w['train']}, validation {w['val']}, test {w['test']};
  {scaling}.{start}
- Retraining policy: scalers are refit on each run's training rows (not frozen from the previous champion);
  profile.json summarises returns and volume of this data for drift reports.

## Test-part errors in original units (pooled over tickers and the {p['horizon']} step(s))
| method | MASE | sMAPE % | RMSE | MAE |
|---|---|---|---|---|
{table}

MASE divides by each ticker's one-step naive MAE on its training part (below 1 beats it); RMSE
and MAE pooled over tickers mix scales, read them per ticker in metrics.json.
{forecast_verdict(m)}

### MASE by forecast step
| step | {' | '.join(FORECAST_METHODS.values())} |
|---|{'---|' * len(FORECAST_METHODS)}
{steps}

Moving average over {m['moving_average_window']} days; exponential smoothing constant
{m['baseline_settings']['exp_smoothing_alpha']}, ridge penalty {m['baseline_settings']['ridge_alpha']} and LightGBM trees per step
{', '.join(str(n) for n in m['baseline_settings'].get('gbm_trees', []))}, all chosen on the
{'validation' if m['baseline_settings']['chosen_on'] == 'val' else 'training'} part. The baselines are not part of
this bundle: it holds the LSTM alone.

{interval_text(m.get("intervals"))}
## Training
- Device: {t['device']}; best epoch {t['best_epoch']}; validation loss {t['best_val_loss'] if t['best_val_loss'] is None else round(t['best_val_loss'], 5)}; early stop: {t['stopped_early']}
- Parameters: {t['parameters']:,}; batch size {t.get('batch_size')}; samples seen {t.get('samples_seen', 0):,}
- Weights: {f"a moving average of the trained weights (decay {t['weight_average_decay']:.5f} a step)" if t.get('weight_average_decay') else 'as trained'}

## Config
```json
{json.dumps(info['config'], indent=2)}
```

## Use
`lstm-pipeline forecast predict --bundle <this folder> --data PRICES.csv` prints the next
{p['horizon']} values with their dates as JSON lines. Weights are safetensors, scalers JSON.
"""


def publish_forecast(info: dict, weights: str, scalers: str, profile: str, plots: dict[str, str], bundles_dir: Path,
                     key: str) -> Path:
    p = info["config"]["prepare"]
    config = {
        "kind": "forecast", "format": BUNDLE_FORMAT, "model": info["training"]["hparams"],
        "features": p["features"], "target": p["target"], "lookback": p["lookback"], "horizon": p["horizon"],
        "offset": p["offset"], "log_volume": p["log_volume"], "tickers": info["tickers"],
        "inputs": p["inputs"], "calendar": p["calendar"],
        "open_fill": info["config"]["validation"]["open_fill"], "pipeline": info["config"],
    }
    lineage = {k: info[k] for k in ("source", "source_sha256", "rows", "windows", "boundaries", "code_version",
                                    "config", "metrics")}
    return write_bundle(
        bundles_dir / bundle_name("forecast", key),
        load_safetensors(weights),
        {"config.json": config, "metrics.json": info["metrics"], "lineage.json": lineage},
        {"model_card.md": forecast_model_card(info)},
        {"scalers.json": Path(scalers), "profile.json": Path(profile),
         **{f"{name}.png": Path(path) for name, path in plots.items()}},
    )


@task(name="publish-bundle")
def publish_forecast_task(info: dict, weights: str, scalers: str, profile: str, plots: dict, output: str, registry: str,
                          key: str, docs: DataDocsConfig = DataDocsConfig()) -> dict:
    published = register("forecast", registry, key, lambda: publish_forecast(
        info, weights, scalers, profile, plots, Path(output) / "bundles", key))
    create_table_artifact(key="forecast-metrics-per-ticker", table=forecast_ticker_rows(info["metrics"]),
                          description="Test-part MASE and sMAPE per ticker")
    publish_bundle_artifacts("forecast", published, list(plots)[:10], docs)  # the rest are in the bundle
    return published
