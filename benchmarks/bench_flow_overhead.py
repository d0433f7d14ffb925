"""The training stage against its own loop: the flow's training samples/s next to plain `fit()`
on the same tokens (or windows) and settings, measured in one run, for both pipelines.

    .venv/bin/python benchmarks/bench_flow_overhead.py [--sets bundled long forecast] [--repeats 1]

Each measurement is its own process with the same environment, as a user runs it:
- flow: `lstm-pipeline <pipeline> train` on the set with a fixed config (every stage runs:
  ingest, validation, tokenization, training, evaluation, publishing, the temporary API server);
  its samples/s is the one the training stage wrote (training.json);
- fit: a plain Python process that imports the model and `lstm_models.training.fit` only (no
  Prefect), builds the same model from the same seed and trains it on that run's own
  tokens.parquet / windows.parquet with the same settings.

Sets: `bundled` (the 6,459 bundled reviews), `long` (the first 4,000 hotel reviews of
../shared/data, median ~170 words, cap 400 tokens), `forecast` (5 of the shared price
histories). Prints one line a measurement and the ratio of the medians (flow / fit) per set last; the target is
>= 0.8 (goal 0.9).
"""
from __future__ import annotations

import argparse
import bz2
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CLI = str(Path(sys.executable).with_name("lstm-pipeline"))

SENTIMENT_CONFIG = {"model": {"embedding_dim": 64, "hidden_size": 64, "dropout": 0.3},
                    "train": {"lr": 0.002, "batch_size": 64, "epochs": 3, "patience": 10}}
FORECAST_CONFIG = {"train": {"max_samples": 300_000, "min_samples": 20_000, "epochs": 50}}
FORECAST_TICKERS = ("AAPL", "KO", "MSFT", "JNJ", "SBUX")


def prepare_set(name: str, folder: Path) -> tuple[str, str, dict]:
    """(pipeline, data path, config) of a set."""
    if name == "bundled":
        return "sentiment", str(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"), SENTIMENT_CONFIG
    if name == "long":
        path = folder / "hotels4000.ft.txt"
        with bz2.open(SHARED / "reviews" / "tripadvisor_hotels_balanced56k.ft.txt.bz2", "rt", encoding="utf-8") as f:
            path.write_text("".join(next(f) for _ in range(4000)), encoding="utf-8")
        return "sentiment", str(path), {**SENTIMENT_CONFIG, "preprocess": {"seq_len": 400}}
    if name == "forecast":
        prices = folder / "prices"
        prices.mkdir()
        for ticker in FORECAST_TICKERS:
            shutil.copy(SHARED / "stocks" / "history" / f"{ticker}.csv.gz", prices)
        return "forecast", str(prices), FORECAST_CONFIG
    raise SystemExit(f"unknown set {name!r}: bundled, long or forecast")


def flow_run(pipeline: str, data: str, config: dict, out: Path) -> dict:
    """The CLI's training run; returns the training stage's summary and its stage folders."""
    cfg = out.with_suffix(".json")
    cfg.write_text(json.dumps(config))
    proc = subprocess.run([CLI, pipeline, "train", "--data", data, "--config", str(cfg), "--output", str(out), "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"{pipeline} train failed:\n{proc.stderr[-3000:]}")
    summary = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    training = json.loads(next((out / "work" / "train").glob("*/training.json")).read_text())
    stage = "tokenize" if pipeline == "sentiment" else "prepare"
    settings = json.loads((Path(summary["bundle"]) / "config.json").read_text())["pipeline"]  # as the flow resolved them
    return {"training": training, "inputs": str(next((out / "work" / stage).iterdir())), "settings": settings,
            "flow_seconds": summary["seconds"]}


def plain_fit(pipeline: str, inputs: str, settings: dict) -> dict:
    """fit() alone in a fresh process (this script with --plain-fit)."""
    proc = subprocess.run([sys.executable, __file__, "--plain-fit", pipeline, inputs, json.dumps(settings)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"plain fit failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def _plain_fit_main(pipeline: str, inputs: str, settings: str) -> None:
    """Only torch, the model and the loop: what the training stage runs, minus everything around it."""
    import torch

    sys.path.insert(0, str(ROOT))
    from lstm_models.training import fit

    settings = json.loads(settings)
    if pipeline == "sentiment":
        from lstm_models.training import TrainConfig
        from tasks.sentiment.config import SentimentConfig
        from tasks.sentiment.train import bce, build_classifier, load_split

        sc = SentimentConfig.model_validate(settings)
        folder = Path(inputs)
        vocab_size = len(json.loads((folder / "vocab.json").read_text())["itos"])
        train, val = load_split(folder / "tokens.parquet", "train"), load_split(folder / "tokens.parquet", "val")
        torch.manual_seed(sc.train.seed)
        model = build_classifier(vocab_size, sc.model)
        result = fit(model, train, val, bce, TrainConfig(**sc.train.model_dump(exclude={"processes"})), progress=False)
    else:
        import pyarrow.parquet as pq

        from tasks.forecast.config import ForecastConfig
        from tasks.forecast.prepare import load_windows
        from tasks.forecast.train import build_regressor, fit_config, tensor_data, weighted_loss

        fc = ForecastConfig.model_validate(settings)
        windows = str(Path(inputs) / "windows.parquet")
        train, val = load_windows(windows, "train"), load_windows(windows, "val")
        meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
        torch.manual_seed(fc.train.seed)
        model = build_regressor(meta, fc.model)
        result = fit(model, tensor_data(train), tensor_data(val), weighted_loss(fc.train.loss),
                     fit_config(len(train["x"]), fc.train), progress=False)
    print(json.dumps({"samples_per_s": result.samples_per_s, "samples_seen": result.samples_seen,
                      "torch_threads": torch.get_num_threads()}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--plain-fit":
        return _plain_fit_main(*sys.argv[2:5])
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["bundled", "long", "forecast"])
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            pipeline, data, config = prepare_set(name, Path(tmp))
            flows, fits = [], []
            for r in range(args.repeats):
                run = flow_run(pipeline, data, config, Path(tmp) / f"{name}-{r}")
                plain = plain_fit(pipeline, run["inputs"], run["settings"])
                flows.append(run["training"]["samples_per_s"])
                fits.append(plain["samples_per_s"])
                same = run["training"]["samples_seen"] == plain["samples_seen"]
                print(f"{name:9s} flow {flows[-1]:8.1f} samples/s (flow {run['flow_seconds']:.1f} s)   "
                      f"fit() {fits[-1]:8.1f} samples/s   samples seen {plain['samples_seen']}"
                      f"{'' if same else ' (flow: ' + str(run['training']['samples_seen']) + ')'}", flush=True)
            ratios[name] = statistics.median(flows) / statistics.median(fits)
    for name, ratio in ratios.items():
        print(f"{name}: training stage / plain fit() = {ratio:.2f}x (target >= 0.8, goal 0.9)")


if __name__ == "__main__":
    main()
