"""Held-out test metrics for the LSTM next to the TF-IDF + logistic-regression baseline on the
identical split, plus the plots (loss curves, confusion matrices)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lstm_models.training import predict
from tasks.shared.caching import cached_task, staging
from tasks.shared.plots import plot_confusion, plot_history

from .config import ClassifierConfig
from .results import Evaluation
from .train import load_classifier, load_split

METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "roc_auc")
LENGTH_EDGES = (10, 25, 50, 100)  # tokens: one-line sentences, short reviews, ..., long reviews


def length_slices(lengths: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> list[dict]:
    """Accuracy by text length in tokens (after the seq_len cap): fixed buckets, so runs on
    different data compare; empty buckets are left out."""
    lengths = np.asarray(lengths)
    bucket = np.searchsorted(LENGTH_EDGES, lengths, side="left")  # 0: <= 10, ..., 4: > 100
    names = [f"1-{LENGTH_EDGES[0]}"] + [f"{a + 1}-{b}" for a, b in zip(LENGTH_EDGES, LENGTH_EDGES[1:])] \
        + [f"{LENGTH_EDGES[-1] + 1}+"]
    return [{"tokens": name, "n": int((bucket == i).sum()),
             "accuracy": float((y_true[bucket == i] == y_pred[bucket == i]).mean())}
            for i, name in enumerate(names) if (bucket == i).any()]


def length_table(lstm: dict, baseline: dict) -> list[dict]:
    """One row per length bucket: test reviews, LSTM accuracy, TF-IDF + LR accuracy."""
    base = {r["tokens"]: r["accuracy"] for r in baseline.get("by_length", [])}
    return [{"tokens": r["tokens"], "test texts": r["n"], "lstm": round(r["accuracy"], 4),
             "tfidf_logreg": round(base[r["tokens"]], 4) if r["tokens"] in base else None}
            for r in lstm.get("by_length", [])]


def publish_length_slices(lstm: dict, baseline: dict) -> None:
    from prefect.artifacts import create_table_artifact

    create_table_artifact(key="sentiment-length-slices", table=length_table(lstm, baseline),
                          description="Test accuracy by text length in tokens: LSTM and TF-IDF + LR")


def classification_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5,
                           lengths: np.ndarray | None = None) -> dict:
    from sklearn import metrics as m

    y_pred = (prob >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    by_length = {} if lengths is None else {"by_length": length_slices(lengths, y_true, y_pred)}
    return {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "precision": float(m.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(m.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(m.f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(m.roc_auc_score(y_true, prob)) if both else float("nan"),
        "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        "n": int(len(y_true)),
        **by_length,
    }


def evaluate_classifier(tokens: str, weights: str, vocab_size: int, model_cfg: ClassifierConfig) -> dict:
    test = load_split(tokens, "test")
    model = load_classifier(weights, vocab_size, model_cfg)
    prob = torch.sigmoid(predict(model, test, device=torch.device("cpu"))).numpy()
    return classification_metrics(test.y.numpy().astype(int), prob, lengths=test.lengths.numpy())


@cached_task(name="evaluate", stage="evaluate")
def evaluate_task(tokens: str, weights: str, training_summary: str, baseline: dict, vocab_size: int,
                  model: ClassifierConfig, out_dir: str) -> Evaluation:
    lstm = evaluate_classifier(tokens, weights, vocab_size, model)
    history = json.loads(Path(training_summary).read_text())["history"]
    with staging(out_dir) as tmp:
        plot_history(history, tmp / "loss_curves.png")
        plot_confusion({"LSTM": lstm["confusion_matrix"], "TF-IDF + LR": baseline["confusion_matrix"]}, tmp / "confusion_matrix.png")
        (tmp / "metrics.json").write_text(json.dumps({"lstm": lstm, "baseline": baseline}, indent=2))
    out = Path(out_dir)
    return Evaluation(lstm=lstm, baseline=baseline,
                      plots={"loss_curves": str(out / "loss_curves.png"), "confusion_matrix": str(out / "confusion_matrix.png")})
