"""Crash safety of training: a real training process killed with SIGKILL resumes from its last
checkpoint and ends where an uninterrupted run with the same seed ends."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # every test here trains a model

TRAIN = r"""
import sys, bz2, torch
from collections import Counter
# one thread: a multi-threaded reduction may split work differently under load, and 25 epochs amplify
# the last-bit difference; the test is about the resumed state, not thread scheduling
torch.set_num_threads(1)
from torch.nn import functional as F
from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.text import build_vocab, encode, token_index, tokenize
from lstm_models.training import TrainConfig, fit
from safetensors.torch import save_file

lines = bz2.open(sys.argv[1], "rt", encoding="utf-8").read().splitlines()[:300]
tokens = [tokenize(l.split(" ", 1)[1]) for l in lines]
index = token_index(build_vocab(Counter(t for toks in tokens for t in toks), 2))
data = TensorData.from_sequences([encode(t, index, 60) for t in tokens], [float(l[9] == "2") for l in lines])
train, val = TensorData(data.x[:240], data.y[:240], data.lengths[:240]), TensorData(data.x[240:], data.y[240:], data.lengths[240:])
torch.manual_seed(0)
model = LSTMClassifier(len(index), 16, 16)
cfg = TrainConfig(epochs=int(sys.argv[3]), batch_size=32, patience=1000, seed=5)
result = fit(model, train, val, F.binary_cross_entropy_with_logits, cfg, progress=False,
             checkpoint=sys.argv[2] if sys.argv[2] != "-" else None)
save_file(result.state_dict, sys.argv[4])
print("resumed_from", result.resumed_from_epoch)
"""

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"
EPOCHS = 25


def _train(tmp_path, checkpoint, out, **kw):
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(DATA), str(checkpoint), str(EPOCHS), str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_sigkilled_training_resumes_and_ends_like_an_uninterrupted_run(tmp_path):
    from safetensors.torch import load_file

    ckpt = tmp_path / "train.ckpt"
    victim = _train(tmp_path, ckpt, tmp_path / "never.safetensors")
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        if ckpt.exists() and torch.load(ckpt, weights_only=True)["epoch"] >= 3:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "training ended before it could be killed: " + victim.stderr.read()[-500:]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert 3 <= killed_at < EPOCHS
    assert not (tmp_path / "never.safetensors").exists()

    resumed = _train(tmp_path, ckpt, tmp_path / "resumed.safetensors")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-2000:]
    assert f"resumed_from {killed_at}" in out

    straight = _train(tmp_path, "-", tmp_path / "straight.safetensors")
    out, err = straight.communicate(timeout=600)
    assert straight.returncode == 0, err[-2000:]

    a, b = load_file(tmp_path / "resumed.safetensors"), load_file(tmp_path / "straight.safetensors")
    assert a.keys() == b.keys()
    for k in a:  # same seed, same data, CPU: the resumed run ends on the very same weights
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)


def test_the_loop_state_saves_and_loads_every_field(tmp_path):
    """One object owns both sides of the checkpoint: what it saves, it restores."""
    from lstm_models.classifier import LSTMClassifier
    from lstm_models.training import FitResult, LoopState

    def state():
        torch.manual_seed(1)
        model = LSTMClassifier(20, 4, 4)
        opt = torch.optim.Adam(model.parameters())
        return LoopState(model, opt, torch.amp.GradScaler("cuda", enabled=False), None, torch.Generator().manual_seed(3),
                         FitResult(state_dict=model.state_dict()))

    a = state()
    a.step, a.seen, a.bad_evals, a.epoch = 17, 540, 2, 3
    a.evaluated({"epoch": 2.5, "step": 17, "train_loss": 0.6, "val_loss": 0.5}, patience=4, out_of_time=False)
    a.generator.manual_seed(99)
    a.save(tmp_path / "c.ckpt")
    b = state()
    b.load(tmp_path / "c.ckpt")
    assert (b.step, b.seen, b.bad_evals, b.epoch) == (17, 540, 0, 3)  # a new best resets bad_evals
    assert b.result.history == a.result.history and b.result.best_val_loss == 0.5 and b.result.best_epoch == 2.5
    assert b.result.resumed_from_epoch == 3 and not b.result.stopped_early
    assert torch.equal(b.generator.get_state(), a.generator.get_state())
