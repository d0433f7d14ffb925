"""Train the LSTM classifier on tokens.parquet (the training loop itself is lstm_models')."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.nn import functional as F

from lstm_models.bundle import load_safetensors
from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.training import TrainConfig, fit
from safetensors.torch import save_file

from .caching import cached_task, checkpoint_for, staging


def load_split(tokens_path: str | Path, split: str) -> TensorData:
    """One split of tokens.parquet as tensors, built once (no per-example work later)."""
    table = pq.read_table(tokens_path, columns=["split", "label", "ids"])
    table = table.filter(pc.equal(table.column("split").cast("string"), split))
    ids = table.column("ids").to_pylist()
    y = table.column("label").to_numpy().astype("float32")
    return TensorData.from_sequences(ids, y)


def build_classifier(vocab_size: int, model_cfg: dict) -> LSTMClassifier:
    return LSTMClassifier(vocab_size=vocab_size, **model_cfg)


def bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, y)


def progress_reporter(kind: str, epochs: int, log=None):
    """A Prefect progress artifact moved after each evaluation (the run page shows how far
    training is), plus a log line every ~10 % of training. Returns (on_eval, done)."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    artifact = create_progress_artifact(0.0, key=f"{kind}-training-progress", description=f"{kind} training: starting")

    def on_eval(r: dict) -> None:
        val = "n/a" if r["val_loss"] is None else f"{r['val_loss']:.4f}"
        text = f"epoch {r['epoch']:g} of {epochs}: train loss {r['train_loss']:.4f}, validation loss {val}"
        update_progress_artifact(artifact, min(100.0, 100.0 * r["epoch"] / epochs), description=f"{kind} training: {text}")
        if log and (r["epoch"] <= 1 or round(r["epoch"]) % max(1, epochs // 10) == 0):
            log.info(text)

    def done(summary: dict) -> None:
        update_progress_artifact(artifact, 100.0, description=(
            f"{kind} training: done, best epoch {summary['best_epoch']}"
            + (" (stopped early)" if summary.get("stopped_early") else "")
            + (f", resumed from epoch {summary['resumed_from_epoch']}" if summary.get("resumed_from_epoch") else "")))

    return on_eval, done


def train_classifier(tokens: str, vocab_size: int, model_cfg: dict, train_cfg: dict, out_dir: Path,
                     progress: bool = True, checkpoint: Path | None = None, on_eval=None) -> dict:
    train, val = load_split(tokens, "train"), load_split(tokens, "val")
    torch.manual_seed(train_cfg["seed"])  # fit seeds its own loop; the initial weights need it too
    model = build_classifier(vocab_size, model_cfg)
    result = fit(model, train, val, bce, TrainConfig(**train_cfg), progress=progress, checkpoint=checkpoint,
                 on_eval=on_eval)
    save_file(result.state_dict, str(out_dir / "model.safetensors"))
    summary = {**result.summary(), "train_rows": len(train), "val_rows": len(val),
               "parameters": sum(p.numel() for p in model.parameters())}
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm")
def train_classifier_task(tokens: str, vocab_size: int, model: dict, train: dict, out_dir: str, cache_key: str) -> dict:
    from prefect.logging import get_run_logger

    out = Path(out_dir)
    on_eval, done = progress_reporter("sentiment", train["epochs"], get_run_logger())
    with staging(out_dir) as tmp:  # a killed run resumes from its last epoch's checkpoint
        summary = train_classifier(tokens, vocab_size, model, train, tmp, checkpoint=checkpoint_for(out_dir),
                                   on_eval=on_eval)
    done(summary)
    return {**summary, "weights": str(out / "model.safetensors"), "summary": str(out / "training.json")}


def load_classifier(weights: str | Path, vocab_size: int, model_cfg: dict) -> LSTMClassifier:
    """Weights via safetensors only (never a pickle)."""
    model = build_classifier(vocab_size, model_cfg)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
