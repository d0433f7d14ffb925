"""Training the sentiment LSTM on one process against two DistributedDataParallel processes
(gloo on CPU, started by the training itself: lstm_models/distributed.py), on the bundled
reviews with the pipeline's own settings for them (tasks/sentiment/sizing.py), measured in
this one run: samples per second and test accuracy.

    .venv/bin/python benchmarks/bench_ddp.py [--seeds 13 7]

Three ways: one process with torch's default threads (one a core: today's default), one process
with one thread, and two processes with one thread each.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from tasks.sentiment.config import SentimentConfig
from tasks.sentiment.evaluate import evaluate_classifier
from tasks.sentiment.sizing import DataShape, resolve
from tasks.sentiment.train import train_classifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sentiment_sizes import prepare  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[13, 7])
    args = ap.parse_args()
    cfg = SentimentConfig()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, tokens, stats = prepare("full", root, cfg)  # the pipeline's ingest, validation and tokenization
        shape = DataShape(stats["splits"]["train"], stats["median_train_length"], stats["vocab_size"])
        default_threads = torch.get_num_threads()
        ways = [("1 process, default threads", 1, default_threads), ("1 process, 1 thread", 1, 1),
                ("2 processes, 1 thread each", 2, 1)]
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in ways}
        for seed in args.seeds:
            model, train, _ = resolve(cfg.model, cfg.train.model_copy(update={"seed": seed}), shape, None)
            for name, processes, threads in ways:
                out = root / f"{name}-{seed}".replace(" ", "_").replace(",", "")
                out.mkdir()
                torch.set_num_threads(threads)
                t0 = time.perf_counter()
                summary = train_classifier(tokens, stats["vocab_size"], model, train.model_copy(
                    update={"processes": processes}), out, progress=False)
                seconds = time.perf_counter() - t0
                torch.set_num_threads(default_threads)
                acc = evaluate_classifier(tokens, str(out / "model.safetensors"), stats["vocab_size"], model)["accuracy"]
                results[name].append((summary["samples_per_s"], acc, seconds))
                print(f"seed {seed:>3}  {name:<28} {summary['samples_per_s']:>7.0f} samples/s  accuracy {acc:.4f}  "
                      f"{seconds:.1f} s (epochs run {summary['best_epoch']:.1f} best)", flush=True)
        print(f"\nmeans over seeds {args.seeds} ({stats['splits']['train']} training reviews, {model.model_dump()}, "
              f"{train.model_dump(include={'epochs', 'batch_size', 'lr'})})")
        base = statistics.mean(r[0] for r in results[ways[0][0]])
        for name, _, _ in ways:
            sps = statistics.mean(r[0] for r in results[name])
            acc = statistics.mean(r[1] for r in results[name])
            print(f"  {name:<28} {sps:>7.0f} samples/s (x{sps / base:.2f})  test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
