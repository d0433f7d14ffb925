"""Publish the forecast bundle (safetensors + scalers JSON + model card + plots) as a registry version."""
from __future__ import annotations

import json
from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact

from lstm_models.bundle import load_safetensors, write_bundle
from tasks.shared.artifacts import BUNDLE_FORMAT, bundle_name, fmt, publish_bundle_artifacts
from tasks.shared.registry import register

FORECAST_KEYS = ("mase", "smape", "rmse", "mae")
FORECAST_METHODS = {"lstm": "LSTM", "persistence": "persistence", "moving_average": "moving average"}


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
    lstm, pers = metrics["lstm"], metrics["persistence"]
    tickers = sorted(lstm["per_ticker"])
    worse = [t for t in tickers if not lstm["per_ticker"][t]["mase"] < pers["per_ticker"][t]["mase"]]
    overall = ("beats" if lstm["overall"]["mase"] < pers["overall"]["mase"] else "does not beat")
    text = (f"Pooled over {len(tickers)} ticker(s), the LSTM {overall} persistence on MASE "
            f"({lstm['overall']['mase']:.3f} vs {pers['overall']['mase']:.3f}).")
    if worse and len(tickers) > 1:
        text += f" It does not beat persistence for {len(worse)} of {len(tickers)} tickers: {', '.join(worse)}."
    return text


def forecast_model_card(info: dict) -> str:
    m, p, r = info["metrics"], info["config"]["prepare"], info["rows"]
    table = "\n".join(f"| {row['method']} | {row['mase']} | {row['smape']} | {row['rmse']} | {row['mae']} |"
                      for row in forecast_rows(m))
    steps = "\n".join(f"| {k} | {v['lstm']['mase']:.3f} | {v['persistence']['mase']:.3f} | "
                      f"{v['moving_average']['mase']:.3f} |" for k, v in m["by_step"].items())
    mode = ("same-day mode: it predicts day t's target from day t's own prices, which are not known "
            "before the day ends, so it **explains rather than forecasts**" if p["offset"] == 0 else
            f"a forecast: the targets of the next {p['horizon']} trading day(s) from the {p['lookback']} days up to today")
    w, t = info["windows"], info["training"]
    return f"""# Model card: {info['name']}

LSTM regressor (LSTM -> ReLU -> FC {info['config']['model']['fc_size']} -> ReLU -> FC {p['horizon']}) predicting
`{p['target']}` from {', '.join(p['features'])}; {mode}.

## Data
- Source: `{info['source']}` (content hash `{info['source_sha256']}`)
- Tickers: {', '.join(info['tickers'][:40])}{' ...' if len(info['tickers']) > 40 else ''}
- Rows: read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']} (Open = 0 is filled, not quarantined)
- Split per ticker, in time order: windows train {w['train']}, validation {w['val']}, test {w['test']};
  scalers ({p['feature_scaler']} features, {p['target_scaler']} target{', log1p volume' if p['log_volume'] else ''},
  {'per ticker' if p['per_ticker_scalers'] else 'shared'}) fitted on the training rows only.
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
| step | LSTM | persistence | moving average ({m['moving_average_window']} days) |
|---|---|---|---|
{steps}

## Training
- Device: {t['device']}; best epoch {t['best_epoch']}; validation loss {t['best_val_loss'] if t['best_val_loss'] is None else round(t['best_val_loss'], 5)}; early stop: {t['stopped_early']}
- Parameters: {t['parameters']:,}

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
                          key: str) -> dict:
    published = register("forecast", registry, key, lambda: publish_forecast(
        info, weights, scalers, profile, plots, Path(output) / "bundles", key))
    create_table_artifact(key="forecast-metrics-per-ticker", table=forecast_ticker_rows(info["metrics"]),
                          description="Test-part MASE and sMAPE per ticker")
    publish_bundle_artifacts("forecast", Path(published["bundle"]), list(plots)[:10])  # the rest are in the bundle
    return published
