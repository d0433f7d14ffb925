"""What a sentiment training run reports, built from its stages' results in one place: the data
summary table, the version record the registry keeps, and the run summary (the CLI's JSON)."""
from __future__ import annotations

from tasks.shared.caching import StageRun
from tasks.shared.results import Trained, Validation

from .config import SentimentConfig
from .results import Evaluation, TokenizedReviews

METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def data_summary(validation: Validation, tokens: TokenizedReviews, cfg: SentimentConfig) -> dict:
    """The `sentiment-data-summary` table: what was read, kept, split and tokenized."""
    return {
        "rows read": validation.rows["read"], "rows accepted": validation.rows["accepted"],
        "rows quarantined": validation.rows["quarantined"], **{f"{k} rows": v for k, v in tokens.splits.items()},
        "duplicate reviews (kept in one split)": tokens.duplicate_reviews, "vocabulary size": tokens.vocab_size,
        "mean tokens a review": round(tokens.mean_length, 1),
        f"reviews truncated to {cfg.preprocess.seq_len}": tokens.truncated,
        "out-of-vocabulary share (train)": tokens.train_oov_rate}


def metrics_of(evaluation: Evaluation) -> dict:
    return {"lstm": evaluation.lstm, "baseline": evaluation.baseline}


def version_info(cfg: SentimentConfig, source: str, sha: str, stages: dict[str, StageRun], sizing: dict) -> dict:
    """The record the registry keeps with the version (version.json, lineage, model card)."""
    validation, tokens, train = stages["validate"].result, stages["tokenize"].result, stages["train"].result
    return {
        "name": cfg.name, "source": str(source), "source_sha256": sha, "rows": validation.rows, "splits": tokens.splits,
        "split_seed": cfg.split.seed, "duplicate_reviews": tokens.duplicate_reviews, "vocab_size": tokens.vocab_size,
        "config": cfg.model_dump(), "metrics": metrics_of(stages["evaluate"].result), "training": train.training,
        "settings": sizing, "code_version": {name: s.code for name, s in stages.items()},
    }


def run_summary(release: dict, stages: dict[str, StageRun], seconds: float) -> dict:
    """The run's summary (the flow's return value and the CLI's JSON): the registry's answer
    (flows.common.release_summary), test metrics beside the baseline's, rows, splits, cached stages."""
    validation, tokens, evaluation = stages["validate"].result, stages["tokenize"].result, stages["evaluate"].result
    train: Trained = stages["train"].result
    return {
        **release,
        "metrics": {k: evaluation.lstm[k] for k in METRIC_KEYS},
        "baseline": {k: evaluation.baseline[k] for k in METRIC_KEYS},
        "rows": validation.rows,
        "splits": tokens.splits,
        "quarantine": validation.quarantine,
        "cached": [name for name, s in stages.items() if s.cached],
        "device": train.device,
        "seconds": round(seconds, 2),
    }
