"""Publish a bundle (safetensors + JSON + model card + plots) and tell the run's story in the
Prefect UI (validation table, metrics table, model card, links to plots and bundle)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from lstm_models.bundle import load_safetensors, write_bundle

from .evaluate import METRIC_KEYS
from .registry import Registry

BUNDLE_FORMAT = 1


def bundle_name(kind: str, key: str) -> str:
    return f"{kind}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}-{key[:8]}"


def fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def metrics_rows(lstm: dict, baseline: dict) -> list[dict]:
    return [{"metric": k, "lstm": fmt(lstm[k]), "tfidf_logreg": fmt(baseline[k])} for k in METRIC_KEYS]


def model_card(info: dict) -> str:
    lstm, base = info["metrics"]["lstm"], info["metrics"]["baseline"]
    winner = "the LSTM" if lstm["accuracy"] > base["accuracy"] else "the TF-IDF + logistic-regression baseline"
    rows = "\n".join(f"| {r['metric']} | {r['lstm']} | {r['tfidf_logreg']} |" for r in metrics_rows(lstm, base))
    r = info["rows"]
    s = info["splits"]
    return f"""# Model card: {info['name']}

LSTM sentiment classifier (1 = positive, `__label__2`; 0 = negative, `__label__1`).

## Data
- Source: `{info['source']}`
- Content hash (sha256): `{info['source_sha256']}`
- Rows: read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']}
- Split (seeded hash of each review's tokens, duplicates kept together; seed {info['split_seed']}):
  train {s['train']}, validation {s['val']}, test {s['test']}; duplicate reviews: {info['duplicate_reviews']}
- Vocabulary: {info['vocab_size']} entries from the training split only (min count {info['config']['preprocess']['min_count']}); sequences capped at {info['config']['preprocess']['seq_len']} tokens
- Retraining policy: the vocabulary is rebuilt from each run's training split (not frozen from the previous champion), so new words enter the model; profile.json summarises this data for drift reports

## Metrics on the held-out test split
| metric | LSTM | TF-IDF + LR |
|---|---|---|
{rows}

On this split, {winner} has the higher accuracy.

## Training
- Device: {info['training']['device']}; best epoch {info['training']['best_epoch']} (validation loss {info['training']['best_val_loss']:.4f}); early stop: {info['training']['stopped_early']}
- Parameters: {info['training']['parameters']:,}

## Config
```json
{json.dumps(info['config'], indent=2)}
```

## Use
`lstm-pipeline sentiment predict --bundle <this folder> --input reviews.txt` (one text a line).
Weights are safetensors and everything else JSON: loading runs no code from the bundle.
"""


def publish_sentiment(info: dict, weights: str, vocab: str, profile: str, plots: dict[str, str], bundles_dir: Path,
                      key: str) -> Path:
    config = {
        "kind": "sentiment", "format": BUNDLE_FORMAT, "model": info["config"]["model"],
        "vocab_size": info["vocab_size"], "seq_len": info["config"]["preprocess"]["seq_len"],
        "labels": {"0": "negative (__label__1)", "1": "positive (__label__2)"}, "threshold": 0.5,
        "pipeline": info["config"],
    }
    lineage = {k: info[k] for k in ("source", "source_sha256", "rows", "splits", "split_seed", "duplicate_reviews",
                                    "code_version", "config", "metrics")}
    return write_bundle(
        bundles_dir / bundle_name("sentiment", key),
        load_safetensors(weights),
        {"config.json": config, "metrics.json": info["metrics"], "lineage.json": lineage},
        {"model_card.md": model_card(info)},
        {"vocab.json": Path(vocab), "profile.json": Path(profile), **{f"{name}.png": Path(p) for name, p in plots.items()}},
    )


def register(kind: str, registry: str, key: str, write_local_bundle) -> dict:
    """The registry version of this training key: the existing one when the same data, config
    and code were published before (an unchanged re-run adds no version), else a new one
    copied from the bundle write_local_bundle() writes."""
    reg = Registry(registry)
    version, new = reg.find_key(kind, key), False
    if version is None:
        version, new = reg.publish(kind, write_local_bundle(), key), True
    return {"version": version, "bundle": str(reg.local_path(kind, version)), "uri": reg.uri(kind, version),
            "new": new}


@task(name="publish-bundle")
def publish_sentiment_task(info: dict, weights: str, vocab: str, profile: str, plots: dict, output: str, registry: str,
                           key: str) -> dict:
    published = register("sentiment", registry, key, lambda: publish_sentiment(
        info, weights, vocab, profile, plots, Path(output) / "bundles", key))
    publish_bundle_artifacts("sentiment", Path(published["bundle"]), list(plots))
    return published


def publish_bundle_artifacts(kind: str, bundle: Path, plots: list[str]) -> None:
    """The model card, a link to the bundle and links to its plots, for the run's artifacts tab."""
    create_markdown_artifact(key=f"{kind}-model-card", markdown=(bundle / "model_card.md").read_text(),
                             description="Model card of the published bundle")
    create_link_artifact(key=f"{kind}-bundle", link=bundle.resolve().as_uri(), link_text=bundle.name,
                         description="Published bundle folder")
    for name in plots:
        create_link_artifact(key=f"{kind}-{name.replace('_', '-').lower()}", link=(bundle / f"{name}.png").resolve().as_uri(),
                             link_text=f"{name}.png", description=f"Plot: {name.replace('_', ' ')}")


VALIDATION_COLUMNS = ("expectation", "column", "rule", "success", "unexpected_count", "examples")


def publish_validation_table(kind: str, report: dict) -> None:
    """One row per expectation (what it checks, whether it held, how many rows failed it, a few
    failing values) and, when the stage built them, a link to the GX Data Docs."""
    rows = report["rows"]
    suite = (report.get("suite") or {}).get("version", "suite")
    table = [{c: e.get(c, "") for c in VALIDATION_COLUMNS} for e in report["expectations"]]
    create_table_artifact(
        key=f"{kind}-validation", table=table,
        description=(f"GX validation ({suite}) of {report['source']}: read {rows['read']}, accepted {rows['accepted']}, "
                     f"quarantined {rows['quarantined']}"),
    )
    if report.get("data_docs"):
        create_link_artifact(key=f"{kind}-data-docs", link=Path(report["data_docs"]).resolve().as_uri(),
                             link_text=f"GX Data Docs ({suite})",
                             description=f"Great Expectations Data Docs of this validation ({report.get('data_docs_scope', 'all rows')})")


# -- forecast -----------------------------------------------------------------------------------

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


def publish_data_summary(kind: str, items: dict) -> None:
    """What the model learns from, at a glance (rows, splits, vocabulary or windows)."""
    create_table_artifact(key=f"{kind}-data-summary", table=[{"item": k, "value": fmt(v)} for k, v in items.items()],
                          description=f"{kind} data: rows, splits and what training sees")
