"""Reviews in: fastText lines (`__label__1|2 text`, plain/.bz2/.gz) or CSV/Parquet with text and
label columns -> raw.parquet (source row numbers kept) -> GX validation -> valid + quarantine."""
from __future__ import annotations

import bz2
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .caching import cached_task, staging
from .errors import DataError
from .validate import Rule, SuiteOutcome, build_data_docs, merge_outcomes, run_suite, split_quarantine

FASTTEXT_LABELS = {"1": 0, "2": 1}
NAMED_LABELS = {"negative": 0, "positive": 1, "neg": 0, "pos": 1}
_LABEL = re.compile(rb"^__label__(\S*)(?:\s+|$)")
# The review expectation suite. Bump the version when a rule is added, dropped or changes
# meaning: reports and Data Docs name it, so results of different rule sets are told apart.
SUITE_NAME = "reviews"
SUITE_VERSION = "reviews-v1"
MAX_TEXT_CHARS = 100_000  # default of validation.max_text_chars: no real review is that long
CHUNK_ROWS = 100_000  # rows read, validated and written at a time: bounds memory on big inputs (~0.4 GiB)
RAW_SCHEMA = pa.schema([("row", pa.int64()), ("label_raw", pa.string()), ("text", pa.string()), ("parse_error", pa.string())])


def check_input_file(path: str | Path) -> Path:
    """The path must be an existing, readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, "input not found", "no such file")
    if p.is_dir():
        raise DataError(p, "input is a directory", "give a file of reviews")
    if not p.is_file():  # a FIFO would block the read below forever, a socket cannot be read
        raise DataError(p, "input is not a regular file", "a pipe, socket or device; give a file of reviews")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1)
    except OSError as exc:
        raise DataError(p, "input not readable", exc.strerror or str(exc)) from None
    if not head:
        raise DataError(p, "empty input", "the file has no bytes")
    return p


def open_binary(path: Path):
    """Open plain, bzip2 or gzip input by its magic bytes (not its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic == b"BZh":
        return bz2.open(path, "rb")
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


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


def read_fasttext(path: Path) -> pd.DataFrame:
    """The whole file as one frame (small inputs; write_raw streams big ones)."""
    return _concat(iter_fasttext(path))


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


def read_table(path: Path, fmt: str, text_column: str, label_column: str, title_column: str | None) -> pd.DataFrame:
    return _concat(iter_table(path, fmt, text_column, label_column, title_column))


def _concat(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = list(chunks)
    if not frames:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "label_raw": pd.Series(dtype=object),
                             "text": pd.Series(dtype=object), "parse_error": pd.Series(dtype=object)})
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


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


def iter_reviews(path: str | Path, ingest, chunk_rows: int = CHUNK_ROWS) -> tuple[Path, str, Iterator[pd.DataFrame]]:
    """(checked path, format, raw frames of at most chunk_rows rows); reading raises DataError."""
    path = check_input_file(path)
    fmt = detect_format(path, ingest.format)
    if fmt == "fasttext":
        return path, fmt, iter_fasttext(path, chunk_rows)
    return path, fmt, iter_table(path, fmt, ingest.text_column, ingest.label_column, ingest.title_column, chunk_rows)


def read_reviews(path: str | Path, ingest) -> tuple[pd.DataFrame, dict[str, int], str]:
    """(raw frame, label map, format) for a reviews file; raises DataError for unusable files.
    Holds the whole file: for big inputs use write_raw, which streams."""
    path, fmt, chunks = iter_reviews(path, ingest)
    df = _concat(chunks)
    if df.empty:
        raise DataError(path, "empty input", "no reviews found (only blank lines)")
    return df, detect_label_map(fmt, df["label_raw"], ingest.label_map), fmt


def write_raw(path: str | Path, ingest, out_path: str | Path, chunk_rows: int = CHUNK_ROWS) -> tuple[dict[str, int], str, int]:
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


