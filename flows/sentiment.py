"""Sentiment flow: reviews -> validated rows -> token ids -> LSTM -> evaluation -> bundle.

Each expensive stage is a cached task keyed on content, so an unchanged re-run is all cache
hits, and editing the data or a tokenization parameter re-runs only what depends on it.
"""
from __future__ import annotations

import time

from prefect import flow, task
from prefect.logging import get_run_logger

import lstm_models.classifier
import lstm_models.data
import lstm_models.text
import lstm_models.training
import tasks.drift
import tasks.evaluate
import tasks.monitor
import tasks.reviews
import tasks.tokenize
import tasks.train
import tasks.validate
from tasks.caching import code_version, file_sha256, run_cached
from tasks.fetch import fetch_input, is_url
from tasks.errors import DataError
from tasks.evaluate import evaluate_task, train_baseline_task
from tasks.gate import gate_sentiment_task
from tasks.monitor import profile_reviews_task, publish_drift, review_drift_task
from tasks.registry import current_champion
from tasks.publish import publish_data_summary, publish_sentiment_task, publish_validation_table
from tasks.reviews import check_input_file, ingest_reviews, validate_reviews_task
from tasks.tokenize import tokenize_reviews_task
from tasks.train import train_classifier_task

from .config import SentimentConfig

DEFAULT_DATA = "data/amazon_polarity_head6459.ft.txt.bz2"

CODE = {
    "ingest": code_version(tasks.reviews),
    "validate": code_version(tasks.reviews, tasks.validate),
    "tokenize": code_version(tasks.tokenize, lstm_models.text),
    "train": code_version(tasks.train, lstm_models.classifier, lstm_models.data, lstm_models.training),
    "baseline": code_version(tasks.evaluate),
    "evaluate": code_version(tasks.evaluate, tasks.train),
    "profile": code_version(tasks.drift, tasks.monitor, lstm_models.text),
}


def run_inputs(data: str, output: str, registry: str | None) -> tuple[str, str]:
    """(local input, registry root) of a training run: a URL is downloaded once (retried with
    backoff) and kept as the raw input of record; the registry defaults to <output>/registry."""
    return (fetch_input(data, output) if is_url(data) else data), registry or f"{output}/registry"


def release_summary(published: dict, registry: str, decision: dict, drift: dict, champion: str | None) -> dict:
    """The registry's answer for the run summary (the CLI's JSON): version, gate, drift."""
    return {
        "bundle": published["bundle"], "version": published["version"], "registry": registry,
        "promoted": decision["promoted"], "champion": decision["champion_after"], "gate": decision["reasons"],
        "drift": {"flagged": drift["flagged"], "checks": drift.get("flagged_checks", []), "against": champion},
    }


def release_line(summary: dict) -> str:
    return (f"{summary['version']} {'promoted' if summary['promoted'] else 'not promoted'}; champion: "
            f"{summary['champion']} ({'; '.join(summary['gate'])})")


@task(name="hash-input")
def hash_input(path: str) -> str:
    """Content hash of the input (streamed): the root of every cache key."""
    return file_sha256(check_input_file(path))


@task(name="accept-batch")
def accept_batch(report: dict, source: str) -> None:
    """Stop before training when the batch as a whole is unusable."""
    if report["rejected"]:
        raise DataError(source, "batch rejected", f"{report['rejected']}; quarantined rows are in {report['quarantine']}")


