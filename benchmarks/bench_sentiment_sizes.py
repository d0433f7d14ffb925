"""Sentiment classifier against TF-IDF + LR on sets of different sizes and lengths: the LSTM alone
(`model.bag_buckets: 0`) and the default (the LSTM with its bag of words and word pairs beside it).

Sets from the bundled reviews: full (6.5 k reviews), sub2000 / sub4000 (the first N lines), first
(title + first sentence), titles (the title alone), sentences (every sentence of every review,
labelled with its review's label: about 30 k short texts, a noisy stand-in for a large set of
one-line sentences). From ../shared/data/reviews/ (when it is there): hotels10k (the first 10,000
hotel reviews) and hotels56k (all 56 k: long texts, a large set).
Each set goes through the pipeline's own ingest, validation and tokenization; the model is
trained with the pipeline's train function and scored on the test split, after the settings
were fixed on validation splits (docs/decisions/sentiment-defaults.md).

    python benchmarks/bench_sentiment_sizes.py --seeds 13 7 [--sets titles full] [--configs default]

Prints one table (means over the seeds; validation and test accuracy); raw records go to --out.
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
HOTELS = Path(__file__).resolve().parents[2] / "shared" / "data" / "reviews" / "tripadvisor_hotels_balanced56k.ft.txt.bz2"
CONFIGS = {"lstm": {"model": {"bag_buckets": 0}}, "default": {}}
SETS = ("titles", "first", "sentences", "sub2000", "sub4000", "full", "hotels10k", "hotels56k")


def build(name: str, path: Path) -> Path:
    with bz2.open(HOTELS if name.startswith("hotels") else DATA, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if name == "hotels10k":
        lines = lines[:10_000]
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
    stats = tokenize_reviews(root / "valid.parquet", root / "tok", cfg.preprocess.model_copy(update={"processes": 1}),
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
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    ap.add_argument("--out", default="benchmarks/results/sentiment_sizes.jsonl")
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    base = SentimentConfig()
    configs = {tag: SentimentConfig.model_validate(CONFIGS[tag]) for tag in args.configs}
    rows = []
    for name in args.sets:
        if name.startswith("hotels") and not HOTELS.exists():
            print(f"skipping {name}: {HOTELS} is not there")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            valid, tokens, stats = prepare(name, tmp, base)
            t0 = time.perf_counter()
            tfidf = train_baseline(valid, tokens, base.baseline)["accuracy"]
            rec = {"set": name, "n_train": stats["splits"]["train"], "median_tokens": stats["median_train_length"],
                   "vocab": stats["vocab_size"], "tfidf_test_acc": tfidf,
                   "tfidf_seconds": round(time.perf_counter() - t0, 1), "runs": []}
            for seed in args.seeds:
                for tag, cfg in configs.items():
                    r = run_lstm(tokens, stats, cfg, seed, tmp / f"{tag}{seed}")
                    rec["runs"].append({"config": tag, "seed": seed, **r})
                    print(json.dumps({"set": name, "config": tag, "seed": seed, **r}), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps({**rec, "threads": torch.get_num_threads()}) + "\n")
        rows.append(rec)

    def mean(rec, tag, key):
        vals = [r[key] for r in rec["runs"] if r["config"] == tag]
        return sum(vals) / len(vals) if vals else float("nan")

    print(f"\nseeds {args.seeds}, torch threads {torch.get_num_threads()}; accuracy (mean over seeds), "
          "training seconds")
    head = f"{'set':<10}{'train':>7}{'median':>7}{'TF-IDF':>8}"
    for tag in configs:
        head += f"{tag + ' val':>13}{'test':>7}{'s':>6}"
    print(head + f"{'last-TFIDF':>11}")
    for r in rows:
        line = f"{r['set']:<10}{r['n_train']:>7}{r['median_tokens']:>7.0f}{r['tfidf_test_acc']:>8.3f}"
        for tag in configs:
            line += f"{mean(r, tag, 'val_acc'):>13.3f}{mean(r, tag, 'test_acc'):>7.3f}{mean(r, tag, 'seconds'):>6.0f}"
        last = mean(r, list(configs)[-1], "test_acc")
        print(line + f"{100 * (last - r['tfidf_test_acc']):>+11.1f}")

if __name__ == "__main__":
    main()
