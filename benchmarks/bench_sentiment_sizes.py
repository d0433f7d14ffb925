"""Sentiment LSTM against TF-IDF + LR on sets of different sizes and lengths built from the bundled
reviews, before (the old fixed defaults) and after (settings that follow the data, sizing.py).

Sets: full (6.5 k reviews), sub2000 / sub4000 (the first N lines), first (title + first sentence),
titles (the title alone), sentences (every sentence of every review, labelled with its review's
label: about 30 k short texts, a noisy stand-in for a large set of one-line sentences).
Each set goes through the pipeline's own ingest, validation and tokenization; the LSTM is
trained with the pipeline's train function and scored on the test split, after the settings
were fixed (the rules were chosen on validation splits: docs/decisions/sentiment-research.md).

    OMP_NUM_THREADS=1 python benchmarks/bench_sentiment_sizes.py --seeds 13 7 [--sets titles full]

Prints one table (means over the seeds); raw records go to --out (JSON lines).
"""
from __future__ import annotations

import argparse
import bz2
import json
import re
import tempfile
import time
from pathlib import Path

import torch

from tasks.sentiment.baseline import train_baseline
from tasks.sentiment.config import SentimentConfig
from tasks.sentiment.evaluate import evaluate_classifier
from tasks.sentiment.ingest import write_raw
from tasks.sentiment.sizing import DataShape, resolve
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.train import load_classifier, load_split, train_classifier, vectors_for
from tasks.sentiment.train import vectors_dim as vectors_dim_of
from tasks.sentiment.validate import validate_raw

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon_polarity_head6459.ft.txt.bz2"
SENTENCE = re.compile(r"(?<=[.!?])\s+")
BEFORE = {"model": {"embedding_dim": 64, "hidden_size": 64, "dropout": 0.3},  # the defaults until this change
          "train": {"epochs": 12, "batch_size": 64, "patience": 3, "lr": 0.002}}
SETS = ("titles", "first", "sentences", "sub2000", "sub4000", "full")


def build(name: str, path: Path) -> Path:
    with bz2.open(DATA, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    out = []
    for line in lines:
        label, _, text = line.partition(" ")
        title, sep, body = text.partition(": ")
        if name == "first":
            out.append(f"{label} {title}{sep}{SENTENCE.split(body.strip(), 1)[0] if sep else ''}")
        elif name == "titles":
            out.append(f"{label} {title if sep else text}")
        elif name == "sentences":
            out += [f"{label} {s}" for s in SENTENCE.split(body.strip() if sep else text) if len(s.split()) >= 3]
        else:
            out.append(line)
    if name.startswith("sub"):
        out = out[: int(name[3:])]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def prepare(name: str, root: Path, cfg: SentimentConfig) -> tuple[str, str, dict]:
    src = build(name, root / f"{name}.ft.txt")
    label_map, _, _ = write_raw(src, cfg.ingest, root / "raw.parquet")
    validate_raw(root / "raw.parquet", label_map, src.name, cfg.validation, root)
    stats = tokenize_reviews(root / "valid.parquet", root / "tok", cfg.preprocess.model_copy(update={"workers": 1}),
                             cfg.split)
    return str(root / "valid.parquet"), str(root / "tok" / "tokens.parquet"), stats


def run_lstm(tokens: str, stats: dict, cfg: SentimentConfig, seed: int, out: Path) -> dict:
    shape = DataShape(stats["splits"]["train"], stats["median_train_length"], stats["vocab_size"])
    cfg = cfg.model_copy(update={"vectors": vectors_for(cfg.model, cfg.vectors)})
    vectors_dim = vectors_dim_of(cfg.vectors)
    model, train, _ = resolve(cfg.model, cfg.train.model_copy(update={"seed": seed}), shape, vectors_dim)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = train_classifier(tokens, stats["vocab_size"], model, train, out, progress=False,
                               vocab=str(Path(tokens).parent / "vocab.json"), vectors=cfg.vectors)
    seconds = time.perf_counter() - t0
    test = evaluate_classifier(tokens, str(out / "model.safetensors"), stats["vocab_size"], model)
    val = load_split(tokens, "val")
    clf = load_classifier(out / "model.safetensors", stats["vocab_size"], model)
    with torch.no_grad():
        from lstm_models.training import predict
        val_acc = float(((torch.sigmoid(predict(clf, val, device=torch.device("cpu"))) >= 0.5).float() == val.y)
                        .float().mean())
    return {**({"word_vectors": summary["word_vectors"]} if "word_vectors" in summary else {}),
            "test_acc": test["accuracy"], "val_acc": val_acc, "seconds": round(seconds, 1),
            "epochs_run": len(summary["history"]), "model": model.model_dump(),
            "train": {k: train.model_dump()[k] for k in ("batch_size", "epochs", "patience")}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[13])
    ap.add_argument("--out", default="benchmarks/results/sentiment_sizes.jsonl")
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    base = SentimentConfig()
    before = SentimentConfig.model_validate(BEFORE)
    rows = []
    for name in args.sets:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            valid, tokens, stats = prepare(name, tmp, base)
            t0 = time.perf_counter()
            tfidf = train_baseline(valid, tokens, base.baseline)["accuracy"]
            rec = {"set": name, "n_train": stats["splits"]["train"], "median_tokens": stats["median_train_length"],
                   "vocab": stats["vocab_size"], "tfidf_test_acc": tfidf,
                   "tfidf_seconds": round(time.perf_counter() - t0, 1), "runs": []}
            for seed in args.seeds:
                for tag, cfg in (("before", before), ("after", base)):
                    r = run_lstm(tokens, stats, cfg, seed, tmp / f"{tag}{seed}")
                    rec["runs"].append({"config": tag, "seed": seed, **r})
                    print(json.dumps({"set": name, "config": tag, "seed": seed, **r}), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps({**rec, "threads": torch.get_num_threads()}) + "\n")
        rows.append(rec)

    def mean(rec, tag, key):
        vals = [r[key] for r in rec["runs"] if r["config"] == tag]
        return sum(vals) / len(vals)

    print(f"\nseeds {args.seeds}, torch threads {torch.get_num_threads()}; test accuracy (mean over seeds), "
          "training seconds")
    print(f"{'set':<10}{'train':>7}{'median':>7}{'TF-IDF':>8}{'before':>8}{'s':>6}{'after':>8}{'s':>6}"
          f"{'after-TFIDF':>12}{'val before':>11}{'val after':>10}")
    for r in rows:
        b, a = mean(r, "before", "test_acc"), mean(r, "after", "test_acc")
        print(f"{r['set']:<10}{r['n_train']:>7}{r['median_tokens']:>7.0f}{r['tfidf_test_acc']:>8.3f}{b:>8.3f}"
              f"{mean(r, 'before', 'seconds'):>6.0f}{a:>8.3f}{mean(r, 'after', 'seconds'):>6.0f}"
              f"{100 * (a - r['tfidf_test_acc']):>+12.1f}{mean(r, 'before', 'val_acc'):>11.3f}"
              f"{mean(r, 'after', 'val_acc'):>10.3f}")


if __name__ == "__main__":
    main()
