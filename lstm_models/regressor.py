"""LSTM regressor for windows of a time series: LSTM -> last step -> ReLU -> FC -> ReLU -> FC horizon.

It generalises the article's LSTM1 (hidden 2, 1 layer, FC 128, one output). LSTM1 reshaped the
final hidden state with `hn.view(-1, hidden_size)`, which mixes layers into the batch when
num_layers > 1; here the head reads the top layer's output at the last step, which is the same
thing for one layer and the right thing for several.
"""
from __future__ import annotations

import torch
from torch import nn


class LSTMRegressor(nn.Module):
    """Direct multi-step regressor: x [B, T, F] -> y [B, horizon] (one value per future step).

    `dropout` acts between stacked LSTM layers (only when num_layers > 1, as PyTorch defines
    it) and on the input of the first fully connected layer.
    """

    def __init__(
        self,
        n_features: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        fc_size: int = 128,
        horizon: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        for name, value in (("n_features", n_features), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("fc_size", fc_size), ("horizon", horizon)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hparams = {
            "n_features": n_features, "hidden_size": hidden_size, "num_layers": num_layers,
            "fc_size": fc_size, "horizon": horizon, "dropout": dropout,
        }
        self.lstm = nn.LSTM(
            n_features, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, fc_size),
            nn.ReLU(),
            nn.Linear(fc_size, horizon),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.size(-1) != self.hparams["n_features"]:
            raise ValueError(
                f"expected input [batch, steps, {self.hparams['n_features']}], got {list(x.shape)}"
            )
        out, _ = self.lstm(x)
        return self.head(out[:, -1])

    @classmethod
    def from_hparams(cls, hparams: dict) -> "LSTMRegressor":
        """Rebuild from `model.hparams` (what a bundle's config.json stores)."""
        return cls(**hparams)
