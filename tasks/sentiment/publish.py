"""Publish the sentiment bundle (safetensors + JSON + model card + plots) as a registry version."""
from __future__ import annotations

import json
from pathlib import Path

from prefect import task

from lstm_models.bundle import load_safetensors, write_bundle
from tasks.shared.artifacts import BUNDLE_FORMAT, bundle_name, fmt, publish_bundle_artifacts
from tasks.shared.config import DataDocsConfig
from tasks.shared.registry import register

from .evaluate import METRIC_KEYS, length_table


def metrics_rows(lstm: dict, baseline: dict) -> list[dict]:
    return [{"metric": k, "lstm": fmt(lstm[k]), "tfidf_logreg": fmt(baseline[k])} for k in METRIC_KEYS]


def model_card(info: dict) -> str:
    lstm, base = info["metrics"]["lstm"], info["metrics"]["baseline"]
    winner = "the LSTM" if lstm["accuracy"] > base["accuracy"] else "the TF-IDF + logistic-regression baseline"
    rows = "\n".join(f"| {r['metric']} | {r['lstm']} | {r['tfidf_logreg']} |" for r in metrics_rows(lstm, base))
    r = info["rows"]
    s = info["splits"]
    slices = "\n".join(f"| {r['tokens']} | {r['test texts']} | {fmt(r['lstm'])} | {fmt(r['tfidf_logreg'])} |"
                       for r in length_table(lstm, base))
    settings = "; ".join(f"{k} {v} ({why})" for k, (v, why) in info["settings"]["settings"].items())
    return f"""# Model card: {info['name']}

LSTM sentiment classifier (1 = positive, `__label__2`; 0 = negative, `__label__1`).

## Data
- Source: `{info['source']}`
- Content hash (sha256): `{info['source_sha256']}`
- Rows: read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']}
- Split (seeded hash of each review's tokens, duplicates kept together; seed {info['split_seed']}):
  train {s['train']}, validation {s['val']}, test {s['test']}; duplicate reviews: {info['duplicate_reviews']}
- Vocabulary: {info['vocab_size']} entries from the training split only (min count {info['config']['preprocess']['min_count']}); sequences capped at {info['config']['preprocess']['seq_len']} tokens{f" (the start and the last {tail(info)})" if tail(info) else ""}
- Retraining policy: the vocabulary is rebuilt from each run's training split (not frozen from the previous champion), so new words enter the model; profile.json summarises this data for drift reports

## Metrics on the held-out test split
| metric | LSTM | TF-IDF + LR |
|---|---|---|
{rows}

On this split, {winner} has the higher accuracy.

### Accuracy by text length (tokens)
| tokens | test texts | LSTM | TF-IDF + LR |
|---|---|---|---|
{slices}

## Training
- Device: {info['training']['device']}; best epoch {info['training']['best_epoch']} (validation loss {info['training']['best_val_loss']:.4f}); early stop: {info['training']['stopped_early']}
- Parameters: {info['training']['parameters']:,}
- Settings (config, or chosen from the training split: tasks/sentiment/sizing.py): {settings}

## Config
```json
{json.dumps(info['config'], indent=2)}
```

## Use
`lstm-pipeline sentiment predict --bundle <this folder> --input reviews.txt` (one text a line).
Weights are safetensors and everything else JSON: loading runs no code from the bundle.
"""


def tail(info: dict) -> int:
    """Tokens kept from the end of a long text (PreprocessConfig.tail, from the run's config)."""
    pre = info["config"]["preprocess"]
    return min(pre["tail_tokens"], pre["seq_len"] // 2)


def publish_sentiment(info: dict, weights: str, vocab: str, profile: str, plots: dict[str, str], bundles_dir: Path,
                      key: str) -> Path:
    config = {
        "kind": "sentiment", "format": BUNDLE_FORMAT, "model": info["config"]["model"],
        "vocab_size": info["vocab_size"], "seq_len": info["config"]["preprocess"]["seq_len"],
        "tail_tokens": tail(info),
        "labels": {"0": "negative (__label__1)", "1": "positive (__label__2)"}, "threshold": 0.5,
        "pipeline": info["config"],
    }
    lineage = {k: info[k] for k in ("source", "source_sha256", "rows", "splits", "split_seed", "duplicate_reviews",
                                    "code_version", "config", "metrics", "settings")}
    return write_bundle(
        bundles_dir / bundle_name("sentiment", key),
        load_safetensors(weights),
        {"config.json": config, "metrics.json": info["metrics"], "lineage.json": lineage},
        {"model_card.md": model_card(info)},
        {"vocab.json": Path(vocab), "profile.json": Path(profile), **{f"{name}.png": Path(p) for name, p in plots.items()}},
    )


@task(name="publish-bundle")
def publish_sentiment_task(info: dict, weights: str, vocab: str, profile: str, plots: dict, output: str, registry: str,
                           key: str, docs: DataDocsConfig = DataDocsConfig()) -> dict:
    published = register("sentiment", registry, key, lambda: publish_sentiment(
        info, weights, vocab, profile, plots, Path(output) / "bundles", key))
    publish_bundle_artifacts("sentiment", published, list(plots), docs)
    return published
