"""Train the recurrent network on the training sequences: the same LSTMRegressor the forecaster
uses, with one output per class and cross-entropy; the best weights on the validation part."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lstm_models.bundle import load_safetensors
from lstm_models.data import TensorData
from lstm_models.regressor import LSTMRegressor
from lstm_models.training import fit
from tasks.shared.caching import cached_task, checkpoint_for, staging
from tasks.shared.config import TrainSettings
from tasks.shared.results import Trained

from .config import SequenceModelConfig


def load_part(path: str | Path, part: str) -> TensorData:
    with np.load(path, allow_pickle=False) as data:
        sel = data["part"] == part
        return TensorData(torch.tensor(data["x"][sel]), torch.tensor(data["y"][sel]))


def build_classifier(n_features: int, n_classes: int, model: SequenceModelConfig) -> LSTMRegressor:
    return LSTMRegressor(n_features=n_features, horizon=n_classes, **model.model_dump())


def train_sequences(path: str, model_cfg: SequenceModelConfig, train_cfg: TrainSettings, out_dir: Path,
                    checkpoint: Path | None = None, progress: bool = True) -> dict:
    train, val = load_part(path, "train"), load_part(path, "val")
    with np.load(path, allow_pickle=False) as data:
        n_classes = int(data["y"].max()) + 1
    torch.manual_seed(train_cfg.seed)
    model = build_classifier(train.x.shape[2], n_classes, model_cfg)
    result = fit(model, train, val, F.cross_entropy, train_cfg.loop_config(), progress=progress,
                 checkpoint=checkpoint)
    save_file(result.state_dict, str(out_dir / "model.safetensors"))
    summary = {**result.summary(), "train_sequences": len(train), "val_sequences": len(val),
               "parameters": sum(p.numel() for p in model.parameters()), "hparams": model.hparams}
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-sequence-classifier", stage="train")
def train_sequences_task(sequences: str, model: SequenceModelConfig, train: TrainSettings, out_dir: str) -> Trained:
    with staging(out_dir) as tmp:
        summary = train_sequences(sequences, model, train, tmp, checkpoint=checkpoint_for(out_dir))
    out = Path(out_dir)
    return Trained(weights=str(out / "model.safetensors"), summary=str(out / "training.json"), training=summary)


def load_classifier(weights: str | Path, hparams: dict) -> LSTMRegressor:
    model = LSTMRegressor.from_hparams(hparams)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
