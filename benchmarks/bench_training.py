"""Training throughput: length-bucketed, per-batch padding (ours) vs fixed padding to 200 tokens
(the article's way), same model, same data, measured side by side in one run.

    .venv/bin/python benchmarks/bench_training.py [--epochs N] [--threads N]

Both runs use the default sentiment config (early stopping on validation loss, best weights)
unless --epochs fixes the number of epochs.

Prints samples/s and test accuracy for both, a table of seconds per epoch against mean text
length (same number of examples), and the speed-up ratio last.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.training import TrainConfig, fit, predict
from tasks.sentiment.config import SentimentConfig
from tasks.sentiment.ingest import write_raw
from tasks.sentiment.sizing import DataShape, resolve
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.train import load_split
from tasks.sentiment.validate import validate_raw

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"


def fixed_padding(data: TensorData, width: int = 200) -> TensorData:
    """Every example padded (and truncated) to `width`, as the article does; the model then
    runs over all `width` steps, pads included."""
    x = torch.zeros((len(data), width), dtype=torch.long)
    n = min(width, data.x.shape[1])
    x[:, :n] = data.x[:, :n]
    return TensorData(x, data.y, torch.full((len(data),), width, dtype=torch.long))


def truncated(data: TensorData, cap: int) -> TensorData:
    lengths = data.lengths.clamp(max=cap)
    x = data.x[:, :cap].clone()
    x[torch.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0
    return TensorData(x, data.y, lengths)


def run(train: TensorData, val: TensorData, test: TensorData, vocab: int, cfg: SentimentConfig, epochs: int):
    torch.manual_seed(cfg.train.seed)
    model = LSTMClassifier(vocab, **cfg.model.model_dump())
    overrides = {"epochs": epochs, "patience": epochs + 1} if epochs else {}
    tc = TrainConfig(**{**cfg.train.model_dump(), **overrides})
    t0 = time.perf_counter()
    result = fit(model, train, val, F.binary_cross_entropy_with_logits, tc, progress=False)
    seconds = time.perf_counter() - t0
    prob = torch.sigmoid(predict(model, test))
    acc = float(((prob >= 0.5).float() == test.y).float().mean())
    return result.samples_per_s, acc, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=0, help="0: the default config's epochs and early stopping")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = SentimentConfig()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        label_map, _, _ = write_raw(DATA, cfg.ingest, tmp / "raw.parquet")
        validate_raw(tmp / "raw.parquet", label_map, DATA.name, cfg.validation, tmp)
        stats = tokenize_reviews(tmp / "valid.parquet", tmp / "tok", cfg.preprocess, cfg.split)
        train, val, test = (load_split(tmp / "tok/tokens.parquet", s) for s in ("train", "val", "test"))
    vocab = stats["vocab_size"]
    shape = DataShape(len(train), stats["median_train_length"], vocab)  # the settings the flow would choose
    model_cfg, train_cfg, _ = resolve(cfg.model, cfg.train, shape)
    cfg = cfg.model_copy(update={"model": model_cfg, "train": train_cfg})
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, train {len(train)} reviews, "
          f"mean length {float(train.lengths.float().mean()):.1f} tokens (cap {cfg.preprocess.seq_len})")

    ours = run(train, val, test, vocab, cfg, args.epochs)
    fixed = run(fixed_padding(train), fixed_padding(val), fixed_padding(test), vocab, cfg, args.epochs)
    print(f"{'batching':<28}{'samples/s':>10}{'test acc':>10}{'seconds':>9}")
    print(f"{'bucketed, per-batch padding':<28}{ours[0]:>10.1f}{ours[1]:>10.4f}{ours[2]:>9.1f}")
    print(f"{'fixed padding to 200':<28}{fixed[0]:>10.1f}{fixed[1]:>10.4f}{fixed[2]:>9.1f}")
    print(f"accuracy difference: {100 * (ours[1] - fixed[1]):+.2f} points")

    n = min(2000, len(train))
    sub = TensorData(train.x[:n], train.y[:n], train.lengths[:n])
    print(f"\nseconds per epoch vs mean text length ({n} examples, one epoch each)")
    print(f"{'cap':>5}{'mean tokens':>12}{'s/epoch':>9}")
    for cap in (10, 40, 80, 200):
        data = truncated(sub, cap)
        torch.manual_seed(0)
        model = LSTMClassifier(vocab, **cfg.model.model_dump())
        tc = TrainConfig(**{**cfg.train.model_dump(), "epochs": 1})
        t0 = time.perf_counter()
        fit(model, data, TensorData(data.x[:64], data.y[:64], data.lengths[:64]), F.binary_cross_entropy_with_logits, tc, progress=False)
        print(f"{cap:>5}{float(data.lengths.float().mean()):>12.1f}{time.perf_counter() - t0:>9.2f}")

    print(f"\nspeed-up (samples/s, bucketed / fixed-200): {ours[0] / fixed[0]:.2f}x")


if __name__ == "__main__":
    main()