def review_rules(label_map: dict[str, int], max_text_chars: int = MAX_TEXT_CHARS):
    """The suite SUITE_VERSION: all row-level, so chunks can be validated one at a time."""
    import great_expectations as gx

    E = gx.expectations
    allowed = sorted(label_map)
    return [
        Rule("undecodable bytes", E.ExpectColumnValuesToBeNull(column="parse_error")),
        Rule("missing label", E.ExpectColumnValuesToNotBeNull(column="label_raw")),
        Rule(f"label not in {{{', '.join(allowed)}}}", E.ExpectColumnValuesToBeInSet(column="label_raw", value_set=allowed)),
        Rule("missing text", E.ExpectColumnValuesToNotBeNull(column="text")),
        Rule("empty text", E.ExpectColumnValuesToNotMatchRegex(column="text", regex=r"^\s*$")),
        # a line of megabytes is a file without line breaks or binary junk, not a review
        Rule(f"text longer than {max_text_chars} characters",
             E.ExpectColumnValueLengthsToBeBetween(column="text", max_value=max_text_chars)),
    ]


VALID_SCHEMA = pa.schema([("row", pa.int64()), ("label_raw", pa.string()), ("text", pa.string()), ("label", pa.int8())])
QUARANTINE_SCHEMA = pa.schema([*RAW_SCHEMA, ("reason", pa.string()), ("source", pa.string())])


