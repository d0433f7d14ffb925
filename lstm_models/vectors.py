"""Pretrained word vectors from a local text file (GloVe, or word2vec's text format), matched to a
vocabulary to initialise an embedding.

Both formats are one word a line followed by its numbers, separated by spaces; word2vec's text
files start with a header line `<count> <dimension>`. Reading streams the file and keeps only
the vocabulary's words, so a file of millions of vectors needs memory for the vocabulary alone.
A word is matched as it is, then lower-cased (GloVe's common files are lower-case). Vocabulary
words without a vector keep a small random vector (scaled like the found ones) and _PAD stays zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


class VectorFileError(ValueError):
    """A vector file that cannot be read, with its path and line."""


def _open(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise VectorFileError(f"{path}: word-vector file not found")
    if path.suffix == ".gz":
        import gzip
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def vector_dim(path: str | Path) -> int:
    """The file's vector dimension, from its header or its first vector."""
    with _open(path) as f:
        for line in f:
            fields = line.rstrip().split(" ")
            if _is_header(fields):
                return int(fields[1])
            if len(fields) > 1:
                return len(fields) - 1
    raise VectorFileError(f"{path}: no vectors in the file")


@dataclass
class Coverage:
    words: int       # vocabulary words (without _PAD and _UNK)
    found: int       # of them, with a vector in the file
    dim: int

    @property
    def oov_rate(self) -> float:
        return 1.0 - self.found / self.words if self.words else 0.0

    def as_dict(self) -> dict:
        return {"vocabulary_words": self.words, "with_vector": self.found, "oov_rate": round(self.oov_rate, 4),
                "dim": self.dim}


def load_vectors(path: str | Path, itos: list[str], seed: int = 0) -> tuple[torch.Tensor, Coverage]:
    """An embedding matrix [len(itos), dim] for this vocabulary (itos[0] is _PAD, itos[1] _UNK)."""
    dim = vector_dim(path)
    index = {w: i for i, w in enumerate(itos) if i >= 2}
    lower: dict[str, list[int]] = {}
    for w, i in index.items():
        lower.setdefault(w.lower(), []).append(i)
    exact: dict[int, torch.Tensor] = {}
    by_lower: dict[int, torch.Tensor] = {}
    with _open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if n == 1 and _is_header(fields) or len(fields) < 2:
                continue
            word = fields[0]
            if word in index:
                targets = [(index[word], exact)]
            else:  # the first lower-case match wins; an exact match still replaces it
                targets = [(i, by_lower) for i in lower.get(word.lower(), []) if i not in by_lower]
            if not targets:
                continue
            if len(fields) != dim + 1:
                raise VectorFileError(f"{path}, line {n}: {len(fields) - 1} numbers for {word!r}, expected {dim}")
            try:
                vec = torch.tensor([float(x) for x in fields[1:]])
            except ValueError:
                raise VectorFileError(f"{path}, line {n}: a value of {word!r} is not a number") from None
            for i, store in targets:
                store[i] = vec
    weights = torch.zeros(len(itos), dim)
    for store in (by_lower, exact):
        for i, vec in store.items():
            weights[i] = vec
    found = sorted(set(exact) | set(by_lower))
    scale = weights[found].std().item() if len(found) > 1 else 0.1
    missing = torch.ones(len(itos), dtype=torch.bool)
    missing[found] = False
    missing[0] = False
    gen = torch.Generator().manual_seed(seed)
    weights[missing] = torch.randn(int(missing.sum()), dim, generator=gen) * scale
    return weights, Coverage(words=max(len(itos) - 2, 0), found=len(found), dim=dim)
