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


def train_classifier(tokens: str, vocab_size: int, model_cfg: dict, train_cfg: dict, out_dir: Path,
                     progress: bool = True, checkpoint: Path | None = None) -> dict:
    train, val = load_split(tokens, "train"), load_split(tokens, "val")
    torch.manual_seed(train_cfg["seed"])  # fit seeds its own loop; the initial weights need it too
    model = build_classifier(vocab_size, model_cfg)
    result = fit(model, train, val, bce, TrainConfig(**train_cfg), progress=progress, checkpoint=checkpoint)
    save_file(result.state_dict, str(out_dir / "model.safetensors"))
    summary = {**result.summary(), "train_rows": len(train), "val_rows": len(val),
               "parameters": sum(p.numel() for p in model.parameters())}
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm")
def train_classifier_task(tokens: str, vocab_size: int, model: dict, train: dict, out_dir: str, cache_key: str) -> dict:
    out = Path(out_dir)
    with staging(out_dir) as tmp:  # a killed run resumes from its last epoch's checkpoint
        summary = train_classifier(tokens, vocab_size, model, train, tmp, checkpoint=checkpoint_for(out_dir))
    return {**summary, "weights": str(out / "model.safetensors"), "summary": str(out / "training.json")}


def load_classifier(weights: str | Path, vocab_size: int, model_cfg: dict) -> LSTMClassifier:
    """Weights via safetensors only (never a pickle)."""
    model = build_classifier(vocab_size, model_cfg)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
