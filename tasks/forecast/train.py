"""Train the regressor on the training windows (the loop itself is lstm_models'): a weighted
L1 loss on log volume relative to the window's level approximates MASE, the budget is counted in
samples seen and the batch size grows with the data, so one config trains in seconds on one
short ticker and in minutes on forty long ones."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lstm_models.bundle import load_safetensors, load_weights_into, read_config
from lstm_models.data import TensorData
from lstm_models.distributed import run_distributed, world
from lstm_models.regressor import (
    LSTMRegressor,
    RegressorEnsemble,
    conformal_shift,
    pinball_loss,
    regressor_from_hparams,
    widen_interval,
)
from lstm_models.training import FitResult, TrainConfig, fit, predict
from tasks.shared.artifacts import progress_reporter
from tasks.shared.caching import cached_task, checkpoint_for, staging
from tasks.shared.errors import ConfigError
from tasks.shared.results import Trained

from .config import ForecastTrainSettings, RegressorConfig
from .prepare import load_windows


def tensor_data(w: dict) -> TensorData:
    """Windows as tensors; the loss weight of each window rides along as the last column of y."""
    y = np.concatenate([w["y"], w["weight"][:, None]], 1)
    future = None if w["future"] is None else torch.tensor(w["future"], dtype=torch.float32)
    return TensorData(torch.tensor(w["x"], dtype=torch.float32), torch.tensor(y, dtype=torch.float32), future=future)


def weighted_loss(kind: str, quantiles: list[float] | None = None):
    """loss(predictions [B, H] (or [B, H, Q] with quantiles), y [B, H + 1]): the per-window loss,
    weighted by y's last column. A model with quantile outputs is trained with the pinball loss
    (its median with half the L1 loss), whatever `kind`."""
    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target, w = y[:, :-1], y[:, -1]
        if quantiles:
            return (pinball_loss(out, target, quantiles) * w).sum() / w.sum().clamp_min(1e-12)
        if kind == "l1":
            err = (out - target).abs()
        elif kind == "mse":
            err = (out - target) ** 2
        else:
            err = F.huber_loss(out, target, reduction="none", delta=0.3)
        return (err.mean(1) * w).sum() / w.sum().clamp_min(1e-12)
    return loss


def batch_size_for(n_train: int, train_cfg: ForecastTrainSettings) -> int:
    """The configured batch size, or one that grows with the data: 2^round(log2(n / 1000)),
    clipped to 32..512 (140 windows: 32; 115 k: 128; 300 k: 256)."""
    if train_cfg.batch_size:
        return train_cfg.batch_size
    return int(np.clip(2 ** round(np.log2(max(n_train, 1) / 1000)), 32, 512))


def samples_budget(n_train: int, train_cfg: ForecastTrainSettings) -> int:
    """Samples seen in training: `epochs` passes over the windows, at least min_samples and at most
    max_samples (one short ticker: 20 k samples, seconds; 40 long histories: 1.5 M, minutes)."""
    budget = max(train_cfg.min_samples, train_cfg.epochs * max(n_train, 1))
    return min(budget, train_cfg.max_samples) if train_cfg.max_samples else budget


def fit_config(n_train: int, train_cfg: ForecastTrainSettings) -> TrainConfig:
    """The loop's settings for this much data: batch size, samples budget, validation cadence and
    weight average."""
    bs = batch_size_for(n_train, train_cfg)
    budget = samples_budget(n_train, train_cfg)
    base = train_cfg.loop_config(epochs=math.ceil(budget / max(n_train, 1)), batch_size=bs, max_samples=budget)
    steps = base.total_steps(n_train)
    # an exponential moving average with a time constant of `average_weights` x the steps
    decay = 1 - 1 / max(2.0, train_cfg.average_weights * steps) if train_cfg.average_weights else None
    return replace(base, eval_every_steps=train_cfg.eval_every_steps or max(1, steps // train_cfg.evals),
                   ema_decay=decay)


def build_regressor(meta: dict, model_cfg: RegressorConfig) -> LSTMRegressor:
    """The regressor for windows of this shape (windows.parquet's metadata). The skip path reads
    relative log volume, the last input column of relative inputs, over at most the window."""
    params = model_cfg.model_dump(exclude={"members"})
    params["skip"] = min(params["skip"], meta["lookback"]) if meta.get("inputs") == "relative" else 0
    return LSTMRegressor(n_features=meta["n_features"], horizon=meta["horizon"], n_future=meta["n_future"], **params)


def train_regressor(windows: str, model_cfg: RegressorConfig, train_cfg: ForecastTrainSettings, out_dir: Path,
                    progress: bool = True, on_eval=None, checkpoint: Path | None = None,
                    start_bundle: str | None = None) -> dict:
    """Train on the training windows, keep the weights best on the validation windows. With
    start_bundle (--init-from: a model trained on many tickers), start from its model and
    weights instead: fine-tune, or, with train.fine_tune false, keep them as they are. With
    train.processes > 1, on that many processes (lstm_models/distributed.py), this one rank 0."""
    return run_distributed(_train_rank, train_cfg.processes, windows, model_cfg, train_cfg, out_dir,
                           checkpoint=checkpoint, start_bundle=start_bundle,
                           main_kwargs={"progress": progress, "on_eval": on_eval})


def _train_rank(windows: str, model_cfg: RegressorConfig, train_cfg: ForecastTrainSettings, out_dir: Path,
                progress: bool = False, on_eval=None, checkpoint: Path | None = None,
                start_bundle: str | None = None) -> dict:
    train, val = load_windows(windows, "train"), load_windows(windows, "val")
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    torch.manual_seed(train_cfg.seed)  # fit seeds its own loop; the initial weights need it too
    if start_bundle:
        model = regressor_from_hparams(read_config(start_bundle, "forecast")["model"])
        shape = {k: model.hparams[k] for k in ("n_features", "horizon", "n_future")}
        if shape != {k: meta[k] for k in shape}:
            raise ConfigError(f"{start_bundle}: its model reads {shape}, this run's windows "
                              f"{ {k: meta[k] for k in shape} }")
        load_weights_into(model, start_bundle)
    else:
        model = build_regressor(meta, model_cfg)
    cfg = fit_config(len(train["x"]), train_cfg)
    cfg.validate_start = bool(start_bundle)  # fine-tuning keeps the starting weights unless validation improves
    loss = weighted_loss(train_cfg.loss, model.hparams.get("quantiles"))
    members = []
    if start_bundle and not train_cfg.fine_tune:
        result = FitResult(state_dict=dict(model.state_dict()))
        result.best_val_loss = None
    elif start_bundle or model_cfg.members == 1:
        result = fit(model, tensor_data(train), tensor_data(val), loss, cfg,
                     progress=progress, on_eval=on_eval, checkpoint=checkpoint)
    else:  # seed averaging: each member its own seed, initial weights and early stopping
        # one checkpoint a member: a crash in the second resumes it and keeps the first
        ckpts = [checkpoint and checkpoint.with_name(f"{checkpoint.stem}.member{i}.ckpt") for i in range(model_cfg.members)]
        for i, ckpt in enumerate(ckpts):
            torch.manual_seed(train_cfg.seed + i)
            member = build_regressor(meta, model_cfg) if i else model
            part = fit(member, tensor_data(train), tensor_data(val), loss, replace(cfg, seed=train_cfg.seed + i),
                       progress=progress, on_eval=on_eval, checkpoint=ckpt)
            member.load_state_dict(part.state_dict)
            members.append((member, part))
        for ckpt in ckpts:
            if ckpt and world()[0] == 0:
                ckpt.unlink(missing_ok=True)
        model = RegressorEnsemble([m for m, _ in members])
        result = replace(members[0][1], state_dict=dict(model.state_dict()),
                         samples_seen=sum(p.samples_seen for _, p in members),
                         best_val_loss=ensemble_loss(model, tensor_data(val), loss))
    calibration = None
    if model.hparams.get("quantiles") and len(val["x"]) and result.samples_seen:
        model.load_state_dict(result.state_dict)
        calibration = calibrate_interval(model, tensor_data(val))
        result = replace(result, state_dict=dict(model.state_dict()))
    summary = {**result.summary(), "train_windows": len(train["x"]), "val_windows": len(val["x"]),
               "batch_size": cfg.batch_size, "planned_steps": cfg.total_steps(len(train["x"])),
               "weight_average_decay": cfg.ema_decay,
               "parameters": sum(p.numel() for p in model.parameters()), "hparams": model.hparams,
               "init_from": start_bundle, "fine_tuned": bool(start_bundle) and train_cfg.fine_tune,
               "processes": world()[1],
               "interval_calibration": calibration,
               "members": [{k: p.summary()[k] for k in ("best_epoch", "best_val_loss", "samples_seen", "stopped_early")}
                           for _, p in members] or None}
    if world()[0] == 0:  # one writer
        save_file(result.state_dict, str(out_dir / "model.safetensors"))
        (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm-regressor", stage="train")
def train_regressor_task(windows: str, model: RegressorConfig, train: ForecastTrainSettings, start_bundle: str | None,
                         out_dir: str) -> Trained:
    from prefect.logging import get_run_logger

    n_train = pq.read_table(windows, columns=["split"]).column("split").to_pylist().count("train")
    cfg = fit_config(n_train, train)
    epochs = cfg.total_steps(n_train) * cfg.batch_size / max(n_train, 1)
    report, done = progress_reporter("forecast", round(epochs, 2), get_run_logger())
    with staging(out_dir) as tmp:
        summary = train_regressor(windows, model, train, tmp, on_eval=report, checkpoint=checkpoint_for(out_dir),
                                  start_bundle=start_bundle)
    done(summary)
    out = Path(out_dir)
    return Trained(weights=str(out / "model.safetensors"), summary=str(out / "training.json"), training=summary)


def calibrate_interval(model: LSTMRegressor | RegressorEnsemble, val: TensorData) -> dict:
    """Widen (or narrow) the model's outer quantile outputs so that, step by step, they hold the
    interval's level of the validation targets (lstm_models.regressor.conformal_shift): quantile
    losses fitted on training windows give intervals whose coverage drifts with the data."""
    quantiles = model.hparams["quantiles"]
    level = quantiles[-1] - quantiles[0]
    y = val.y[:, :-1]

    def coverage(out: torch.Tensor) -> float:
        return float(((y >= out[..., 0]) & (y <= out[..., -1])).float().mean())
    out = predict(model, val)
    shift = conformal_shift(out, y, level)
    widen_interval(model, shift)
    return {"level": round(level, 6), "val_coverage_before": coverage(out), "val_coverage": coverage(predict(model, val)),
            "shift": [round(float(v), 5) for v in shift]}


def ensemble_loss(model: RegressorEnsemble, val: TensorData, loss) -> float | None:
    """The validation loss of the members' mean (what is published), None without validation windows."""
    if not len(val):
        return None
    out = predict(model, val)  # on the device the members were trained on
    return float(loss(out, val.y.to(out.device)))


def load_regressor(weights: str | Path, hparams: dict) -> LSTMRegressor | RegressorEnsemble:
    model = regressor_from_hparams(hparams)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
