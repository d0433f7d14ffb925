"""Held-out test metrics for the LSTM and a TF-IDF + logistic-regression baseline on the
identical split, side by side, plus the plots (loss curves, confusion matrices)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from lstm_models.training import predict

from .caching import cached_task, staging
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


def split_texts(valid: str, tokens: str) -> pd.DataFrame:
    """Text, label and split of every accepted row (the split decided in tokenization)."""
    texts = pd.read_parquet(valid, columns=["row", "text"])
    splits = pq.read_table(tokens, columns=["row", "label", "split"]).to_pandas()
    splits["split"] = splits["split"].astype(str)
    return splits.merge(texts, on="row", how="left", validate="one_to_one")


def train_baseline(valid: str, tokens: str, baseline: dict) -> dict:
    """TF-IDF (word 1..n-grams) + logistic regression, fit on train, scored on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    df = split_texts(valid, tokens)
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    pipe = make_pipeline(
        TfidfVectorizer(max_features=baseline["max_features"], ngram_range=(1, baseline["ngram_max"]),
                        sublinear_tf=True, min_df=2),
        LogisticRegression(C=baseline["C"], max_iter=2000),
    )
    pipe.fit(train["text"], train["label"])
    prob = pipe.predict_proba(test["text"])[:, 1]
    return classification_metrics(test["label"].to_numpy(), prob)


@cached_task(name="train-baseline")
def train_baseline_task(valid: str, tokens: str, baseline: dict, out_dir: str, cache_key: str) -> dict:
    metrics = train_baseline(valid, tokens, baseline)
    with staging(out_dir) as tmp:
        (tmp / "baseline.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def evaluate_classifier(tokens: str, weights: str, vocab_size: int, model_cfg: dict) -> dict:
    test = load_split(tokens, "test")
    model = load_classifier(weights, vocab_size, model_cfg)
    prob = torch.sigmoid(predict(model, test, device=torch.device("cpu"))).numpy()
    return classification_metrics(test.y.numpy().astype(int), prob)


def plot_history(history: list[dict], path: Path, ylabel: str = "BCE loss") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title("Loss curves")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(matrices: dict[str, list[list[int]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(4 * len(matrices), 3.6))
    for ax, (name, cm) in zip(np.atleast_1d(axes), matrices.items()):
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(np.asarray(cm)):
            ax.text(j, i, str(v), ha="center", va="center")
        ax.set_xticks([0, 1], ["neg", "pos"])
        ax.set_yticks([0, 1], ["neg", "pos"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@cached_task(name="evaluate")
def evaluate_task(tokens: str, weights: str, training_summary: str, baseline: dict, vocab_size: int, model: dict,
                  out_dir: str, cache_key: str) -> dict:
    lstm = evaluate_classifier(tokens, weights, vocab_size, model)
    history = json.loads(Path(training_summary).read_text())["history"]
    with staging(out_dir) as tmp:
        plot_history(history, tmp / "loss_curves.png")
        plot_confusion({"LSTM": lstm["confusion_matrix"], "TF-IDF + LR": baseline["confusion_matrix"]}, tmp / "confusion_matrix.png")
        (tmp / "metrics.json").write_text(json.dumps({"lstm": lstm, "baseline": baseline}, indent=2))
    out = Path(out_dir)
    return {"lstm": lstm, "baseline": baseline,
            "plots": {"loss_curves": str(out / "loss_curves.png"), "confusion_matrix": str(out / "confusion_matrix.png")}}


# -- the gate's figures: naive baseline and the champion on the candidate's test split -----------

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
