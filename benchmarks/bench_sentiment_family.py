"""The classifier family on the bundled reviews: each variant is a config of the one classifier,
trained with the pipeline's functions on the same split, next to the default (settings that
follow the data) and TF-IDF + LR. Test accuracy, validation accuracy and training seconds.

    OMP_NUM_THREADS=1 python benchmarks/bench_sentiment_family.py [--seeds 13 7] [--vectors glove.txt]

--vectors: a local GloVe/word2vec text file, for the pretrained-vector variants (frozen and
fine-tuned; their OOV rate is printed).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sentiment_sizes import prepare, run_lstm  # noqa: E402

from tasks.sentiment.baseline import train_baseline  # noqa: E402
from tasks.sentiment.config import SentimentConfig  # noqa: E402

VARIANTS = {
    "default (BiLSTM, max pooling)": {},
    "GRU cell": {"model": {"cell": "gru"}},
    "one direction, last state": {"model": {"bidirectional": False, "pooling": "last"}},
    "stacked (2 layers)": {"model": {"num_layers": 2}},
    "mean pooling": {"model": {"pooling": "mean"}},
    "last-state pooling": {"model": {"pooling": "last"}},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[13])
    ap.add_argument("--vectors", help="GloVe/word2vec text file for the pretrained-vector variants")
    ap.add_argument("--out", default="benchmarks/results/sentiment_family.jsonl")
    args = ap.parse_args()
    variants = dict(VARIANTS)
    if args.vectors:
        variants["pretrained vectors, frozen"] = {"vectors": {"path": args.vectors, "freeze": True}}
        variants["pretrained vectors, fine-tuned"] = {"vectors": {"path": args.vectors}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = SentimentConfig()
        valid, tokens, stats = prepare("full", tmp, base)
        t0 = time.perf_counter()
        tfidf = train_baseline(valid, tokens, base.baseline)["accuracy"]
        tfidf_s = time.perf_counter() - t0
        for name, over in variants.items():
            cfg = SentimentConfig.model_validate(over)
            runs = [run_lstm(tokens, stats, cfg, seed, tmp / f"{len(rows)}-{seed}") for seed in args.seeds]
            rec = {"variant": name, "overrides": over, "runs": runs}
            print(json.dumps(rec), flush=True)
            with open(args.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            rows.append(rec)
    mean = lambda rec, k: sum(r[k] for r in rec["runs"]) / len(rec["runs"])
    print(f"\nbundled reviews ({stats['splits']['train']} train, {stats['splits']['test']} test), seeds {args.seeds}")
    print(f"{'variant':<34}{'test acc':>9}{'val acc':>9}{'seconds':>9}")
    for rec in rows:
        print(f"{rec['variant']:<34}{mean(rec, 'test_acc'):>9.3f}{mean(rec, 'val_acc'):>9.3f}{mean(rec, 'seconds'):>9.0f}")
    print(f"{'TF-IDF + LR':<34}{tfidf:>9.3f}{'':>9}{tfidf_s:>9.0f}")


if __name__ == "__main__":
    main()
