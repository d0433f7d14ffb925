"""The training loop shared by every model: device choice, AMP on CUDA, gradient clipping,
validation each epoch (or every N steps), best weights kept, early stopping, seeded."""
from __future__ import annotations

import copy
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .atomic import atomic_file
from .data import TensorData, batch_indices
from .distributed import world


@dataclass
class TrainConfig:
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    clip: float = 5.0
    patience: int = 2
    eval_every_steps: int | None = None  # None: validate once an epoch
    seed: int = 13
    device: str = "auto"  # auto | cpu | cuda | mps
    amp: bool = True  # mixed precision, used on CUDA only
    max_samples: int | None = None  # a budget of samples seen: training stops there even mid-epoch
    lr_schedule: str = "constant"  # constant | onecycle (warm up, then cosine decay over the run)
    validate_start: bool = False  # fine-tuning: the starting weights are the best so far until beaten
    max_minutes: float | None = None  # a time cap: past it, one last validation, then training stops
    ema_decay: float | None = None  # validate and keep an exponential moving average of the weights (e.g. 0.999)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {self.max_samples}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.lr_schedule not in ("constant", "onecycle"):
            raise ValueError(f"lr_schedule must be constant or onecycle, got {self.lr_schedule!r}")

    def total_steps(self, n_train: int) -> int:
        """Optimiser steps of the whole run: the epochs, cut by the samples budget."""
        steps = math.ceil(n_train / self.batch_size) * self.epochs
        if self.max_samples is not None:
            steps = min(steps, math.ceil(self.max_samples / self.batch_size))
        return max(1, steps)


@dataclass
class FitResult:
    state_dict: dict[str, torch.Tensor]
    history: list[dict] = field(default_factory=list)
    best_epoch: float = 0.0
    best_val_loss: float | None = math.inf  # None: trained without a validation set
    device: str = "cpu"
    samples_per_s: float = 0.0
    stopped_early: bool = False
    out_of_time: bool = False  # stopped by max_minutes
    samples_seen: int = 0
    resumed_from_epoch: int | None = None

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "state_dict"}


def _save_atomically(path: str | Path, obj: dict) -> None:
    with atomic_file(path) as tmp:  # readers see the old checkpoint or the new one, never half of one
        torch.save(obj, tmp)


def select_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _forward(model: nn.Module, x, lengths):
    return model(x, lengths) if lengths is not None else model(x)


@torch.no_grad()
def predict(model: nn.Module, data: TensorData, batch_size: int = 512, device: torch.device | None = None) -> torch.Tensor:
    """Model outputs for every row, in the original row order."""
    device = device or next(model.parameters()).device
    model.eval()
    outs, order = [], []
    for idx in batch_indices(data, batch_size, shuffle=False):
        x, lengths, _ = data.batch(idx, device)
        outs.append(_forward(model, x, lengths).float().cpu())
        order.append(idx)
    if not outs:
        return torch.empty(0)
    out = torch.cat(outs)
    result = torch.empty_like(out)
    result[torch.cat(order)] = out
    return result


def _update(net, model, optimizer, scaler, schedule, loss_fn, batch, clip, device, amp_dtype, use_amp) -> float:
    """One optimiser step on one batch (AMP on CUDA, gradient clipping); returns the batch loss."""
    x, lengths, y = batch
    with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
        loss = loss_fn(_forward(net, x, lengths).float(), y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if clip:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    scaler.step(optimizer)
    scaler.update()
    if schedule is not None:
        schedule.step()
    return loss.item()


# checkpoint key -> FitResult field: the run's record so far, saved and restored with the loop's state
_RESULT_KEYS = {"best_state": "state_dict", "history": "history", "best_val_loss": "best_val_loss",
                "best_epoch": "best_epoch", "stopped_early": "stopped_early"}
_COUNTERS = ("bad_evals", "step", "seen", "epoch")


@dataclass
class LoopState:
    """What the training loop carries from update to update, and what a checkpoint holds: this
    one object saves and loads it (a field is written and read back, or neither), and keeps the
    best weights at each validation (evaluated)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    schedule: object | None
    generator: torch.Generator
    result: FitResult
    bad_evals: int = 0
    step: int = 0
    seen: int = 0
    epoch: int = 0  # the last finished epoch
    ema: nn.Module | None = None  # torch.optim.swa_utils.AveragedModel of `model`, when cfg.ema_decay

    @property
    def scored(self) -> nn.Module:
        """The weights validated and kept: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def evaluated(self, record: dict, patience: int, out_of_time: bool) -> bool:
        """Record one validation; keep the weights if they are the best so far. True: stop."""
        r, v = self.result, record["val_loss"]
        r.history.append(record)
        if v is None or v < r.best_val_loss:
            r.best_val_loss, r.best_epoch = v, record["epoch"]
            r.state_dict = {k: t.detach().to("cpu", copy=True) for k, t in self.scored.state_dict().items()}
            self.bad_evals = 0
        else:
            self.bad_evals += 1
        if self.bad_evals >= patience or out_of_time:
            r.stopped_early, r.out_of_time = True, out_of_time
        return r.stopped_early

    def save(self, path: str | Path, rng_ranks: list | None = None) -> None:
        _save_atomically(path, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "schedule": self.schedule.state_dict() if self.schedule else {},
            "generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
            **({"torch_rng_ranks": rng_ranks} if rng_ranks is not None else {}),
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            **{k: getattr(self.result, name) for k, name in _RESULT_KEYS.items()},
            **{k: getattr(self, k) for k in _COUNTERS},
        })

    def load(self, path: str | Path, rank: int = 0, ranks: int = 1) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])
        self.generator.set_state(state["generator"])
        if self.ema is not None and "ema" in state:  # a checkpoint from before the average: it starts afresh
            self.ema.load_state_dict(state["ema"])
        rng = state.get("torch_rng_ranks")  # each rank's own (dropout draws differ between ranks)
        torch.set_rng_state(rng[rank] if rng is not None and len(rng) == ranks else state["torch_rng"])
        for k, name in _RESULT_KEYS.items():
            setattr(self.result, name, state[k])
        for k in _COUNTERS:
            setattr(self, k, state[k])
        self.result.resumed_from_epoch = self.epoch


