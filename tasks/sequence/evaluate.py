"""Test accuracy of the sequence classifier, per class too, with its confusion matrix."""
from __future__ import annotations

import numpy as np
import torch

from lstm_models.training import predict
from tasks.shared.caching import cached_task, write_stage_json

from .train import load_classifier, load_part


def evaluate_sequences(sequences: str, weights: str, hparams: dict) -> dict:
    test = load_part(sequences, "test")
    logits = predict(load_classifier(weights, hparams), test, device=torch.device("cpu"))
    pred, y = logits.argmax(1).numpy(), test.y.numpy()
    k = hparams["horizon"]
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    return {"accuracy": float((pred == y).mean()), "n": int(len(y)),
            "per_class_accuracy": {str(c): float(confusion[c, c] / max(confusion[c].sum(), 1)) for c in range(k)},
            "confusion_matrix": confusion.tolist()}


@cached_task(name="evaluate-sequences", stage="evaluate")
def evaluate_sequences_task(sequences: str, weights: str, hparams: dict, out_dir: str) -> dict:
    metrics = evaluate_sequences(sequences, weights, hparams)
    write_stage_json(out_dir, "metrics.json", metrics)
    return metrics
