"""Per-shard tokenization work, run in worker processes.

Kept free of Prefect (and of anything else heavy) so a spawned worker starts fast: it imports
only this module, NLTK's tokenizer and pyarrow.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lstm_models.text import encode, token_index, tokenize


def _digest(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest(), "little")


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


def tokenize_shard(texts: list[str], out_path: str, split, dedup: bool = True) -> tuple[np.ndarray, np.ndarray, Counter]:
    """Pass 1 for one shard: (uint64 token hash of each review, its split, training-split token
    counts). The shard's distinct token lists go to out_path, with each review's index into them
    next to it (`.inverse.npy`)."""
    if dedup:
        first: dict[str, int] = {}
        inverse = np.fromiter((first.setdefault(t, len(first)) for t in texts), np.int32, len(texts))
        distinct = list(first)
        del first
    else:
        inverse, distinct = np.arange(len(texts), dtype=np.int32), texts
    token_lists = [tokenize(t) for t in distinct]
    pq.write_table(pa.table({"tokens": pa.array(token_lists, pa.list_(pa.string()))}), out_path)
    np.save(out_path + ".inverse.npy", inverse)
    digests = np.fromiter((_digest(t) for t in token_lists), dtype=np.uint64, count=len(token_lists))
    splits = assign_splits(digests, split.val_fraction, split.test_fraction, split.seed)
    # how many training rows each distinct text stands for
    weight = np.bincount(inverse[splits[inverse] == 0], minlength=len(token_lists))
    counts: Counter = Counter()
    for tokens, w in zip(token_lists, weight.tolist()):
        if w == 1:
            counts.update(tokens)
        elif w:
            for t, c in Counter(tokens).items():
                counts[t] += c * w
    return digests[inverse], splits[inverse], counts


_INDEX: tuple[str, dict[str, int]] | None = None


def _vocab_index(vocab_path: str) -> dict[str, int]:
    """The token -> id map, loaded once per worker process."""
    global _INDEX
    if _INDEX is None or _INDEX[0] != vocab_path:
        _INDEX = (vocab_path, token_index(json.loads(Path(vocab_path).read_text())["itos"]))
    return _INDEX[1]


def encode_shard(tokens_path: str, vocab_path: str, seq_len: int, tail: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 for one shard: (length of each review, all its ids end to end), as int32 arrays."""
    index = _vocab_index(vocab_path)
    encoded = [encode(t, index, seq_len, tail) for t in pq.read_table(tokens_path).column("tokens").to_pylist()]
    inverse = np.load(tokens_path + ".inverse.npy")
    d_len = np.fromiter(map(len, encoded), np.int64, len(encoded))
    d_flat = np.fromiter(chain.from_iterable(encoded), np.int32, int(d_len.sum()))
    d_start = np.cumsum(d_len) - d_len
    lengths = d_len[inverse]
    ends = np.cumsum(lengths)
    # gather each review's ids from its distinct text's ids: position p of review r is
    # d_start[inverse[r]] + (p - start of r)
    pos = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - lengths - d_start[inverse], lengths)
    return lengths.astype(np.int32), d_flat[pos]
