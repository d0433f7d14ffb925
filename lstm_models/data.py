"""Tensors for training, built once, and length-aware batching.

Sequences are stored right-padded to the longest example in the set; each batch is cut to its
own longest example, and batches are formed from examples of similar length (bucketing), so
compute follows the real lengths rather than the seq_len cap.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TensorData:
    """Inputs x (ids [N, T] or features [N, T, F]), optional lengths [N], targets y [N, ...], and
    optional `future` [N, K]: covariates known in advance for the forecast days (the model then
    receives (x, future))."""

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None
    future: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_sequences(cls, seqs: Sequence[Sequence[int]], y) -> "TensorData":
        """Ragged id lists -> one padded int64 tensor plus lengths, built with numpy in one pass."""
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        width = int(lengths.max()) if len(lengths) else 1
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.arange(width)[None, :] < lengths[:, None]
        ids[mask] = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs]) if len(seqs) else []
        return cls(torch.from_numpy(ids), torch.as_tensor(np.asarray(y)), torch.from_numpy(lengths))

    def pin(self) -> "TensorData":
        pin = lambda t: None if t is None else t.pin_memory()  # noqa: E731
        return TensorData(pin(self.x), pin(self.y), pin(self.lengths), pin(self.future))

    def batch(self, idx: torch.Tensor, device: torch.device):
        """(x, lengths, y) of rows idx, cut to their own longest sequence (x is (x, future) when
        the data has covariates of the forecast days); copies are non-blocking (pinned on CUDA)."""
        x, y = self.x[idx], self.y[idx]
        lengths = None
        if self.lengths is not None:
            lengths = self.lengths[idx]
            x = x[:, : int(lengths.max())]
        nb = device.type == "cuda"
        x = x.to(device, non_blocking=nb)
        if self.future is not None:
            x = (x, self.future[idx].to(device, non_blocking=nb))
        return x, lengths, y.to(device, non_blocking=nb)


def batch_indices(
    data: TensorData,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    bucket_batches: int = 50,
) -> Iterator[torch.Tensor]:
    """Index batches. With lengths, examples are sorted by length inside pools of
    `bucket_batches` batches (shuffled pools when training) so each batch has little padding."""
    n = len(data)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    if data.lengths is None:
        yield from order.split(batch_size)
        return
    batches: list[torch.Tensor] = []
    pool = batch_size * bucket_batches if shuffle else n
    for chunk in order.split(pool):
        by_len = chunk[torch.argsort(data.lengths[chunk], descending=True, stable=True)]
        batches.extend(by_len.split(batch_size))
    if shuffle:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    yield from batches
