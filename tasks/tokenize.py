"""Reviews -> token ids, in parallel shards.

Workers clean + NLTK-tokenize one shard each, write its tokens to Parquet and return a hash
of each review's tokens (duplicates share a hash). Then a seeded split that puts duplicates in
the same split (no leakage); tokens of the training split are counted shard by shard and merged
into one vocabulary; each shard is encoded. The result is identical to a one-process run (same
vocabulary, ids and order) whatever the number of workers or the shard size.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lstm_models.text import build_vocab, encode, token_index, tokenize

from .caching import cached_task, staging

SPLITS = ("train", "val", "test")


def _digest(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest(), "little")


def tokenize_shard(texts: list[str], out_path: str) -> np.ndarray:
    """Tokenize one shard to Parquet; return the uint64 content hash of each review."""
    token_lists = [tokenize(t) for t in texts]
    pq.write_table(pa.table({"tokens": pa.array(token_lists, pa.list_(pa.string()))}), out_path)
    return np.fromiter((_digest(t) for t in token_lists), dtype=np.uint64, count=len(token_lists))


def count_shard(tokens_path: str, train_mask: np.ndarray) -> Counter:
    tokens = pq.read_table(tokens_path).column("tokens").to_pylist()
    counts: Counter = Counter()
    for toks, keep in zip(tokens, train_mask):
        if keep:
            counts.update(toks)
    return counts


def encode_shard(tokens_path: str, itos: list[str], seq_len: int) -> list[list[int]]:
    index = token_index(itos)
    return [encode(t, index, seq_len) for t in pq.read_table(tokens_path).column("tokens").to_pylist()]


def assign_splits(digests: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Split by a seeded hash of each review's tokens: reproducible, independent of row order
    and shard layout, and duplicates always land in the same split."""
    mixed = np.array([
        int.from_bytes(hashlib.blake2b(int(d).to_bytes(8, "little"), digest_size=8, key=str(seed).encode()).digest(), "little")
        for d in digests
    ], dtype=np.float64) / 2.0**64
    split = np.full(len(digests), 0, dtype=np.int8)
    split[mixed < val_fraction + test_fraction] = 1
    split[mixed < test_fraction] = 2
    return split


class _Runner:
    """Map over shards in a process pool, or in this process when one worker will do."""

    def __init__(self, workers: int, n_shards: int):
        self.workers = min(workers or os.cpu_count() or 1, n_shards)
        self.pool = None
        if self.workers > 1:
            # spawn: the parent may hold threads (Prefect's logging), which fork does not copy safely
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))

    def map(self, fn, *iterables):
        return list(self.pool.map(fn, *iterables)) if self.pool else list(map(fn, *iterables))

    def close(self):
        if self.pool:
            self.pool.shutdown()


def tokenize_reviews(valid_path: str | Path, out_dir: str | Path, preprocess, split) -> dict:
    """valid.parquet -> tokens.parquet (row, label, split, length, ids), vocab.json, split.json."""
    out_dir = Path(out_dir)
    table = pq.read_table(valid_path, columns=["row", "label", "text"])
    n = table.num_rows
    bounds = list(range(0, n, preprocess.shard_rows)) or [0]
    shard_dir = out_dir / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    paths = [str(shard_dir / f"tokens-{i:05d}.parquet") for i in range(len(bounds))]
    texts = table.column("text")
    runner = _Runner(preprocess.workers, len(bounds))
    try:
        digests = runner.map(tokenize_shard, (texts.slice(b, preprocess.shard_rows).to_pylist() for b in bounds), paths)
        digest = np.concatenate(digests) if digests else np.empty(0, np.uint64)
        split_id = assign_splits(digest, split.val_fraction, split.test_fraction, split.seed)
    finally:
        runner.close()
    # Counting and encoding are cheap next to tokenizing: one shard at a time, in this process.
    counts: Counter = Counter()
    for b, path in zip(bounds, paths):
        counts.update(count_shard(path, split_id[b:b + preprocess.shard_rows] == 0))
    itos = build_vocab(counts, preprocess.min_count, preprocess.max_vocab)
    ids = [x for path in paths for x in encode_shard(path, itos, preprocess.seq_len)]

    lengths = np.fromiter((len(x) for x in ids), dtype=np.int32, count=n)
    out = pa.table({
        "row": table.column("row"),
        "label": table.column("label"),
        "split": pa.array(np.asarray(SPLITS)[split_id]).dictionary_encode(),
        "length": lengths,
        "ids": pa.array(ids, pa.list_(pa.int32())),
    })
    pq.write_table(out, out_dir / "tokens.parquet")
    sizes = {s: int((split_id == i).sum()) for i, s in enumerate(SPLITS)}
    dup_groups = n - len(np.unique(digest))
    split_info = {"seed": split.seed, "val_fraction": split.val_fraction, "test_fraction": split.test_fraction,
                  "sizes": sizes, "duplicate_reviews": int(dup_groups),
                  "method": "seeded hash of the review's tokens: duplicates share a split"}
    vocab = {"itos": itos, "min_count": preprocess.min_count, "seq_len": preprocess.seq_len,
             "train_tokens": int(sum(counts.values())), "train_types": len(counts)}
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (out_dir / "split.json").write_text(json.dumps(split_info, indent=2))
    oov = 1.0 - sum(counts[t] for t in itos[2:]) / max(sum(counts.values()), 1)
    return {"rows": n, "splits": sizes, "vocab_size": len(itos), "duplicate_reviews": int(dup_groups),
            "train_oov_rate": round(oov, 4), "mean_length": float(lengths.mean()) if n else 0.0,
            "truncated": int((lengths >= preprocess.seq_len).sum())}


@cached_task(name="tokenize-reviews")
def tokenize_reviews_task(valid: str, preprocess: dict, split: dict, out_dir: str, cache_key: str) -> dict:
    from flows.config import PreprocessConfig, SplitConfig

    with staging(out_dir) as tmp:
        stats = tokenize_reviews(valid, tmp, PreprocessConfig.model_validate(preprocess), SplitConfig.model_validate(split))
    out = Path(out_dir)
    return {**stats, "tokens": str(out / "tokens.parquet"), "vocab": str(out / "vocab.json"), "split": str(out / "split.json")}
