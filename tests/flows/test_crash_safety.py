"""Crash safety of whole runs, as users run them (the CLI in a subprocess against the session's
Prefect server): a SIGKILLed training run resumes from its checkpoint when the flow is re-run,
and two runs publishing into one registry at the same time both land."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tasks.shared.registry import Registry

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parents[2]


def start(args, api_url):
    # one torch thread: a multi-threaded reduction can split its sums differently under load, and a last-bit
    # difference then grows over the epochs; the test is about the resumed state, not thread scheduling
    env = {**os.environ, "PREFECT_API_URL": api_url, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(CLI + args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc, timeout=600) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, review_lines):
    path = tmp_path_factory.mktemp("data") / "reviews.ft.txt"
    path.write_text("\n".join(review_lines[:600]) + "\n")
    return path


def config(tmp_path, name, epochs, seed=13):
    path = tmp_path / f"{name}.yaml"
    path.write_text("preprocess: {seq_len: 60, processes: 1}\nmodel: {embedding_dim: 16, hidden_size: 16}\n"
                    f"train: {{epochs: {epochs}, patience: 1000, seed: {seed}}}\nvalidation: {{min_rows_per_class: 5}}\n"
                    "gate: {baseline: naive}\n")  # these small models lose to TF-IDF + LR; a champion is needed
    return path


def test_killed_training_run_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_run(
        prefect_api, reviews, tmp_path):
    cfg, out = config(tmp_path, "long", epochs=12), tmp_path / "out"
    args = ["sentiment", "train", "--data", str(reviews), "--config", str(cfg), "--output", str(out), "--json"]
    victim = start(args, prefect_api)
    deadline, killed_at = time.time() + 300, None
    while time.time() < deadline and victim.poll() is None:
        ckpts = list((out / "work" / "train").glob("*.ckpt")) if (out / "work" / "train").exists() else []
        if ckpts and (epoch := torch.load(ckpts[0], weights_only=True)["epoch"]) >= 3:
            killed_at = epoch
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it could be killed: " + victim.stderr.read()[-1000:]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    killed_at = torch.load(ckpts[0], weights_only=True)["epoch"]  # it may have saved one more
    assert killed_at < 12 and not list((out / "work" / "train").glob("*/model.safetensors"))

    resumed = finish(start(args, prefect_api))
    assert "train" not in resumed["cached"] and {"ingest", "validate", "tokenize"} <= set(resumed["cached"])
    train_dir = next(p for p in (out / "work" / "train").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert json.loads((train_dir / "training.json").read_text())["resumed_from_epoch"] == killed_at
    assert not list((out / "work" / "train").glob("*.ckpt"))  # removed once the stage completed

    straight = finish(start(["sentiment", "train", "--data", str(reviews), "--config", str(cfg),
                             "--output", str(tmp_path / "straight"), "--json"], prefect_api))
    a = load_file(Path(resumed["bundle"]) / "weights.safetensors")
    b = load_file(Path(straight["bundle"]) / "weights.safetensors")
    for k in a:  # same seed and data on CPU: the same weights (tolerance for float summation order)
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    assert resumed["metrics"] == straight["metrics"]


def test_two_runs_publishing_at_once_get_distinct_versions_and_a_valid_champion(prefect_api, reviews, tmp_path):
    registry = tmp_path / "registry"
    runs = [start(["sentiment", "train", "--data", str(reviews), "--config", str(config(tmp_path, f"s{seed}", 2, seed)),
                   "--output", str(tmp_path / f"out{seed}"), "--registry", str(registry), "--json"], prefect_api)
            for seed in (1, 2)]
    summaries = [finish(p) for p in runs]
    versions = {s["version"] for s in summaries}
    reg = Registry(registry)
    assert len(versions) == 2 and set(reg.versions("sentiment")) == versions
    champion = reg.champion("sentiment")["version"]
    assert champion in versions and (reg.local_path("sentiment", champion) / "weights.safetensors").is_file()
    assert summaries[0]["champion"] in versions and summaries[1]["champion"] in versions
