"""Recurrent regressor for windows of a time series:

    [Conv1d -> ReLU -> MaxPool] -> LSTM or GRU (stacked) -> last step -> ReLU
        -> (+ known covariates of the forecast days) -> FC -> ReLU -> FC horizon   (+ skip)

It generalises the article's LSTM1 (hidden 2, 1 layer, FC 128, one output), which is the plain
path: one LSTM layer, no convolution, no covariates, no skip. LSTM1 reshaped the final hidden
state with `hn.view(-1, hidden_size)`, which mixes layers into the batch when num_layers > 1;
here the head reads the top layer's output at the last step, which is the same thing for one
layer and the right thing for several. The article's other series variants are configs of the
same class: a stacked LSTM (num_layers 2), a GRU cell, a CNN-LSTM (conv_channels > 0).

- `n_future`: covariates known in advance for each forecast day (its weekday, whether it ends a
  month, ...), passed as the second element of the input, [B, horizon * n_future], to the head.
- `skip`: a linear map from the last `skip` values of the last input column straight to the
  outputs (for the volume forecaster, relative log volume: the autoregressive part a ridge
  regression captures, so the recurrent part learns what is left).
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
        fc_size: int = 64,  # the forecast pipeline's RegressorConfig default; the article's LSTM1 used 128
        horizon: int = 1,
        dropout: float = 0.0,
        cell: str = "lstm",
        conv_channels: int = 0,
        n_future: int = 0,
        skip: int = 0,
    ):
        super().__init__()
        for name, value in (("n_features", n_features), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("fc_size", fc_size), ("horizon", horizon)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name, value in (("conv_channels", conv_channels), ("n_future", n_future), ("skip", skip)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.hparams = {
            "n_features": n_features, "hidden_size": hidden_size, "num_layers": num_layers,
            "fc_size": fc_size, "horizon": horizon, "dropout": dropout, "cell": cell,
            "conv_channels": conv_channels, "n_future": n_future, "skip": skip,
        }
        self.conv = None
        rnn_in = n_features
        if conv_channels:
            self.conv = nn.Sequential(nn.Conv1d(n_features, conv_channels, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
            rnn_in = conv_channels
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        # the attribute keeps the name `lstm` for either cell: bundles of the plain LSTM load as before
        self.lstm = rnn(rnn_in, hidden_size, num_layers=num_layers, batch_first=True,
                        dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Sequential(  # the covariates are >= 0: the leading ReLU leaves them as they are
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size + horizon * n_future, fc_size),
            nn.ReLU(),
            nn.Linear(fc_size, horizon),
        )
        self.skip = nn.Linear(skip, horizon) if skip else None

    def forward(self, x: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        future = None
        if isinstance(x, (tuple, list)):
            x, future = x
        hp = self.hparams
        if x.dim() != 3 or x.size(-1) != hp["n_features"]:
            raise ValueError(f"expected input [batch, steps, {hp['n_features']}], got {list(x.shape)}")
        if (future is None) != (hp["n_future"] == 0) or (
                future is not None and future.shape[-1] != hp["horizon"] * hp["n_future"]):
            raise ValueError(f"expected {hp['horizon'] * hp['n_future']} covariates of the forecast days, got "
                             f"{None if future is None else list(future.shape)}")
        seq = self.conv(x.transpose(1, 2)).transpose(1, 2) if self.conv is not None else x
        out, _ = self.lstm(seq)
        z = out[:, -1]
        if future is not None:
            z = torch.cat([z, future], 1)
        y = self.head(z)
        if self.skip is not None:
            y = y + self.skip(x[:, -hp["skip"]:, -1])
        return y

    @classmethod
    def from_hparams(cls, hparams: dict) -> LSTMRegressor:
        """Rebuild from `model.hparams` (what a bundle's config.json stores)."""
        return cls(**hparams)