class ReviewValidation:
    """Validates a batch chunk by chunk (GX sees one chunk at a time) and adds up the report;
    the result does not depend on the chunk size (the review rules are all row-level)."""

    def __init__(self, label_map: dict[str, int], source: str, validation):
        self.label_map, self.source, self.validation = label_map, source, validation
        self.rules = review_rules(label_map, validation.max_text_chars)
        self.read = self.accepted = self.quarantined = 0
        self.per_class: Counter = Counter()
        self.reasons: Counter = Counter()
        self.first_row: dict[str, int] = {}  # reason -> first quarantined row with it
        self.outcomes = []
        self.docs_outcome: SuiteOutcome | None = None  # the first chunk's GX result, for Data Docs

    def add(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(accepted with int label, quarantined with reason) for one chunk."""
        outcome = run_suite(raw, SUITE_VERSION, self.rules)
        if self.docs_outcome is None:
            self.docs_outcome = outcome
        accepted, quarantined = split_quarantine(raw, outcome)
        accepted = accepted.drop(columns=["parse_error"]).assign(label=accepted["label_raw"].map(self.label_map).astype("int8"))
        quarantined = quarantined.assign(source=self.source)
        self.outcomes.append(SuiteOutcome(pd.Series(dtype="string"), outcome.table, outcome.examples))
        self.read += len(raw)
        self.accepted += len(accepted)
        self.quarantined += len(quarantined)
        self.per_class.update(accepted["label"].value_counts().to_dict())
        for row, reason in zip(quarantined["row"], quarantined["reason"]):
            for r in reason.split("; "):
                self.reasons[r] += 1
                self.first_row.setdefault(r, int(row))
        return accepted, quarantined

    def report(self) -> dict:
        """The report says whether the batch as a whole is usable and, if not, why."""
        assert self.read == self.accepted + self.quarantined, "rows read must equal accepted + quarantined"
        report = {
            "source": self.source,
            "suite": {"name": SUITE_NAME, "version": SUITE_VERSION},
            "rows": {"read": self.read, "accepted": self.accepted, "quarantined": self.quarantined},
            "per_class": {str(k): int(self.per_class[k]) for k in sorted(self.per_class)},
            "quarantine_reasons": dict(self.reasons.most_common()),
            "expectations": merge_outcomes(self.outcomes).table if self.outcomes else [],
            "rejected": None,
        }
        report["rejected"] = batch_problem(report, self.first_row, self.validation)
        return report


def validate_reviews(raw: pd.DataFrame, label_map: dict[str, int], source: str, validation,
                     chunk_rows: int = CHUNK_ROWS) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(accepted with int label, quarantined with reason, report) for a raw frame."""
    check = ReviewValidation(label_map, source, validation)
    parts = [check.add(raw.iloc[b:b + chunk_rows]) for b in range(0, max(len(raw), 1), chunk_rows)]
    accepted = pd.concat([a for a, _ in parts]) if len(parts) > 1 else parts[0][0]
    quarantined = pd.concat([q for _, q in parts]) if len(parts) > 1 else parts[0][1]
    return accepted, quarantined, check.report()


def validate_raw(raw_path: str | Path, label_map: dict[str, int], source: str, validation, out_dir: str | Path,
                 chunk_rows: int = CHUNK_ROWS, docs_dir: str | Path | None = None) -> dict:
    """raw.parquet -> valid.parquet + quarantine.parquet, streamed chunk by chunk; the report.
    With docs_dir, GX Data Docs of the first chunk go there (rendering millions of rows' results
    is not cheap; the report's counts always cover every row)."""
    out_dir = Path(out_dir)
    check = ReviewValidation(label_map, source, validation)
    with pq.ParquetWriter(out_dir / "valid.parquet", VALID_SCHEMA) as valid, \
            pq.ParquetWriter(out_dir / "quarantine.parquet", QUARANTINE_SCHEMA) as quarantine:
        for batch in pq.ParquetFile(raw_path).iter_batches(batch_size=chunk_rows):
            accepted, quarantined = check.add(batch.to_pandas())
            valid.write_table(pa.Table.from_pandas(accepted, schema=VALID_SCHEMA, preserve_index=False))
            quarantine.write_table(pa.Table.from_pandas(quarantined, schema=QUARANTINE_SCHEMA, preserve_index=False))
    report = check.report()
    if docs_dir is not None and check.docs_outcome is not None:
        report["data_docs"] = str(build_data_docs(check.docs_outcome, docs_dir, source))
        shown = len(check.docs_outcome.reasons)
        report["data_docs_scope"] = (f"all {shown} rows" if shown == check.read else
                                     f"first {shown} of {check.read} rows (the first chunk)")
    return report


def batch_problem(report: dict, first_row: dict[str, int], validation) -> str | None:
    """Why the batch as a whole cannot be trained on (None when it can)."""
    rows = report["rows"]
    if rows["quarantined"]:
        top, n = next(iter(report["quarantine_reasons"].items()))
        why = f"most common reason '{top}' ({n} rows, first at row {first_row[top]})"
    if rows["accepted"] == 0:
        return f"all {rows['read']} rows were quarantined: {why}"
    share = rows["quarantined"] / rows["read"]
    if share > validation.max_quarantine_fraction:
        return (f"{rows['quarantined']} of {rows['read']} rows quarantined ({share:.0%}, limit "
                f"{validation.max_quarantine_fraction:.0%}): {why}")
    for cls, name in ((0, "negative"), (1, "positive")):
        n = report["per_class"].get(str(cls), 0)
        if n < validation.min_rows_per_class:
            return (f"class {cls} ({name}) has {n} accepted rows, fewer than the minimum "
                    f"{validation.min_rows_per_class} (validation.min_rows_per_class)")
    return None


# ---- Prefect tasks: thin wrappers that read and write Parquet in the stage folder ----

@cached_task(name="ingest-reviews")
def ingest_reviews(source: str, source_sha256: str, ingest: dict, out_dir: str, cache_key: str) -> dict:
    from flows.config import ReviewIngestConfig

    with staging(out_dir) as tmp:
        label_map, fmt, rows = write_raw(source, ReviewIngestConfig.model_validate(ingest), tmp / "raw.parquet")
        meta = {"source": str(source), "source_sha256": source_sha256, "format": fmt, "label_map": label_map, "rows": rows}
        (tmp / "ingest.json").write_text(json.dumps(meta, indent=2))
    return {**meta, "raw": str(Path(out_dir) / "raw.parquet")}


@cached_task(name="validate-reviews")
def validate_reviews_task(raw: str, label_map: dict, source: str, validation: dict, out_dir: str, cache_key: str) -> dict:
    from flows.config import ReviewValidationConfig

    with staging(out_dir) as tmp:
        report = validate_raw(raw, label_map, Path(source).name, ReviewValidationConfig.model_validate(validation), tmp,
                              docs_dir=tmp / "data_docs")
        out = Path(out_dir)
        if "data_docs" in report:
            report["data_docs"] = str(out / "data_docs" / "index.html")  # where staging moves it
        (tmp / "validation.json").write_text(json.dumps(report, indent=2))
    return {**report, "valid": str(out / "valid.parquet"), "quarantine": str(out / "quarantine.parquet")}
