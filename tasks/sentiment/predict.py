"""Batch prediction of reviews with a registry version (the champion unless one is named):
predictions go to Parquet, each row carrying the model version that made it."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.shared.batch import prediction_path
from tasks.shared.errors import DataError
from tasks.shared.registry import Registry

from .ingest import check_input_file, open_binary

CHUNK = 20_000


def iter_texts(path: str | Path, text_column: str = "text"):
    """Chunks of texts: a CSV/Parquet column, or one text a line (plain, .bz2 or .gz; a leading
    fastText __label__N is ignored by the predictor)."""
    p = check_input_file(path)
    suffixes = [s.lower() for s in p.suffixes]
    if ".parquet" in suffixes or ".csv" in suffixes:
        frame = pd.read_parquet(p) if ".parquet" in suffixes else pd.read_csv(p, dtype=str, keep_default_na=False)
        if text_column not in frame.columns:
            raise DataError(p, "missing column", f"no {text_column!r} column (columns: {', '.join(map(str, frame.columns))})")
        texts = frame[text_column].astype(str).tolist()
        for start in range(0, len(texts), CHUNK):
            yield texts[start:start + CHUNK]
        return
    chunk = []
    with io.TextIOWrapper(open_binary(p), encoding="utf-8-sig", errors="strict", newline=None) as fh:
        try:
            for line in fh:
                if line.strip():
                    chunk.append(line.rstrip("\n"))
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
        except UnicodeDecodeError as exc:
            raise DataError(p, "not valid UTF-8", f"byte {exc.start} of a line") from None
    if chunk:
        yield chunk


def predict_sentiment(data: str, registry: str, version: str | None, output: str, text_column: str = "text") -> dict:
    from lstm_models.predict import SentimentPredictor

    version, bundle = Registry(registry).resolve("sentiment", version)
    predictor = SentimentPredictor.load(bundle)
    target, rows, positive = prediction_path(output, "sentiment", version), 0, 0
    tmp = target.with_name(f".{target.name}.tmp")
    writer = None
    try:
        for texts in iter_texts(data, text_column):
            labels, prob = predictor.predict(texts)
            table = pa.table({"row": pa.array(range(rows, rows + len(texts)), pa.int64()), "text": texts,
                              "label": pa.array(labels, pa.int8()), "probability": pa.array(prob, pa.float32()),
                              "model_version": [version] * len(texts)})
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows, positive = rows + len(texts), positive + int(labels.sum())
        if writer is None:
            raise DataError(data, "empty input", "no texts to classify")
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return {"kind": "sentiment", "predictions": str(target), "version": version, "rows": rows,
            "positive_share": round(positive / rows, 4)}
