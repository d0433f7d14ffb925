"""Sentiment prediction that streams: the one path behind `sentiment predict` (JSON lines) and
the batch-prediction flow (Parquet).

- Exactly one output record per input line (text files) or row (CSV, Parquet), in input order,
  each carrying its `line` number (1-based; for tables the data row), so predictions join back to
  their inputs by position or by number. A line that cannot be classified (blank, a label with no
  text, bytes that are not UTF-8) gets a record with `label: None` and an `error` saying why;
  nothing is skipped silently. Blank lines after the last text of a file are the file's ending,
  not records (a trailing empty line shifts nothing).
- Memory stays bounded whatever the input size: lines are read in chunks of CHUNK, at most two
  chunks a worker are in flight, and outputs are written as they come.
- Chunks are scored in worker processes (tokenized with training's own tokenizer and encoder,
  then classified, one torch thread each), or as task runs on the flow's task runner
  (--runner dask); results come back in input order.
"""
from __future__ import annotations

import io
import os
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_models.text import strip_fasttext_label
from tasks.shared.errors import DataError

from .files import check_input_file, open_binary

CHUNK = 2_000
BLANK = "blank line"
NO_TEXT = "no text after the fastText label"


@dataclass
class Chunk:
    lines: list[int]             # input line (or row) numbers, in order
    texts: list[str | None]      # None where the line cannot be classified
    errors: list[str | None]     # why not, where texts is None


def _text_lines(stream, source: str) -> Iterator[tuple[int, str | None, str | None]]:
    pending: list[int] = []      # blank lines seen since the last text: records only if a text follows
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield from ((n, None, BLANK) for n in pending)
            pending = []
            yield number, None, f"not valid UTF-8 (byte {exc.start} of the line)"
            continue
        if not line.strip():
            pending.append(number)
            continue
        yield from ((n, None, BLANK) for n in pending)
        pending = []
        if strip_fasttext_label(line).strip():
            yield number, line, None
        else:
            yield number, None, NO_TEXT


def _table_rows(path: Path, text_column: str) -> Iterator[tuple[int, str | None, str | None]]:
    import pyarrow.parquet as pq

    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes:
        pf = pq.ParquetFile(path)
        if text_column not in pf.schema_arrow.names:
            raise DataError(path, "missing column", f"no {text_column!r} column (columns: {', '.join(pf.schema_arrow.names)})")
        batches = (b.column(0).to_pylist() for b in pf.iter_batches(batch_size=CHUNK, columns=[text_column]))
    else:
        import pandas as pd

        reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK)
        first = next(reader, None)
        if first is None or text_column not in first.columns:
            columns = ", ".join(map(str, first.columns)) if first is not None else "none"
            raise DataError(path, "missing column", f"no {text_column!r} column (columns: {columns})")
        batches = (frame[text_column].tolist() for frame in (first, *reader))
    number = 0
    for texts in batches:
        for text in texts:
            number += 1
            if text is None or not str(text).strip():
                yield number, None, "empty text"
            else:
                yield number, str(text), None


def input_records(source: str | Path, text_column: str = "text") -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text or None, error or None) for every line of a text file (plain, .bz2,
    .gz; '-' for stdin) or every row of a CSV/Parquet file's text column."""
    if str(source) == "-":
        yield from _text_lines(sys.stdin.buffer, "<stdin>")
        return
    path = check_input_file(source)
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".csv" in suffixes:
        yield from _table_rows(path, text_column)
        return
    with open_binary(path) as fh:
        yield from _text_lines(io.BufferedReader(fh) if not isinstance(fh, io.BufferedReader) else fh, str(path))


def chunks(records: Iterator[tuple[int, str | None, str | None]], size: int = CHUNK) -> Iterator[Chunk]:
    chunk = Chunk([], [], [])
    for number, text, error in records:
        chunk.lines.append(number)
        chunk.texts.append(text)
        chunk.errors.append(error)
        if len(chunk.lines) == size:
            yield chunk
            chunk = Chunk([], [], [])
    if chunk.lines:
        yield chunk