@flow(name="sentiment-training")
def sentiment_training(
    data: str = DEFAULT_DATA, config: SentimentConfig = SentimentConfig(), output: str = "outputs/sentiment",
    registry: str | None = None, force: bool = False,
) -> dict:
    """registry: model registry root, a folder or fsspec URL (default `<output>/registry`);
    force: promote the candidate to champion even when the gate says no."""
    log = get_run_logger()
    data, registry = run_inputs(data, output, registry)
    t0 = time.perf_counter()
    cfg = config
    sha = hash_input(data)

    ingest = run_cached(ingest_reviews, output, "ingest",
                        {"sha": sha, "cfg": cfg.ingest.model_dump(), "code": CODE["ingest"]},
                        source=data, source_sha256=sha, ingest=cfg.ingest.model_dump())
    validate = run_cached(validate_reviews_task, output, "validate",
                          {"up": ingest.key, "cfg": cfg.validation.model_dump(), "code": CODE["validate"]},
                          raw=ingest.result["raw"], label_map=ingest.result["label_map"], source=data,
                          validation=cfg.validation.model_dump())
    report = validate.result
    publish_validation_table("sentiment", report)
    log.info("rows read %(read)d = accepted %(accepted)d + quarantined %(quarantined)d", report["rows"])
    accept_batch(report, data)

    tokens = run_cached(tokenize_reviews_task, output, "tokenize",
                        {"up": validate.key, "pre": cfg.preprocess.model_dump(exclude={"workers", "shard_rows"}),
                         "split": cfg.split.model_dump(), "code": CODE["tokenize"]},
                        valid=report["valid"], preprocess=cfg.preprocess.model_dump(), split=cfg.split.model_dump())
    tok = tokens.result
    if not tokens.cached:
        log.info("tokenized %d of %d shards (the rest reused from earlier runs)", tok["shards_tokenized"], tok["shards"])
    publish_data_summary("sentiment", {
        "rows read": report["rows"]["read"], "rows accepted": report["rows"]["accepted"],
        "rows quarantined": report["rows"]["quarantined"], **{f"{k} rows": v for k, v in tok["splits"].items()},
        "duplicate reviews (kept in one split)": tok["duplicate_reviews"], "vocabulary size": tok["vocab_size"],
        "mean tokens a review": round(tok["mean_length"], 1), f"reviews truncated to {cfg.preprocess.seq_len}": tok["truncated"],
        "out-of-vocabulary share (train)": tok["train_oov_rate"]})
    profile = run_cached(profile_reviews_task, output, "profile", {"up": tokens.key, "code": CODE["profile"]},
                         valid=report["valid"], tokens=tok["tokens"], vocab=tok["vocab"])
    champion, champion_bundle = current_champion(registry, "sentiment")
    drift = run_cached(review_drift_task, output, "drift", {"up": tokens.key, "champion": champion, "code": CODE["profile"]},
                       valid=report["valid"], tokens=tok["tokens"], champion_bundle=champion_bundle)
    publish_drift("sentiment", drift.result, champion)
    train = run_cached(train_classifier_task, output, "train",
                       {"up": tokens.key, "model": cfg.model.model_dump(), "train": cfg.train.model_dump(), "code": CODE["train"]},
                       tokens=tok["tokens"], vocab_size=tok["vocab_size"], model=cfg.model.model_dump(), train=cfg.train.model_dump())
    baseline = run_cached(train_baseline_task, output, "baseline",
                          {"up": tokens.key, "cfg": cfg.baseline.model_dump(), "code": CODE["baseline"]},
                          valid=report["valid"], tokens=tok["tokens"], baseline=cfg.baseline.model_dump())
    evaluation = run_cached(evaluate_task, output, "evaluate",
                            {"train": train.key, "baseline": baseline.key, "code": CODE["evaluate"]},
                            tokens=tok["tokens"], weights=train.result["weights"], training_summary=train.result["summary"],
                            baseline=baseline.result, vocab_size=tok["vocab_size"], model=cfg.model.model_dump())
    metrics = {"lstm": evaluation.result["lstm"], "baseline": evaluation.result["baseline"]}

    info = {
        "name": cfg.name, "source": str(data), "source_sha256": sha, "rows": report["rows"], "splits": tok["splits"],
        "split_seed": cfg.split.seed, "duplicate_reviews": tok["duplicate_reviews"], "vocab_size": tok["vocab_size"],
        "config": cfg.model_dump(), "metrics": metrics, "training": train.result, "code_version": CODE,
    }
    published = publish_sentiment_task(info, train.result["weights"], tok["vocab"], profile.result,
                                       evaluation.result["plots"], output, registry, train.key)
    decision = gate_sentiment_task(registry, published["version"], metrics, report["valid"], tok["tokens"],
                                   cfg.gate.margin, force)
    stages = {"ingest": ingest, "validate": validate, "tokenize": tokens, "profile": profile, "train": train, "baseline": baseline, "evaluate": evaluation}
    summary = {
        **release_summary(published, registry, decision, drift.result, champion),
        "metrics": {k: metrics["lstm"][k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")},
        "baseline": {k: metrics["baseline"][k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")},
        "rows": report["rows"],
        "splits": tok["splits"],
        "quarantine": report["quarantine"],
        "cached": [name for name, s in stages.items() if s.cached],
        "device": train.result["device"],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    log.info("LSTM test accuracy %.4f, TF-IDF + LR %.4f; cached stages: %s", summary["metrics"]["accuracy"],
             summary["baseline"]["accuracy"], ", ".join(summary["cached"]) or "none")
    log.info(release_line(summary))
    return summary
