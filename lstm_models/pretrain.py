"""Language-model pretraining of a classifier's embedding and first LSTM layer on texts (the
training split's and any unlabelled ones): the forward direction predicts each next token, the
backward direction each previous one (Dai & Le 2015, "Semi-supervised sequence learning").
Fine-tuning is then fit() on the labels, from these weights.

The prediction heads exist only here: the classifier keeps its own shape (its bundle loads as
before). Targets are the `targets` most frequent words of a count-ordered vocabulary (ids 2..);
rarer words count as _UNK, which keeps the softmax small on CPU."""
from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from .classifier import LSTMClassifier, reverse_within_length
from .data import TensorData, batch_indices
from .training import TrainConfig, seed_everything, select_device

UNK = 1


TARGETS = 2_000  # words predicted by default


class _Heads(nn.Module):
    """Next-token (forward direction) and previous-token (backward direction) predictions."""

    def __init__(self, model: LSTMClassifier, n_out: int):
        super().__init__()
        self.model = model
        self.out = nn.ModuleList(nn.Linear(model.hidden_size, n_out) for _ in model.layers[0])
        self.n_out = n_out

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        m = self.model
        pos = torch.arange(ids.size(1), device=ids.device)[None, :]
        real = pos < lengths[:, None].to(ids.device)
        rev_index = torch.where(real, lengths[:, None].to(ids.device) - 1 - pos, pos)
        target = torch.where(ids < self.n_out, ids, torch.full_like(ids, UNK))  # pads stay 0: ignored
        h = m.dropout(m.embedding(ids))
        directions = m.layers[0]
        loss = F.cross_entropy(self.out[0](m.dropout(directions[0](h)[0][:, :-1])).flatten(0, 1),
                               target[:, 1:].flatten(), ignore_index=0)
        if m.bidirectional:  # in reversed order, step t predicts the token before it
            back = directions[1](reverse_within_length(h, rev_index))[0]
            rev_target = target.gather(1, rev_index)
            loss = loss + F.cross_entropy(self.out[1](m.dropout(back[:, :-1])).flatten(0, 1),
                                          rev_target[:, 1:].flatten(), ignore_index=0)
            loss = loss / 2
        return loss


def pretrain_lm(model: LSTMClassifier, texts: TensorData, val: TensorData, cfg: TrainConfig,
                targets: int = TARGETS) -> dict:
    """Train the model's embedding and first layer as a language model on `texts`, keep the
    weights with the lowest loss on `val` (texts too), and leave them in `model`. cfg: the
    training loop's own settings (epochs, batch_size, lr, patience in epochs, max_minutes, seed,
    device); targets: how many of the most frequent words are predicted. Returns a
    summary: epochs, per-token losses, texts, seconds."""
    generator = seed_everything(cfg.seed)
    device = select_device(cfg.device)
    heads = _Heads(model, min(targets + 2, model.embedding.num_embeddings)).to(device)
    params = [p for p in heads.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    t0 = time.perf_counter()
    deadline = t0 + 60 * cfg.max_minutes if cfg.max_minutes else None

    def val_loss() -> float:
        heads.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for idx in batch_indices(val, 256, shuffle=False):
                x, lengths, _ = val.batch(idx, device)
                total += float(heads(x, lengths)) * len(idx)
                n += len(idx)
        heads.train()
        return total / max(n, 1)

    best, best_state, history, bad = math.inf, None, [], 0
    heads.train()
    for epoch in range(1, cfg.epochs + 1):
        running, count = 0.0, 0
        for idx in batch_indices(texts, cfg.batch_size, shuffle=True, generator=generator):
            x, lengths, _ = texts.batch(idx, device)
            loss = heads(x, lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.clip)
            optimizer.step()
            running, count = running + loss.item() * len(idx), count + len(idx)
            if deadline and time.perf_counter() > deadline:
                break
        v = val_loss() if len(val) else running / max(count, 1)
        history.append({"epoch": epoch, "train_loss": round(running / max(count, 1), 4), "val_loss": round(v, 4)})
        if v < best:
            best, best_state, bad = v, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
        if bad >= cfg.patience or (deadline and time.perf_counter() > deadline):
            break
    model.load_state_dict(best_state)
    model.cpu()
    return {"epochs": len(history), "history": history, "best_val_loss": round(best, 4), "texts": len(texts),
            "targets": heads.n_out, "seconds": round(time.perf_counter() - t0, 1)}
