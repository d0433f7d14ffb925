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
from .train import load_classifier, load_split

METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def classification_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict:
    from sklearn import metrics as m

    y_pred = (prob >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "precision": float(m.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(m.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(m.f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(m.roc_auc_score(y_true, prob)) if both else float("nan"),
        "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        "n": int(len(y_true)),
    }


def evaluate_classifier(tokens: str, weights: str, vocab_size: int, model_cfg: ClassifierConfig) -> dict:
    test = load_split(tokens, "test")
    model = load_classifier(weights, vocab_size, model_cfg)
    prob = torch.sigmoid(predict(model, test, device=torch.device("cpu"))).numpy()
    return classification_metrics(test.y.numpy().astype(int), prob)


@cached_task(name="evaluate", stage="evaluate")
def evaluate_task(tokens: str, weights: str, training_summary: str, baseline: dict, vocab_size: int,
                  model: ClassifierConfig, out_dir: str, cache_key: str) -> dict:
    lstm = evaluate_classifier(tokens, weights, vocab_size, model)
    history = json.loads(Path(training_summary).read_text())["history"]
    with staging(out_dir) as tmp:
        plot_history(history, tmp / "loss_curves.png")
        plot_confusion({"LSTM": lstm["confusion_matrix"], "TF-IDF + LR": baseline["confusion_matrix"]}, tmp / "confusion_matrix.png")
        (tmp / "metrics.json").write_text(json.dumps({"lstm": lstm, "baseline": baseline}, indent=2))
    out = Path(out_dir)
    return {"lstm": lstm, "baseline": baseline,
            "plots": {"loss_curves": str(out / "loss_curves.png"), "confusion_matrix": str(out / "confusion_matrix.png")}}
