"""Reviews -> token ids, in parallel shards, streamed: memory stays bounded whatever the corpus size.

Pass 1, a worker per shard: clean + NLTK-tokenize each distinct text of the shard once (review
dumps repeat texts), write the shard's tokens to Parquet, split each review by a seeded hash of
its tokens (duplicates land in the same split: no leakage) and count the training split's tokens.
The per-shard counts are merged into one vocabulary (ties broken alphabetically, so the merge
order does not matter). Pass 2, a worker per shard: encode; the parent streams the encoded
shards, in order, into tokens.parquet. The result is identical to a one-process run (same
vocabulary, ids and order) whatever the number of workers or the shard size.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lstm_models.atomic import move_into_place, new_folder
from lstm_models.text import build_vocab
from tasks.shared.caching import DONE, cached_task, code_version, staging
from tasks.shared.runners import ShardMap

from . import shards
from .config import PreprocessConfig, SplitConfig
from .results import TokenizedReviews
from .shards import encode_shard, tokenize_shard

CODE = code_version(shards)  # a change to tokenization (shards and what they import) invalidates cached shards

SPLITS = ("train", "val", "test")


def text_shards(valid_path: str | Path, shard_rows: int):
    """The text column in shards of exactly shard_rows rows (the last may be shorter): fixed
    boundaries, so rows appended to the input leave every earlier shard as it was."""
    buffer: list[str] = []
    for batch in pq.ParquetFile(valid_path).iter_batches(batch_size=shard_rows, columns=["text"]):
        buffer.extend(batch.column(0).to_pylist())
        while len(buffer) >= shard_rows:
            yield buffer[:shard_rows]
            buffer = buffer[shard_rows:]
    if buffer:
        yield buffer


def shard_key(texts: list[str], split: SplitConfig, dedup: bool) -> str:
    """Content key of a shard's pass-1 result: its texts, the split settings and the code."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([split.seed, split.val_fraction, split.test_fraction, dedup, CODE]).encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()


def _load_shard(folder: Path) -> tuple[np.ndarray, np.ndarray, Counter]:
    counts = Counter(json.loads((folder / "counts.json").read_text()))
    return np.load(folder / "digests.npy"), np.load(folder / "splits.npy"), counts


def _save_shard(folder: Path, digest: np.ndarray, shard_split: np.ndarray, counts: Counter) -> None:
    np.save(folder / "digests.npy", digest)
    np.save(folder / "splits.npy", shard_split)
    (folder / "counts.json").write_text(json.dumps(counts, ensure_ascii=False))


