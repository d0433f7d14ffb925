"""An LSTM written out from its gate equations, to show what nn.LSTM computes.

The models in this package use nn.LSTM, whose fused kernels are fast but opaque. This module
computes the same thing one step at a time from the equations, with the same parameters, so
the maths can be read (and checked: tests/lstm_models/test_cell.py matches it to nn.LSTM to
1e-5 in outputs and gradients). It is for reading and experiments, not for training speed.

One step, for input x_t [B, I] and state (h_{t-1}, c_{t-1}) [B, H] each:

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)   input gate: how much to write
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)   forget gate: how much to keep
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)      candidate: what to write
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)   output gate: how much to show
    c_t = f_t * c_{t-1} + i_t * g_t                        cell state (* is elementwise)
    h_t = o_t * tanh(c_t)                                  hidden state, the step's output

Why the forget gate lets gradients flow: the cell state is updated by addition, not by a
matrix product and a squashing function, so along the cell path dc_t/dc_{t-1} = f_t
(elementwise). A gradient travelling back k steps is scaled by the product of k forget gates,
which stays near 1 while the gates are open, instead of by k copies of W_hh^T diag(tanh'),
which in a plain RNN shrinks or grows geometrically.

Parameters are laid out as nn.LSTM lays out layer 0: the four gates' matrices stacked in the
order i, f, g, o, so weight_ih [4H, I] = [W_ii; W_if; W_ig; W_io], weight_hh [4H, H], and
bias_ih, bias_hh [4H]. PyTorch keeps two biases per gate where one would do; they are kept
here too so that weights copy across without arithmetic.
"""
from __future__ import annotations

import math

import torch
from torch import nn

State = tuple[torch.Tensor, torch.Tensor]


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


class LSTMCellFromGates(nn.Module):
    """One LSTM step, x_t [B, I] and (h, c) [B, H] -> (h_t, c_t), from the equations above."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.LSTM's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: torch.Tensor, state: State | None = None) -> State:
        """x_t [B, I], state (h_{t-1}, c_{t-1}) [B, H] each or None (zeros) -> (h_t, c_t).

            gates = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh    all four pre-activations, [B, 4H]
            i_t, f_t, g_t, o_t = split(gates) in that order
            i_t, f_t, o_t = sigmoid(.)                       gates, each in (0, 1)
            g_t = tanh(.)                                    candidate, in (-1, 1)
            c_t = f_t * c_{t-1} + i_t * g_t
            h_t = o_t * tanh(c_t)
        """
        if x_t.dim() != 2 or x_t.size(1) != self.input_size:
            raise ValueError(f"expected x_t [batch, {self.input_size}], got {list(x_t.shape)}")
        batch, H = x_t.size(0), self.hidden_size
        if state is None:
            h, c = (x_t.new_zeros(batch, H), x_t.new_zeros(batch, H))
        else:
            h, c = state
            if h.shape != (batch, H) or c.shape != (batch, H):
                raise ValueError(f"expected h and c [{batch}, {H}], got {list(h.shape)} and {list(c.shape)}")
        # one matrix product per source for all four gates, as PyTorch does, then split
        gates = x_t @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h, c


def _refuse_unsupported(lstm: nn.LSTM) -> None:
    """Only what one cell can hold: a single layer, one direction, both biases, no projection.
    batch_first does not matter: it changes the input layout, not the weights."""
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(f"expected an nn.LSTM, got {type(lstm).__name__}")
    unsupported = []
    if lstm.num_layers != 1:
        unsupported.append(f"num_layers={lstm.num_layers} (only 1 layer)")
    if lstm.bidirectional:
        unsupported.append("bidirectional=True (only one direction)")
    if not lstm.bias:
        unsupported.append("bias=False (the cell has biases)")
    if lstm.proj_size:
        unsupported.append(f"proj_size={lstm.proj_size} (no projection)")
    if unsupported:
        raise ValueError("unsupported nn.LSTM: " + "; ".join(unsupported))


class LSTMFromGates(nn.Module):
    """The cell looped over time: a single-layer, unidirectional, batch_first LSTM.

    forward(x [B, T, I], state) -> (output [B, T, H], (h_n, c_n) [1, B, H] each), the shapes
    nn.LSTM(batch_first=True) returns; `state` is (h_0, c_0) [1, B, H] each, or None for zeros.
    The leading 1 is nn.LSTM's layers x directions axis, kept so the two are interchangeable.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.cell = LSTMCellFromGates(input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        if x.dim() != 3 or x.size(-1) != self.input_size:
            raise ValueError(f"expected x [batch, steps, {self.input_size}], got {list(x.shape)}")
        if x.size(1) == 0:
            raise ValueError("expected at least one step, got x with 0 steps")
        if state is not None:
            h, c = state
            expected = (1, x.size(0), self.hidden_size)
            if h.shape != expected or c.shape != expected:
                raise ValueError(f"expected h_0 and c_0 {list(expected)}, got {list(h.shape)} and {list(c.shape)}")
            state = (h[0], c[0])
        outputs = []
        for t in range(x.size(1)):
            state = self.cell(x[:, t], state)
            outputs.append(state[0])
        h, c = state
        return torch.stack(outputs, dim=1), (h[None], c[None])

    @classmethod
    def from_torch(cls, lstm: nn.LSTM) -> LSTMFromGates:
        """A copy of `lstm` (layer 0) computed from the gates; its parameters are new tensors."""
        _refuse_unsupported(lstm)
        # same dtype and device first, so that copying loses nothing (a float64 LSTM stays float64)
        model = cls(lstm.input_size, lstm.hidden_size).to(lstm.weight_ih_l0)
        with torch.no_grad():
            for name, p in model.cell.named_parameters():
                p.copy_(getattr(lstm, f"{name}_l0"))
        return model

    def load_into(self, lstm: nn.LSTM) -> nn.LSTM:
        """Copy these weights into `lstm` (same sizes) in place, and return it."""
        _refuse_unsupported(lstm)
        if (lstm.input_size, lstm.hidden_size) != (self.input_size, self.hidden_size):
            raise ValueError(f"sizes differ: nn.LSTM has input_size={lstm.input_size}, hidden_size="
                             f"{lstm.hidden_size}; this model {self.input_size}, {self.hidden_size}")
        with torch.no_grad():
            for name, p in self.cell.named_parameters():
                getattr(lstm, f"{name}_l0").copy_(p)
        return lstm

    def to_torch(self) -> nn.LSTM:
        """A new nn.LSTM(batch_first=True) with these weights, for the fast fused kernels."""
        p = self.cell.weight_ih
        lstm = nn.LSTM(self.input_size, self.hidden_size, batch_first=True).to(device=p.device, dtype=p.dtype)
        return self.load_into(lstm)
