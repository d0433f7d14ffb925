"""Train the LSTM regressor on the training windows (the loop itself is lstm_models')."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lstm_models.bundle import load_safetensors
from lstm_models.data import TensorData
from lstm_models.regressor import LSTMRegressor
from lstm_models.training import TrainConfig, fit
from tasks.shared.artifacts import progress_reporter
from tasks.shared.caching import cached_task, checkpoint_for, staging
from tasks.shared.config import TrainSettings

from .config import RegressorConfig
from .prepare import load_windows


def tensor_data(w: dict) -> TensorData:
    return TensorData(torch.tensor(w["x"], dtype=torch.float32), torch.tensor(w["y"], dtype=torch.float32))


def build_regressor(n_features: int, horizon: int, model_cfg: RegressorConfig) -> LSTMRegressor:
    return LSTMRegressor(n_features=n_features, horizon=horizon, **model_cfg.model_dump())


def train_regressor(windows: str, model_cfg: RegressorConfig, train_cfg: TrainSettings, out_dir: Path, progress: bool = True,
                    on_eval=None, checkpoint: Path | None = None) -> dict:
    train, val = load_windows(windows, "train"), load_windows(windows, "val")
    torch.manual_seed(train_cfg.seed)  # fit seeds its own loop; the initial weights need it too
    model = build_regressor(train["x"].shape[2], train["y"].shape[1], model_cfg)
    result = fit(model, tensor_data(train), tensor_data(val), F.mse_loss, TrainConfig(**train_cfg.model_dump()), progress=progress,
                 on_eval=on_eval, checkpoint=checkpoint)
    save_file(result.state_dict, str(out_dir / "model.safetensors"))
    summary = {**result.summary(), "train_windows": len(train["x"]), "val_windows": len(val["x"]),
               "parameters": sum(p.numel() for p in model.parameters()), "hparams": model.hparams}
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm-regressor", stage="train")
def train_regressor_task(windows: str, model: RegressorConfig, train: TrainSettings, out_dir: str, cache_key: str) -> dict:
    from prefect.logging import get_run_logger

    report, done = progress_reporter("forecast", train.epochs, get_run_logger())
    with staging(out_dir) as tmp:
        summary = train_regressor(windows, model, train, tmp, on_eval=report, checkpoint=checkpoint_for(out_dir))
    done(summary)
    out = Path(out_dir)
    return {**summary, "weights": str(out / "model.safetensors"), "summary": str(out / "training.json")}


def load_regressor(weights: str | Path, hparams: dict) -> LSTMRegressor:
    model = LSTMRegressor.from_hparams(hparams)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
