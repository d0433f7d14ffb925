"""Training on two CPU processes (DistributedDataParallel over gloo, started by the training
itself) against one process, same data and seed: the same quality within a stated tolerance,
and only rank 0 writes."""
import json

import pandas as pd
import pytest

from tasks.sentiment.config import ClassifierConfig, PreprocessConfig, SentimentTrainSettings, SplitConfig
from tasks.sentiment.evaluate import evaluate_classifier
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.train import train_classifier

pytestmark = pytest.mark.slow
# Two processes take the same updates as one (each rank half of every batch, gradients averaged),
# but dropout draws and float sums differ: like another seed, test accuracy moves by a point or two
# (one standard error on the ~650 test reviews is 1.6 points).
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def tokens(tmp_path_factory, review_lines):
    work = tmp_path_factory.mktemp("ddp")
    lines = review_lines  # all 6,459: a test split of about 650 reviews
    pd.DataFrame({"row": range(1, len(lines) + 1), "label": [int(l[9] == "2") for l in lines],
                  "text": [l.split(" ", 1)[1] for l in lines]}).to_parquet(work / "valid.parquet")
    stats = tokenize_reviews(work / "valid.parquet", work / "tok", PreprocessConfig(processes=1, seq_len=120), SplitConfig())
    return str(work / "tok" / "tokens.parquet"), stats["vocab_size"]


def test_two_processes_reach_the_quality_of_one(tokens, tmp_path):
    path, vocab_size = tokens
    model = ClassifierConfig(embedding_dim=32, hidden_size=32, dropout=0.1)
    results = {}
    for processes in (1, 2):
        out = tmp_path / f"p{processes}"
        out.mkdir()
        train = SentimentTrainSettings(epochs=4, batch_size=32, lr=5e-3, patience=4, processes=processes)
        summary = train_classifier(path, vocab_size, model, train, out, progress=False,
                                   checkpoint=tmp_path / f"p{processes}.ckpt")
        metrics = evaluate_classifier(path, str(out / "model.safetensors"), vocab_size, model)
        results[processes] = (summary, metrics)
        assert json.loads((out / "training.json").read_text())["processes"] == processes
        assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "training.json"]
    (one, m1), (two, m2) = results[1], results[2]
    assert one["samples_seen"] == two["samples_seen"]  # the same batches, shared between the ranks
    assert abs(m2["accuracy"] - m1["accuracy"]) <= TOLERANCE, (m1["accuracy"], m2["accuracy"])
    assert m1["accuracy"] > 0.7 and m2["accuracy"] > 0.7
    print(f"accuracy 1 process {m1['accuracy']:.4f} ({one['samples_per_s']:.0f} samples/s), "
          f"2 processes {m2['accuracy']:.4f} ({two['samples_per_s']:.0f} samples/s)")


RUN = """
import sys
from pathlib import Path
from tasks.sentiment.config import ClassifierConfig, SentimentTrainSettings
from tasks.sentiment.train import train_classifier
path, vocab_size, out, ckpt = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
out.mkdir(exist_ok=True)
train_classifier(path, vocab_size, ClassifierConfig(embedding_dim=16, hidden_size=16, dropout=0.3),
                 SentimentTrainSettings(epochs=8, batch_size=32, lr=5e-3, patience=100, processes=2), out,
                 progress=False, checkpoint=ckpt)
"""


def test_a_killed_two_process_run_resumes_and_ends_like_an_uninterrupted_one(tokens, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch
    from safetensors.torch import load_file

    path, vocab_size = tokens
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def start(out, ckpt):
        return subprocess.Popen([sys.executable, "-c", RUN, path, str(vocab_size), str(out), str(ckpt)], env=env,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    victim, ckpt = start(tmp_path / "resumed", tmp_path / "resumed.ckpt"), tmp_path / "resumed.ckpt"
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        if ckpt.is_file() and torch.load(ckpt, weights_only=True)["epoch"] >= 2:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it could be killed: " + victim.stderr.read()[-2000:]
    os.killpg(victim.pid, signal.SIGKILL)  # both ranks
    victim.wait()
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert killed_at < 8 and not (tmp_path / "resumed" / "model.safetensors").exists()

    for out, ck in ((tmp_path / "resumed", ckpt), (tmp_path / "straight", tmp_path / "straight.ckpt")):
        proc = start(out, ck)
        assert proc.wait(timeout=600) == 0, proc.stderr.read()[-3000:]
    assert json.loads((tmp_path / "resumed" / "training.json").read_text())["resumed_from_epoch"] == killed_at
    a = load_file(tmp_path / "resumed" / "model.safetensors")
    b = load_file(tmp_path / "straight" / "model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
