"""Batch prediction of reviews with a registry version (the champion unless one is named):
predictions go to Parquet, each row carrying the model version that made it."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from lstm_models.atomic import atomic_file
from tasks.shared.batch import prediction_path
from tasks.shared.errors import DataError
from tasks.shared.registry import Registry

from .stream import predictions


def predict_sentiment(data: str, registry: str, version: str | None, output: str, text_column: str = "text",
                      workers: int | None = None) -> dict:
    """Predictions of every input line (or row) to Parquet, streamed (tasks/sentiment/stream.py):
    one row per input line with its number; lines that cannot be classified have a null label
    and their error."""
    from lstm_models.predict import SentimentPredictor

    version, bundle = Registry(registry).resolve("sentiment", version)
    predictor = SentimentPredictor.load(bundle)
    target, rows, scored, positive, failed = prediction_path(output, "sentiment", version), 0, 0, 0, 0
    writer = None
    with atomic_file(target) as tmp:
        try:
            for chunk, labels, prob in predictions(data, bundle, text_column, workers, predictor):
                ok = labels >= 0
                table = pa.table({
                    "line": pa.array(chunk.lines, pa.int64()), "text": pa.array(chunk.texts, pa.string()),
                    "label": pa.array(labels, pa.int8(), mask=~ok), "probability": pa.array(prob, pa.float32(), mask=~ok),
                    "error": pa.array(chunk.errors, pa.string()), "model_version": [version] * len(labels)})
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows, scored = rows + len(labels), scored + int(ok.sum())
                positive, failed = positive + int((labels == 1).sum()), failed + int((~ok).sum())
            if writer is None or scored == 0:
                raise DataError(data, "empty input", "no texts to classify")
        finally:
            if writer is not None:
                writer.close()
    return {"kind": "sentiment", "predictions": str(target), "version": version, "rows": rows,
            "unclassified": failed, "positive_share": round(positive / scored, 4)}
