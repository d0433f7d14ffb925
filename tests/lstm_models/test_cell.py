"""The LSTM written from its gate equations computes what nn.LSTM computes, given the same weights."""
import pytest
import torch
from torch import nn

from lstm_models.cell import LSTMCellFromGates, LSTMFromGates

TOL = {"atol": 1e-5, "rtol": 0.0}


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread is fastest, and leaves the other cores to the rest of the run."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pair(input_size=3, hidden_size=5, seed=0):
    torch.manual_seed(seed)
    lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
    return lstm, LSTMFromGates.from_torch(lstm)


@pytest.mark.parametrize("batch,steps", [(1, 1), (4, 7), (9, 20)])
@pytest.mark.parametrize("with_state", [False, True])
def test_outputs_and_final_state_match_nn_lstm(batch, steps, with_state):
    lstm, ours = _pair()
    x = torch.randn(batch, steps, 3)
    state = (torch.randn(1, batch, 5), torch.randn(1, batch, 5)) if with_state else None

    out, (h_n, c_n) = ours(x, state)
    ref_out, (ref_h, ref_c) = lstm(x, state)

    assert out.shape == (batch, steps, 5) and h_n.shape == c_n.shape == (1, batch, 5)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(h_n, ref_h, **TOL)
    torch.testing.assert_close(c_n, ref_c, **TOL)


def test_the_cell_is_one_step_of_nn_lstm():
    lstm, ours = _pair()
    x_t, h, c = torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 5)
    h_t, c_t = ours.cell(x_t, (h, c))
    _, (ref_h, ref_c) = lstm(x_t[:, None], (h[None], c[None]))
    torch.testing.assert_close(h_t, ref_h[0], **TOL)
    torch.testing.assert_close(c_t, ref_c[0], **TOL)


def test_gradients_match_nn_lstm():
    lstm, ours = _pair(seed=1)
    x = torch.randn(4, 6, 3)
    h0, c0 = torch.randn(1, 4, 5), torch.randn(1, 4, 5)

    def grads(model):
        inputs = [t.clone().requires_grad_() for t in (x, h0, c0)]
        out, (h_n, c_n) = model(inputs[0], (inputs[1], inputs[2]))
        (out.sum() + h_n.sum() + c_n.sum()).backward()
        return [t.grad for t in inputs], [p.grad for p in model.parameters()]

    (ours_in, ours_w), (ref_in, ref_w) = grads(ours), grads(lstm)
    for g, ref in zip(ours_in, ref_in):  # x, h_0, c_0
        torch.testing.assert_close(g, ref, **TOL)
    # both list their parameters as weight_ih, weight_hh, bias_ih, bias_hh
    assert len(ours_w) == len(ref_w) == 4
    for g, ref in zip(ours_w, ref_w):
        torch.testing.assert_close(g, ref, **TOL)


def test_weights_copy_both_ways():
    torch.manual_seed(2)
    ours = LSTMFromGates(3, 5)
    lstm = ours.load_into(nn.LSTM(3, 5, batch_first=True))
    back = LSTMFromGates.from_torch(lstm)
    for name, p in ours.cell.named_parameters():
        assert torch.equal(getattr(lstm, f"{name}_l0"), p)
        assert torch.equal(getattr(back.cell, name), p)
        assert getattr(back.cell, name) is not getattr(lstm, f"{name}_l0")  # a copy, not shared

    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(ours(x)[0], ours.to_torch()(x)[0], **TOL)


def test_batch_first_does_not_matter_for_the_weights():
    torch.manual_seed(3)
    seq_first = nn.LSTM(3, 5)  # [T, B, I] in and out; same parameters as batch_first=True
    ours = LSTMFromGates.from_torch(seq_first)
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(ours(x)[0], seq_first(x.transpose(0, 1))[0].transpose(0, 1), **TOL)


def test_float64_weights_stay_float64():
    lstm = nn.LSTM(3, 5, batch_first=True).double()
    ours = LSTMFromGates.from_torch(lstm)
    assert ours.cell.weight_ih.dtype == torch.float64
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], lstm(x)[0], atol=1e-12, rtol=0.0)


@pytest.mark.parametrize("kwargs,message", [
    ({"num_layers": 2}, r"num_layers=2 \(only 1 layer\)"),
    ({"bidirectional": True}, r"bidirectional=True \(only one direction\)"),
    ({"bias": False}, r"bias=False"),
    ({"proj_size": 2}, r"proj_size=2"),
])
def test_refuses_what_one_cell_cannot_hold(kwargs, message):
    lstm = nn.LSTM(3, 5, batch_first=True, **kwargs)
    with pytest.raises(ValueError, match=message):
        LSTMFromGates.from_torch(lstm)
    with pytest.raises(ValueError, match=message):
        LSTMFromGates(3, 5).load_into(lstm)


def test_refuses_bad_sizes_and_shapes():
    with pytest.raises(ValueError, match="sizes differ"):
        LSTMFromGates(3, 5).load_into(nn.LSTM(3, 6))
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        LSTMCellFromGates(3, 0)
    with pytest.raises(ValueError, match=r"expected x \[batch, steps, 3\]"):
        LSTMFromGates(3, 5)(torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match=r"expected h_0 and c_0 \[1, 2, 5\]"):
        LSTMFromGates(3, 5)(torch.randn(2, 4, 3), (torch.zeros(2, 5), torch.zeros(2, 5)))


def test_open_forget_gate_and_shut_input_gate_carry_the_cell_state_unchanged():
    """c_t = f_t * c_{t-1} + i_t * g_t: with f_t = 1 and i_t = 0, c_t = c_{t-1} whatever the input,
    and the gradient reaches c_0 undiminished (dc_n/dc_0 = 1): the additive path of the cell."""
    torch.manual_seed(4)
    ours, H = LSTMFromGates(3, 5), 5
    with torch.no_grad():  # gate order i, f, g, o: saturate i at 0 and f at 1
        ours.cell.bias_ih[:H] = -100.0
        ours.cell.bias_ih[H:2 * H] = 100.0
    c0 = torch.randn(1, 2, 5, requires_grad=True)
    out, (h_n, c_n) = ours(10 * torch.randn(2, 30, 3), (torch.randn(1, 2, 5), c0))

    torch.testing.assert_close(c_n, c0, atol=1e-6, rtol=0.0)
    assert out.abs().max() <= torch.tanh(c0).abs().max()  # h_t = o_t * tanh(c_t), with |o_t| < 1
    c_n.sum().backward()
    torch.testing.assert_close(c0.grad, torch.ones_like(c0), atol=1e-6, rtol=0.0)
