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


def publish_sentiment(info: dict, weights: str, vocab: str, plots: dict[str, str], bundles_dir: Path, key: str) -> Path:
    config = {
        "kind": "sentiment", "format": BUNDLE_FORMAT, "model": info["config"]["model"],
        "vocab_size": info["vocab_size"], "seq_len": info["config"]["preprocess"]["seq_len"],
        "labels": {"0": "negative (__label__1)", "1": "positive (__label__2)"}, "threshold": 0.5,
        "pipeline": info["config"],
    }
    lineage = {k: info[k] for k in ("source", "source_sha256", "rows", "splits", "split_seed", "duplicate_reviews", "code_version")}
    return write_bundle(
        bundles_dir / bundle_name("sentiment", key),
        load_safetensors(weights),
        {"config.json": config, "metrics.json": info["metrics"], "lineage.json": lineage},
        {"model_card.md": model_card(info)},
        {"vocab.json": Path(vocab), **{f"{name}.png": Path(p) for name, p in plots.items()}},
    )


@task(name="publish-bundle")
def publish_sentiment_task(info: dict, weights: str, vocab: str, plots: dict, output: str, key: str) -> str:
    bundle = publish_sentiment(info, weights, vocab, plots, Path(output) / "bundles", key)
    lstm, base = info["metrics"]["lstm"], info["metrics"]["baseline"]
    create_table_artifact(key="sentiment-metrics", table=metrics_rows(lstm, base),
                          description="Test-split metrics: LSTM vs TF-IDF + logistic regression")
    create_markdown_artifact(key="sentiment-model-card", markdown=(bundle / "model_card.md").read_text(),
                             description="Model card of the published bundle")
    create_link_artifact(key="sentiment-bundle", link=bundle.resolve().as_uri(), link_text=bundle.name,
                         description="Published bundle folder")
    for name in plots:
        create_link_artifact(key=f"sentiment-{name.replace('_', '-')}", link=(bundle / f"{name}.png").resolve().as_uri(),
                             link_text=f"{name}.png", description=f"Plot: {name.replace('_', ' ')}")
    return str(bundle)


def publish_validation_table(kind: str, report: dict) -> None:
    rows = report["rows"]
    create_table_artifact(
        key=f"{kind}-validation", table=report["expectations"],
        description=(f"GX validation of {report['source']}: read {rows['read']}, accepted {rows['accepted']}, "
                     f"quarantined {rows['quarantined']}"),
    )