def fit(
    model: nn.Module,
    train: TensorData,
    val: TensorData,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    cfg: TrainConfig,
    *,
    progress: bool = True,
    on_eval: Callable[[dict], None] | None = None,
    checkpoint: str | Path | None = None,
) -> FitResult:
    """Train with Adam, keep the weights with the lowest validation loss, stop after
    `patience` evaluations without improvement. Returns the best weights (on CPU).

    An empty `val` (the article's setup has no validation set) trains every epoch and keeps
    the last weights; history then records val_loss None.

    With `checkpoint`, the whole training state (model, optimiser, AMP scaler, best weights,
    history, epoch and RNG states) is written there atomically after each epoch, and a later
    call with the same path resumes from it: a killed run ends where an uninterrupted one would.
    The file holds tensors and plain values only and is read with weights_only=True."""
    generator = seed_everything(cfg.seed)
    rank, ranks = world()  # several processes (lstm_models/distributed.py): each takes its share of every batch
    device = select_device(cfg.device)
    if ranks > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    if device.type == "cuda":
        train, val = train.pin(), val.pin()
        torch.backends.cudnn.benchmark = True
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    net = model
    if ranks > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    ema = None
    if cfg.ema_decay:
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)

    def val_loss() -> float:
        scored = st.scored  # the weights validated: the average when there is one
        scored.eval()
        total, n = 0.0, 0
        with torch.no_grad(), torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            for idx in batch_indices(val, max(cfg.batch_size, 256), shuffle=False):
                idx = idx[rank::ranks]
                if len(idx):
                    x, lengths, y = val.batch(idx, device)
                    total += float(loss_fn(_forward(scored, x, lengths).float(), y)) * len(idx)
                    n += len(idx)
        if ranks > 1:  # every rank scored its share: the sums make the whole split's loss, the same on each rank
            sums = torch.tensor([total, n], dtype=torch.float64, device=device)
            torch.distributed.all_reduce(sums)
            total, n = float(sums[0]), int(sums[1])
        model.train()
        return total / max(n, 1)

    result = FitResult(state_dict=copy.deepcopy(model.state_dict()), device=str(device))
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total_steps = cfg.total_steps(len(train))
    eval_every = min(cfg.eval_every_steps or steps_per_epoch, total_steps)
    schedule = None
    if cfg.lr_schedule == "onecycle" and total_steps >= 20:  # too few steps to warm up and decay: constant
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total_steps,
                                                       pct_start=0.05, anneal_strategy="cos", final_div_factor=20)
    t0 = time.perf_counter()
    deadline = t0 + 60 * cfg.max_minutes if cfg.max_minutes else None
    running, running_n = 0.0, 0
    st = LoopState(model, optimizer, scaler, schedule, generator, result, ema=ema)
    if checkpoint is not None and Path(checkpoint).is_file():
        st.load(checkpoint, rank, ranks)
    if cfg.validate_start and st.epoch == 0 and len(val):
        result.best_val_loss = val_loss()
        result.history.append({"epoch": 0.0, "step": 0, "train_loss": None, "val_loss": result.best_val_loss})
    model.train()
    for epoch in range(st.epoch + 1, cfg.epochs + 1):
        if result.stopped_early or st.step >= total_steps:
            break
        bar = tqdm(
            total=steps_per_epoch, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch",
            disable=None if progress else True, file=sys.stderr, leave=False, mininterval=1.0,
        )
        for idx in batch_indices(train, cfg.batch_size, shuffle=True, generator=generator):
            batch_n = len(idx)
            if ranks > 1 and batch_n >= ranks:  # a batch too small to share is run whole on every rank
                idx = idx[rank::ranks]
            loss = _update(net, model, optimizer, scaler, schedule, loss_fn, train.batch(idx, device), cfg.clip,
                           device, amp_dtype, use_amp)
            if ema is not None:
                ema.update_parameters(model)
            st.step += 1
            st.seen += batch_n
            running += loss * len(idx)
            running_n += len(idx)
            bar.update(1)
            bar.set_postfix(loss=f"{running / running_n:.4f}")
            out_of_time = deadline is not None and time.perf_counter() > deadline
            if st.step % eval_every == 0 or st.step == total_steps or out_of_time:
                record = {"epoch": round(st.step / steps_per_epoch, 3), "step": st.step,
                          "train_loss": running / running_n, "val_loss": val_loss() if len(val) else None}
                running, running_n = 0.0, 0
                stop = st.evaluated(record, cfg.patience, out_of_time)
                if on_eval:
                    on_eval(record)
                if stop:
                    break
            if st.step >= total_steps:
                break
        bar.close()
        st.epoch = epoch
        rng_ranks = None
        if checkpoint is not None and ranks > 1:
            rng_ranks = [None] * ranks
            torch.distributed.all_gather_object(rng_ranks, torch.get_rng_state())
        if checkpoint is not None and rank == 0:  # one writer; every rank resumes from it
            st.save(checkpoint, rng_ranks)
        if result.stopped_early or st.step >= total_steps:
            break
    result.samples_per_s = st.seen / max(time.perf_counter() - t0, 1e-9)
    result.samples_seen = st.seen
    model.load_state_dict(result.state_dict)
    model.to("cpu")
    return result
