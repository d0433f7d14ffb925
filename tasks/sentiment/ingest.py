"""Ingest reviews: fastText lines (`__label__1|2 text`, plain/.bz2/.gz) or CSV/Parquet with text
and label columns -> raw.parquet, streamed chunk by chunk, source row numbers kept. Nothing is
judged here: every line is kept with what was found, for validation to decide."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.shared.caching import cached_task, staging
from tasks.shared.errors import DataError

from .config import ReviewIngestConfig
from .files import check_input_file, open_binary  # noqa: F401  (re-exported: the CLI and flows use it)
from .results import IngestedReviews

FASTTEXT_LABELS = {"1": 0, "2": 1}
NAMED_LABELS = {"negative": 0, "positive": 1, "neg": 0, "pos": 1}
_LABEL = re.compile(rb"^__label__(\S*)(?:\s+|$)")
CHUNK_ROWS = 100_000  # rows read, validated and written at a time: bounds memory on big inputs (~0.4 GiB)
RAW_SCHEMA = pa.schema([("row", pa.int64()), ("label_raw", pa.string()), ("text", pa.string()), ("parse_error", pa.string())])


def detect_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes:
        return "parquet"
    if ".csv" in suffixes or ".tsv" in suffixes:
        return "csv"
    return "fasttext"


def iter_fasttext(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """One record a non-blank line, in frames of at most chunk_rows records. Nothing is dropped
    here: a line without a label, with an unknown label or with undecodable bytes is kept with
    what was found, for GX to judge."""
    rows, labels, texts, errors = [], [], [], []
    try:
        with open_binary(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                raw = raw.rstrip(b"\r\n")
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                m = _LABEL.match(raw)
                label, body = (m.group(1), raw[m.end():]) if m else (None, raw)
                try:
                    text, err = body.decode("utf-8"), None
                except UnicodeDecodeError as exc:
                    text, err = body.decode("utf-8", errors="replace"), f"not valid UTF-8 at byte {exc.start}"
                rows.append(lineno)
                labels.append(None if label is None else label.decode("utf-8", errors="replace"))
                texts.append(text)
                errors.append(err)
                if len(rows) >= chunk_rows:
                    yield pd.DataFrame({"row": rows, "label_raw": labels, "text": texts, "parse_error": errors})
                    rows, labels, texts, errors = [], [], [], []
    except EOFError:
        raise DataError(path, "truncated input", "the compressed stream ends early; re-download or re-compress the file") from None
    except OSError as exc:
        raise DataError(path, "unreadable input", f"not a valid compressed file ({exc})") from None
    if rows:
        yield pd.DataFrame({"row": rows, "label_raw": labels, "text": texts, "parse_error": errors})


def iter_table(path: Path, fmt: str, text_column: str, label_column: str, title_column: str | None,
               chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """CSV/TSV or Parquet rows as raw frames of at most chunk_rows rows (row numbers from 1)."""
    wanted = [c for c in (text_column, label_column, title_column) if c]
    offset, fh = 0, None
    try:
        if fmt == "parquet":
            pf = pq.ParquetFile(path)
            meta = pf.schema_arrow.pandas_metadata or {}
            index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
            _check_columns(path, wanted, [c for c in pf.schema_arrow.names if c not in index])
            chunks = (b.to_pandas() for b in pf.iter_batches(batch_size=chunk_rows, columns=wanted))
        else:
            fh = open_binary(path)
            # bytes that are not UTF-8 survive as lone surrogates (in Python strings: object
            # dtype, Arrow strings cannot hold them), so their row is quarantined as in fastText
            # files instead of the whole file failing
            chunks = pd.read_csv(fh, dtype=object, keep_default_na=False, encoding="utf-8-sig", chunksize=chunk_rows,
                                 encoding_errors="surrogateescape", sep="\t" if ".tsv" in path.suffixes else ",")
        for df in chunks:
            if offset == 0:
                _check_columns(path, wanted, list(df.columns))
            if df.empty:
                continue
            df, parse_error = _undecodable_cells(df, wanted) if fmt != "parquet" else (df, pd.Series(None, index=df.index))
            text = df[text_column].astype("string")
            if title_column:
                text = df[title_column].astype("string").fillna("") + ": " + text
            label = df[label_column].astype("string").str.strip().str.removeprefix("__label__")
            label = label.str.replace(r"\.0+$", "", regex=True).replace("", pd.NA)
            yield pd.DataFrame({"row": range(offset + 1, offset + len(df) + 1), "label_raw": label.reset_index(drop=True),
                                "text": text.reset_index(drop=True), "parse_error": parse_error.reset_index(drop=True)})
            offset += len(df)
    except UnicodeDecodeError as exc:
        raise DataError(path, "not valid UTF-8", f"byte offset {exc.start}") from None
    except EOFError:
        raise DataError(path, "truncated input", "the compressed stream ends early") from None
    except pd.errors.EmptyDataError:
        raise DataError(path, "empty input", "no header and no rows") from None
    except (pd.errors.ParserError, OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(path, f"unreadable {fmt}", str(exc).splitlines()[0]) from None
    finally:
        if fh is not None:
            fh.close()
    if offset == 0:
        raise DataError(path, "no data rows", "the file has a header but no rows")


_SURROGATE = "[\udc80-\udcff]"


def _undecodable_cells(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """CSV cells read with surrogateescape -> (df with undecodable bytes shown as U+FFFD, per row
    None or the column that had them)."""
    error = pd.Series(None, index=df.index, dtype=object)
    hits = {col: df[col].str.contains(_SURROGATE, regex=True, na=False) for col in columns}
    if not any(hit.any() for hit in hits.values()):
        return df, error
    df = df.copy()
    for col, hit in hits.items():
        df.loc[hit, col] = df.loc[hit, col].map(lambda v: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        error[hit] = error[hit].fillna(f"not valid UTF-8 in column {col}")
    return df, error


def _check_columns(path: Path, wanted: list[str], columns: list[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(path, "missing column", f"{', '.join(missing)} not found (columns: {', '.join(map(str, columns))}); "
                        "set ingest.text_column / ingest.label_column in the config")


def detect_label_map(fmt: str, labels: pd.Series, configured: dict[str, int] | None) -> dict[str, int]:
    """Raw label -> 0/1. fastText is always 1/2; tables use 1/2 when a 2 appears, else 0/1,
    and the words negative/positive are always understood."""
    if configured:
        return dict(configured)
    if fmt == "fasttext":
        return dict(FASTTEXT_LABELS)
    seen = set(labels.dropna().str.lower().unique())
    numeric = dict(FASTTEXT_LABELS) if "2" in seen else {"0": 0, "1": 1}
    named = {k: v for k, v in NAMED_LABELS.items() if k in seen}
    named.update({k.capitalize(): v for k, v in NAMED_LABELS.items() if k.capitalize() in set(labels.dropna())})
    return {**numeric, **named}


def iter_reviews(path: str | Path, ingest: ReviewIngestConfig, chunk_rows: int = CHUNK_ROWS) -> tuple[Path, str, Iterator[pd.DataFrame]]:
    """(checked path, format, raw frames of at most chunk_rows rows); reading raises DataError."""
    path = check_input_file(path)
    fmt = detect_format(path, ingest.format)
    if fmt == "fasttext":
        return path, fmt, iter_fasttext(path, chunk_rows)
    return path, fmt, iter_table(path, fmt, ingest.text_column, ingest.label_column, ingest.title_column, chunk_rows)


def write_raw(path: str | Path, ingest: ReviewIngestConfig, out_path: str | Path, chunk_rows: int = CHUNK_ROWS) -> tuple[dict[str, int], str, int]:
    """Stream a reviews file into raw.parquet, chunk by chunk: (label map, format, rows)."""
    path, fmt, chunks = iter_reviews(path, ingest, chunk_rows)
    seen: set[str] = set()  # distinct raw labels: all that label-map detection needs
    rows = 0
    with pq.ParquetWriter(out_path, RAW_SCHEMA) as writer:
        for df in chunks:
            writer.write_table(pa.Table.from_pandas(df, schema=RAW_SCHEMA, preserve_index=False))
            seen.update(df["label_raw"].dropna().unique())
            rows += len(df)
    if rows == 0:
        raise DataError(path, "empty input", "no reviews found (only blank lines)")
    return detect_label_map(fmt, pd.Series(sorted(seen), dtype="string"), ingest.label_map), fmt, rows


@cached_task(name="ingest-reviews", stage="ingest", ignore=('source',))
def ingest_reviews(source: str, source_sha256: str, ingest: ReviewIngestConfig, out_dir: str) -> IngestedReviews:
    with staging(out_dir) as tmp:
        label_map, fmt, rows = write_raw(source, ingest, tmp / "raw.parquet")
        meta = {"source": str(source), "source_sha256": source_sha256, "format": fmt, "label_map": label_map, "rows": rows}
        (tmp / "ingest.json").write_text(json.dumps(meta, indent=2))
    return IngestedReviews(**meta, raw=str(Path(out_dir) / "raw.parquet"))
