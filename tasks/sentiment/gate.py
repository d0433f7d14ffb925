"""The sentiment gate's figures: the naive baseline and the champion re-scored on this run's test
split; the decision itself is tasks/shared/gate.py's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from prefect import task

from tasks.shared.config import GateConfig
from tasks.shared.gate import pick_baseline, publish_decision, run_gate

from .evaluate import METRIC_KEYS, classification_metrics
from .tokenize import split_texts


def majority_baseline(tokens: str) -> dict:
    """The naive baseline: always predict the training split's most frequent label."""
    df = pq.read_table(tokens, columns=["label", "split"]).to_pandas()
    df["split"] = df["split"].astype(str)
    majority = int(df.loc[df["split"] == "train", "label"].mode().iloc[0])
    y = df.loc[df["split"] == "test", "label"].to_numpy().astype(int)
    return classification_metrics(y, np.full(len(y), float(majority)))


def score_bundle(bundle: str | Path, valid: str, tokens: str) -> dict:
    """A published bundle (its own vocabulary and preprocessing) scored on this run's test split."""
    from lstm_models.predict import SentimentPredictor

    test = split_texts(valid, tokens)
    test = test[test["split"] == "test"]
    _, prob = SentimentPredictor.load(bundle).predict(test["text"].tolist())
    return classification_metrics(test["label"].to_numpy().astype(int), prob)


@task(name="gate-candidate")
def gate_sentiment_task(registry: str, version: str, metrics: dict, valid: str, tokens: str, gate: GateConfig,
                        force: bool = False) -> dict:
    """The candidate against the strongest baseline of the run (TF-IDF + LR unless the majority
    class does better; gate.baseline: naive compares with the majority class only) and the
    champion: a scheduled retraining does not promote a model that a bag of words beats."""
    naive, champion = majority_baseline(tokens), {}
    name, value = pick_baseline({"TF-IDF + LR": metrics["baseline"]["accuracy"], "majority-class": naive["accuracy"]},
                                "majority-class", gate.baseline, higher_is_better=True)

    def score(bundle):
        champion.update(score_bundle(bundle, valid, tokens))
        return champion["accuracy"], None, None

    d = run_gate(registry, "sentiment", version, metric="accuracy", higher_is_better=True, margin=gate.margin,
                 candidate_value=metrics["lstm"]["accuracy"], baseline=name, baseline_value=value,
                 score_champion=score, force=force, baseline_rule=gate.baseline)
    if d["champion_before"] == version:
        champion = metrics["lstm"]
    fmt = lambda m, k: f"{m[k]:.4f}" if k in m else "n/a"  # noqa: E731
    table = [{"metric": k, "lstm": fmt(metrics["lstm"], k), "tfidf_logreg": fmt(metrics["baseline"], k),
              "majority_class": fmt(naive, k), f"champion_{d['champion_before'] or 'none'}": fmt(champion, k)}
             for k in METRIC_KEYS]
    publish_decision("sentiment", d, table, "Test-split metrics: LSTM (candidate) vs TF-IDF + LR vs majority class "
                                             "vs the champion, all on the same rows")
    return d
