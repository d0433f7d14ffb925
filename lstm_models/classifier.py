"""LSTM text classifier: Embedding -> LSTM -> pooled state -> linear head (one logit)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

POOLINGS = ("last", "max", "mean")


class LSTMClassifier(nn.Module):
    """Binary classifier over padded id batches.

    Sequences are packed, so padding never reaches the LSTM, and pooling ignores padded steps:
    "last" uses the final hidden state of each direction, "max"/"mean" pool the outputs over
    the real length only.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.3,
        pooling: str = "max",
    ):
        super().__init__()
        if vocab_size < 3:
            raise ValueError(f"vocab_size must be >= 3 (_PAD, _UNK and a token), got {vocab_size}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T] (0 = pad), lengths [B] -> logits [B]."""
        emb = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        if self.pooling == "last":
            feat = torch.cat([h[-2], h[-1]], dim=-1) if self.bidirectional else h[-1]
        else:
            out, _ = pad_packed_sequence(out, batch_first=True)
            mask = (torch.arange(out.size(1), device=out.device)[None, :] < lengths.to(out.device)[:, None])
            mask = mask.unsqueeze(-1)
            if self.pooling == "max":
                feat = out.masked_fill(~mask, float("-inf")).amax(dim=1)
            else:
                feat = (out * mask).sum(dim=1) / lengths.to(out.device).clamp(min=1)[:, None]
        return self.head(self.dropout(feat)).squeeze(-1)
