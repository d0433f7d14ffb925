"""The plots every run publishes (PNG, matplotlib's Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_history(history: list[dict], path: Path, ylabel: str = "BCE loss") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [h["epoch"] for h in history]
    nan = float("nan")  # a point with no value (before training, or no validation set) is left out
    ax.plot(epochs, [nan if h["train_loss"] is None else h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(epochs, [nan if h["val_loss"] is None else h["val_loss"] for h in history], marker="o", label="validation")
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
