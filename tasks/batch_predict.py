"""Batch prediction with a registry version (the champion unless one is named): predictions go
to Parquet, each row carrying the model version that made it."""
from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import DataError
from .registry import Registry

CHUNK = 20_000


def iter_texts(path: str | Path, text_column: str = "text"):
    """Chunks of texts: a CSV/Parquet column, or one text a line (plain, .bz2 or .gz; a leading
    fastText __label__N is ignored by the predictor)."""
    from .reviews import check_input_file, open_binary

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


def _target(output: str | Path, kind: str, version: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(output) / f"{kind}-{version}-{stamp}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def predict_sentiment(data: str, registry: str, version: str | None, output: str, text_column: str = "text") -> dict:
    from lstm_models.predict import SentimentPredictor

    version, bundle = Registry(registry).resolve("sentiment", version)
    predictor = SentimentPredictor.load(bundle)
    target, rows, positive = _target(output, "sentiment", version), 0, 0
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


def predict_forecast(data: str, registry: str, version: str | None, output: str) -> dict:
    from lstm_models.forecaster import ForecastPredictor

    from .stocks import history_for_forecast, read_prices

    version, bundle = Registry(registry).resolve("forecast", version)
    predictor = ForecastPredictor.load(bundle)
    lines = []
    for ticker, rows in history_for_forecast(read_prices(data), predictor.features, predictor.lookback,
                                             predictor.open_fill).items():
        try:
            lines += predictor.forecast(rows, ticker)
        except ValueError as exc:
            raise DataError(rows["source_file"].iloc[0], "cannot forecast", str(exc)) from None
    frame = pd.DataFrame(lines).assign(model_version=version)
    target = _target(output, "forecast", version)
    tmp = target.with_name(f".{target.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return {"kind": "forecast", "predictions": str(target), "version": version, "rows": len(frame),
            "tickers": int(frame["ticker"].nunique())}


def summary_markdown(result: dict, registry: str) -> str:
    return "\n".join([f"# Batch prediction ({result['kind']})", "",
                      f"- Model: `{result['version']}` from `{registry}`",
                      f"- Rows written: {result['rows']}", f"- Output: `{result['predictions']}`",
                      "", "```json", json.dumps(result, indent=2), "```"])
