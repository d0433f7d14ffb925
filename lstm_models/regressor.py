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
- `quantiles`: levels (e.g. 0.1, 0.5, 0.9) predicted for every step, trained with the pinball
  loss (`pinball_loss`); the output is then [B, horizon, len(quantiles)], sorted along the last
  axis in eval mode so a lower level never lies above a higher one. The skip path is shared by
  all levels.
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
        quantiles: tuple[float, ...] | list[float] = (),
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
        quantiles = [float(q) for q in quantiles]
        if any(not 0 < q < 1 for q in quantiles) or quantiles != sorted(set(quantiles)):
            raise ValueError(f"quantiles must be increasing levels strictly between 0 and 1, got {quantiles}")
        self.hparams = {
            "n_features": n_features, "hidden_size": hidden_size, "num_layers": num_layers,
            "fc_size": fc_size, "horizon": horizon, "dropout": dropout, "cell": cell,
            "conv_channels": conv_channels, "n_future": n_future, "skip": skip,
        }
        if quantiles:  # only then: bundles of point models keep their hparams
            self.hparams["quantiles"] = quantiles
        self.n_levels = max(len(quantiles), 1)
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
            nn.Linear(fc_size, horizon * self.n_levels),
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
        if "quantiles" in hp:
            y = y.view(len(y), hp["horizon"], self.n_levels)
        if self.skip is not None:
            ar = self.skip(x[:, -hp["skip"]:, -1])
            y = y + (ar[:, :, None] if y.dim() == 3 else ar)
        # sorted for use only: in training each output learns its own level, so the calibration
        # (widen_interval) knows which output is the lowest and which the highest
        return y.sort(-1).values if y.dim() == 3 and not self.training else y

    @classmethod
    def from_hparams(cls, hparams: dict) -> LSTMRegressor:
        """Rebuild from `model.hparams` (what a bundle's config.json stores)."""
        return cls(**hparams)


def pinball_loss(out: torch.Tensor, target: torch.Tensor, quantiles: list[float]) -> torch.Tensor:
    """Pinball (quantile) loss per window: out [B, H, Q], target [B, H] -> [B], the mean over
    steps and levels of max(q e, (q - 1) e), e = target - prediction. At q = 0.5 it is half the
    absolute error, so the median output is what an L1 loss would fit."""
    q = torch.as_tensor(quantiles, dtype=out.dtype, device=out.device)
    err = target[:, :, None] - out
    return torch.maximum(q * err, (q - 1) * err).mean((1, 2))


class RegressorEnsemble(nn.Module):
    """Regressors of one shape trained from different seeds, published as one model: the output
    is the mean of theirs (for the volume forecaster a mean in log space, the log of a geometric
    mean; quantile outputs are averaged level by level, which keeps them ordered)."""

    def __init__(self, members: list[LSTMRegressor]):
        super().__init__()
        if len(members) < 2 or any(m.hparams != members[0].hparams for m in members):
            raise ValueError("an ensemble needs two or more members of one shape")
        self.members = nn.ModuleList(members)
        self.hparams = {**members[0].hparams, "members": len(members)}

    def forward(self, x) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


def regressor_from_hparams(hparams: dict) -> LSTMRegressor | RegressorEnsemble:
    """The model a bundle's `model` hparams describe: one regressor, or an ensemble of
    `members` of them."""
    hp = dict(hparams)
    members = int(hp.pop("members", 1))
    if members == 1:
        return LSTMRegressor(**hp)
    return RegressorEnsemble([LSTMRegressor(**hp) for _ in range(members)])


def conformal_shift(outputs: torch.Tensor, target: torch.Tensor, level: float) -> torch.Tensor:
    """Per step, how far to move the outer quantile outputs [N, H, Q] apart (negative: closer) so
    that the interval between them holds `level` of the targets [N, H] (conformalized quantile
    regression, Romano et al. 2019: the level-quantile of max(lower - y, y - upper) on windows the
    model was not fitted to)."""
    score = torch.maximum(outputs[..., 0] - target, target - outputs[..., -1])
    n = len(score)
    q = min(1.0, level * (1 + 1 / max(n, 1)))  # the finite-sample correction
    return torch.quantile(score.float(), q, dim=0)


@torch.no_grad()
def widen_interval(model: LSTMRegressor | RegressorEnsemble, shift: torch.Tensor) -> None:
    """Move the lowest quantile output of every step down by `shift` [H] and the highest up (the
    output layer's biases: the calibration travels in the weights); the inner levels stay."""
    for member in getattr(model, "members", [model]):
        hp = member.hparams
        bias = member.head[-1].bias.view(hp["horizon"], member.n_levels)
        bias[:, 0] -= shift.to(bias)
        bias[:, -1] += shift.to(bias)
