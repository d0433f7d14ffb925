"""Text preprocessing throughput: our sharded, streamed tokenization (tasks/sentiment/tokenize.py) against
a plain sequential version of the article's steps, on the same reviews, in one run.

    .venv/bin/python benchmarks/bench_preprocess.py [--reviews 100000] [--workers 1,2]

Input: `--reviews` reviews drawn from the bundled sample (shuffled repeats, seeded), written as
valid.parquet (row, label, text) before any clock starts. Both sides then read that file and go
through clean + NLTK tokenize, vocabulary (training split, min_count), encode, Parquet:

- article steps: one process; a Counter loop over every word of the training reviews, a
  word-by-word index lookup in a list comprehension, every row padded to seq_len 200 in a
  numpy matrix, written to Parquet. It uses the same `lstm_models.text.tokenize` (the same
  cleaning) and is given the same train/val/test split, so the ids must come out identical.
- ours: `tokenize_reviews` with 1 and 2 worker processes, each distinct text of a shard
  tokenized once (dedup) and, to show what parallelism alone gives, with dedup switched off.

The bundled sample has 6,459 reviews, so a 100 k draw repeats each about 15 times: dedup gains
far more here than on a real dump. The dedup-off rows are the fair measure of the parallel
path. Identical ids (unpadded) are asserted for every run. The main ratio is printed last.
"""
from __future__ import annotations

import argparse
import bz2
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lstm_models.text import tokenize
from tasks.sentiment.config import PreprocessConfig, SplitConfig
from tasks.sentiment.tokenize import SPLITS, tokenize_reviews

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"
SEQ_LEN, MIN_COUNT = 200, 2


def build_input(path: Path, n: int, seed: int = 0) -> None:
    lines = bz2.open(DATA, "rt", encoding="utf-8").read().splitlines()
    rng = np.random.default_rng(seed)
    pick = rng.permutation(np.tile(np.arange(len(lines)), -(-n // len(lines))))[:n]
    chosen = [lines[i] for i in pick]
    pd.DataFrame({"row": np.arange(1, n + 1), "label": np.array([int(l[9] == "2") for l in chosen], np.int8),
                  "text": [l.split(" ", 1)[1] for l in chosen]}).to_parquet(path)


def article_steps(valid: Path, is_train: np.ndarray, out: Path) -> list[list[int]]:
    """The article's preprocessing, written plainly: returns the unpadded ids (for the check)."""
    table = pq.read_table(valid)
    texts = table.column("text").to_pylist()
    reviews = [tokenize(t) for t in texts]

    counts = Counter()
    for words, train in zip(reviews, is_train):
        if train:
            for w in words:
                counts[w] += 1
    words = sorted((w for w in counts if counts[w] >= MIN_COUNT), key=lambda w: (-counts[w], w))
    vocab_to_int = {w: i for i, w in enumerate(["_PAD", "_UNK", *words])}

    encoded = []
    for review in reviews:
        ids = [vocab_to_int.get(w, 1) for w in review][:SEQ_LEN]
        encoded.append(ids or [1])

    features = np.zeros((len(encoded), SEQ_LEN), dtype=np.int32)
    for i, ids in enumerate(encoded):  # per-row padding, on the left as in the article
        features[i, SEQ_LEN - len(ids):] = ids
    pq.write_table(pa.table({"row": table.column("row"), "label": table.column("label"),
                             "ids": pa.FixedSizeListArray.from_arrays(pa.array(features.ravel()), SEQ_LEN)}), out)
    return encoded


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reviews", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    split = SplitConfig()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        valid = tmp / "valid.parquet"
        build_input(valid, args.reviews)
        distinct = pq.read_table(valid, columns=["text"]).column("text").unique()
        print(f"{args.reviews} reviews ({len(distinct)} distinct texts) from {DATA.name}; seq_len {SEQ_LEN}, "
              f"min_count {MIN_COUNT}, shard_rows {PreprocessConfig().shard_rows}")

        results = {}
        reference_ids = None
        for dedup in (True, False):
            for w in workers:
                out = tmp / f"ours-{w}-{dedup}"
                t0 = time.perf_counter()
                tokenize_reviews(valid, out, PreprocessConfig(processes=w, seq_len=SEQ_LEN, min_count=MIN_COUNT), split,
                                 dedup=dedup)
                results[(w, dedup)] = time.perf_counter() - t0
                tokens = pq.read_table(out / "tokens.parquet", columns=["split", "ids"])
                ids = tokens.column("ids").to_pylist()
                if reference_ids is None:
                    reference_ids, split_names = ids, tokens.column("split").cast(pa.string()).to_pylist()
                assert ids == reference_ids, f"ids differ with {w} workers, dedup={dedup}"

        is_train = np.array([s == SPLITS[0] for s in split_names])
        t0 = time.perf_counter()
        article_ids = article_steps(valid, is_train, tmp / "article.parquet")
        article = time.perf_counter() - t0
        assert article_ids == reference_ids, "article steps and ours give different ids"
        padded = pq.read_table(tmp / "article.parquet", columns=["ids"]).column("ids").to_pylist()
        assert all(p[SEQ_LEN - len(i):] == i for p, i in zip(padded[:1000], article_ids[:1000]))
        print("ids identical: article steps (unpadded) == ours, every worker count, dedup on and off")

    n = args.reviews
    print(f"\n{'path':<40}{'seconds':>9}{'reviews/s':>11}{'vs article':>12}")
    print(f"{'article steps (sequential)':<40}{article:>9.1f}{n / article:>11.0f}{1.0:>11.2f}x")
    for dedup in (False, True):
        for w in workers:
            s = results[(w, dedup)]
            name = f"ours, {w} worker{'s' if w > 1 else ''}, dedup {'on' if dedup else 'off'}"
            print(f"{name:<40}{s:>9.1f}{n / s:>11.0f}{article / s:>11.2f}x")
    for dedup in (False, True):
        if len(workers) > 1:
            base, top = min(workers), max(workers)
            print(f"scaling {base} -> {top} workers, dedup {'on' if dedup else 'off'}: "
                  f"{results[(base, dedup)] / results[(top, dedup)]:.2f}x")
    top = max(workers)
    print(f"speed-up vs article steps ({top} workers, dedup off: parallelism alone): {article / results[(top, False)]:.2f}x")
    print(f"speed-up vs article steps ({top} workers): {article / results[(top, True)]:.2f}x")


if __name__ == "__main__":
    main()