def tokenize_reviews(valid_path: str | Path, out_dir: str | Path, preprocess: PreprocessConfig, split: SplitConfig, dedup: bool = True,
                     shard_cache: str | Path | None = None) -> dict:
    """valid.parquet -> tokens.parquet (row, label, split, length, ids), vocab.json, split.json.

    shard_cache: a folder of pass-1 results keyed by each shard's content; shards found there
    are not tokenized again (new data appended to an input re-tokenizes only the new shards).
    dedup=False tokenizes every row, repeats included (same result, slower: for benchmarks)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = pq.ParquetFile(valid_path).metadata.num_rows
    shard_root = Path(shard_cache) if shard_cache else out_dir / "shards"
    shard_root.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []

    keys = [shard_key(texts, split, dedup) for texts in text_shards(valid_path, preprocess.shard_rows)]
    todo = [i for i, k in enumerate(keys) if not (shard_root / k / DONE).is_file()]
    runner = ShardMap(min(preprocess.processes or os.cpu_count() or 1, max(1, len(todo))))

    def fresh():
        wanted = set(todo)
        for i, texts in enumerate(text_shards(valid_path, preprocess.shard_rows)):
            if i in wanted:
                tmp = new_folder(shard_root / keys[i])
                yield texts, str(tmp / "tokens.parquet"), split, dedup

    try:
        counts: Counter = Counter()
        results: dict[int, tuple] = {}
        for i, (digest, shard_split, shard_counts) in zip(todo, runner.imap(tokenize_shard, fresh())):
            tmp = next(shard_root.glob(f".{keys[i]}.*"))
            _save_shard(tmp, digest, shard_split, shard_counts)
            (tmp / DONE).write_text("ok\n")
            move_into_place(tmp, shard_root / keys[i], replace=True)
            results[i] = (digest, shard_split, shard_counts)
        digests, split_ids = [], []
        for i, key in enumerate(keys):
            digest, shard_split, shard_counts = results.pop(i) if i in results else _load_shard(shard_root / key)
            paths.append(str(shard_root / key / "tokens.parquet"))
            digests.append(digest)
            split_ids.append(shard_split)
            counts.update(shard_counts)
        digest = np.concatenate(digests) if digests else np.empty(0, np.uint64)
        split_id = np.concatenate(split_ids) if split_ids else np.empty(0, np.int8)
        del digests, split_ids

        itos = build_vocab(counts, preprocess.min_count, preprocess.max_vocab)
        vocab = {"itos": itos, "min_count": preprocess.min_count, "seq_len": preprocess.seq_len,
                 "tail_tokens": preprocess.tail,
                 "train_tokens": int(sum(counts.values())), "train_types": len(counts)}
        vocab_path = out_dir / "vocab.json"
        vocab_path.write_text(json.dumps(vocab, ensure_ascii=False))

        meta = pq.read_table(valid_path, columns=["row", "label"])  # two small numeric columns
        splits = pa.array(list(SPLITS), pa.string())
        schema = pa.schema([meta.schema.field("row"), meta.schema.field("label"), ("split", pa.dictionary(pa.int32(), pa.string())),
                            ("length", pa.int32()), ("ids", pa.list_(pa.int32()))])
        lengths = np.empty(n, np.int32)
        start = 0
        with pq.ParquetWriter(out_dir / "tokens.parquet", schema) as writer:
            for shard_lengths, flat in runner.imap(encode_shard, ((p, str(vocab_path), preprocess.seq_len, preprocess.tail)
                                                                   for p in paths)):
                m = len(shard_lengths)
                offsets = np.zeros(m + 1, np.int32)
                np.cumsum(shard_lengths, out=offsets[1:])
                lengths[start:start + m] = shard_lengths
                writer.write_table(pa.table({
                    "row": meta.column("row").slice(start, m),
                    "label": meta.column("label").slice(start, m),
                    "split": pa.DictionaryArray.from_arrays(pa.array(split_id[start:start + m].astype(np.int32)), splits),
                    "length": shard_lengths,
                    "ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.int32())),
                }, schema=schema))
                start += m
        assert start == n, f"encoded {start} rows of {n}"
    finally:
        runner.close()

    sizes = {s: int((split_id == i).sum()) for i, s in enumerate(SPLITS)}
    train_lengths = lengths[split_id == SPLITS.index("train")]
    dup_groups = n - len(np.unique(digest))
    split_info = {"seed": split.seed, "val_fraction": split.val_fraction, "test_fraction": split.test_fraction,
                  "sizes": sizes, "duplicate_reviews": int(dup_groups),
                  "method": "seeded hash of the review's tokens: duplicates share a split"}
    (out_dir / "split.json").write_text(json.dumps(split_info, indent=2))
    (out_dir / "shards.json").write_text(json.dumps(keys))  # the token shards this output came from (retention keeps them)
    oov = 1.0 - sum(counts[t] for t in itos[2:]) / max(sum(counts.values()), 1)
    return {"rows": n, "shards": len(keys), "shards_tokenized": len(todo),
            "splits": sizes, "vocab_size": len(itos), "duplicate_reviews": int(dup_groups),
            "train_oov_rate": round(oov, 4), "mean_length": float(lengths.mean()) if n else 0.0,
            "median_train_length": float(np.median(train_lengths)) if len(train_lengths) else 0.0,
            "truncated": int((lengths >= preprocess.seq_len).sum())}


@cached_task(name="tokenize-reviews", stage="tokenize", ignore=('preprocess.processes', 'preprocess.shard_rows'))
def tokenize_reviews_task(valid: str, preprocess: PreprocessConfig, split: SplitConfig, out_dir: str) -> TokenizedReviews:
    with staging(out_dir) as tmp:  # shards are cached beside the stage folders, by content
        stats = tokenize_reviews(valid, tmp, preprocess, split,
                                 shard_cache=Path(out_dir).parent.parent / "token-shards")
    out = Path(out_dir)
    return TokenizedReviews(**stats, tokens=str(out / "tokens.parquet"), vocab=str(out / "vocab.json"),
                            split=str(out / "split.json"))


def split_texts(valid: str, tokens: str) -> pd.DataFrame:
    """Text, label, split and token count of every accepted row (the split decided in tokenization)."""
    texts = pd.read_parquet(valid, columns=["row", "text"])
    splits = pq.read_table(tokens, columns=["row", "label", "split", "length"]).to_pandas()
    splits["split"] = splits["split"].astype(str)
    return splits.merge(texts, on="row", how="left", validate="one_to_one")
