"""Sequences in: scikit-learn's bundled 8x8 digits as 8 rows of 8 pixels (the articles' MNIST
reading, offline), or an `.npz` file with `x` [N, steps, features] and `y` [N] class labels ->
a seeded, stratified train/validation/test split in one `sequences.npz`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.shared.caching import cached_task, staging
from tasks.shared.errors import DataError
from tasks.shared.results import StageResult

from .config import SequenceSplitConfig

DIGITS = "digits"


def read_sequences(source: str) -> tuple[np.ndarray, np.ndarray]:
    """(x [N, T, F] float32, y [N] int64) of the named dataset or an .npz file."""
    if source == DIGITS:
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)  # one image row a step
    path = Path(source)
    if not path.is_file():
        raise DataError(path, "input not found", f"give an .npz with x and y, or '{DIGITS}'")
    try:
        with np.load(path, allow_pickle=False) as data:  # never unpickle what someone else wrote
            x, y = np.asarray(data["x"], dtype=np.float32), np.asarray(data["y"])
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(path, "not a sequences file", f"expected arrays x [N, steps, features] and y [N] ({exc})") from None
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(path, "wrong shapes", f"x {list(x.shape)} must be [N, steps, features], y {list(y.shape)} [N]")
    if not np.isfinite(x).all():
        raise DataError(path, "missing values", "x holds NaN or infinite values")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise DataError(path, "one class only", f"all {len(y)} sequences have class {classes[0]}")
    return x, y.astype(np.int64)


def split_sequences(y: np.ndarray, split: SequenceSplitConfig) -> np.ndarray:
    """A part name (train/val/test) for each sequence: stratified by class, seeded."""
    rng = np.random.default_rng(split.seed)
    parts = np.empty(len(y), dtype=object)
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test, n_val = round(len(idx) * split.test_fraction), round(len(idx) * split.val_fraction)
        parts[idx[:n_test]], parts[idx[n_test:n_test + n_val]], parts[idx[n_test + n_val:]] = "test", "val", "train"
    return parts


@dataclass(frozen=True)
class LoadedSequences(StageResult):
    """load-sequences: the sequences, their split, and their shape."""

    sequences_path: str  # sequences.npz: x, y, part
    source: str
    sequences: int
    steps: int
    features: int
    classes: int
    parts: dict  # train / val / test sequences


@cached_task(name="load-sequences", stage="load", ignore=("source",))
def load_sequences_task(source: str, source_key: str, split: SequenceSplitConfig, out_dir: str) -> LoadedSequences:
    x, y = read_sequences(source)
    parts = split_sequences(y, split)
    info = {"source": source, "sequences": len(y), "steps": int(x.shape[1]), "features": int(x.shape[2]),
            "classes": int(y.max()) + 1, "parts": {p: int((parts == p).sum()) for p in ("train", "val", "test")}}
    with staging(out_dir) as tmp:
        np.savez(tmp / "sequences.npz", x=x, y=y, part=parts.astype(str))
        (tmp / "load.json").write_text(json.dumps(info, indent=2))
    return LoadedSequences(**info, sequences_path=str(Path(out_dir) / "sequences.npz"))