SMALL_INPUT_BYTES = 1 << 20  # about 2,000 reviews: one chunk, which one process scores alone


def default_workers(source: str | Path | None = None) -> int:
    """One a core; one for an input file small enough to be a single chunk (a second process
    would only add its start-up, about 2.5 s)."""
    try:
        if source is not None and str(source) != "-" and Path(source).stat().st_size < SMALL_INPUT_BYTES:
            return 1
    except OSError:
        pass
    return max(1, (os.cpu_count() or 1))


def looks_like_bundle(folder: str | Path, kind: str) -> bool:
    """A quick check that needs no torch (the workers load the model): config.json of this kind.
    A bundle that passes it and still cannot be loaded fails in the first worker, as clearly."""
    import json

    try:
        return json.loads((Path(folder) / "config.json").read_text()).get("kind") == kind
    except (OSError, ValueError):
        return False


_LOADED: tuple[str, object] | None = None


def score_texts(texts: list[str], bundle: str) -> tuple[np.ndarray, np.ndarray]:
    """A worker's share: tokenize and encode texts exactly as training did, then classify them
    with the bundle's model (loaded once a process, one torch thread: the processes are the
    parallelism). Returns (labels, probabilities)."""
    global _LOADED
    if _LOADED is None or _LOADED[0] != bundle:
        import torch

        from lstm_models.predict import SentimentPredictor

        torch.set_num_threads(1)
        _LOADED = (bundle, SentimentPredictor.load(bundle))
    labels, prob = _LOADED[1].predict(texts)
    return labels.astype(np.int8), prob.astype(np.float32)


def scored_chunks(chunk_iter: Iterator[Chunk], bundle: str, workers: int,
                  predictor=None) -> Iterator[tuple[Chunk, np.ndarray, np.ndarray]]:
    """(chunk, labels, probabilities of its usable texts) for each chunk, in order: on the flow's
    task runner when one is configured (--runner dask: one task run a chunk), else in `workers`
    processes (here, with `predictor`, when 1), at most two chunks a worker in flight."""
    from tasks.shared.runners import ShardMap

    def texts(chunk: Chunk) -> list[str]:
        return [t for t in chunk.texts if t is not None]

    pending: deque = deque()

    def shards():
        for chunk in chunk_iter:
            pending.append(chunk)
            yield texts(chunk), bundle

    with ShardMap(workers) as shard_map:
        score = score_texts
        if shard_map.in_process and predictor is not None:  # the model this process already loaded
            def score(texts, bundle):
                return predictor.predict(texts)
        for labels, prob in shard_map.imap(score, shards()):
            yield pending.popleft(), labels, prob


def predictions(source: str | Path, bundle: str | Path, text_column: str = "text", workers: int | None = None,
                predictor=None) -> Iterator[tuple[Chunk, np.ndarray, np.ndarray]]:
    """(chunk, labels, probabilities) for every chunk of the input, in order: labels -1 and
    probabilities NaN where the chunk's error says why there is no prediction. predictor: the
    bundle already loaded, used when one process does the work."""
    workers = default_workers(source) if workers is None else workers
    for chunk, scored_labels, scored_prob in scored_chunks(chunks(input_records(source, text_column)), str(bundle),
                                                           workers, predictor):
        ok = np.fromiter((t is not None for t in chunk.texts), bool, len(chunk.texts))
        labels = np.full(len(ok), -1, np.int8)
        prob = np.full(len(ok), np.nan, np.float32)
        if ok.any():
            labels[ok], prob[ok] = scored_labels, scored_prob
        yield chunk, labels, prob


def json_records(chunk: Chunk, labels: np.ndarray, prob: np.ndarray) -> Iterator[dict]:
    for number, label, p, error in zip(chunk.lines, labels.tolist(), prob.tolist(), chunk.errors):
        if error is None:
            yield {"line": number, "label": label, "probability": round(p, 6)}
        else:
            yield {"line": number, "label": None, "probability": None, "error": error}
