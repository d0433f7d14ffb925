"""Reviews in: fastText lines (`__label__1|2 text`, plain/.bz2/.gz) or CSV/Parquet with text and
label columns -> raw.parquet (source row numbers kept) -> GX validation -> valid + quarantine."""
from __future__ import annotations

import bz2
import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .caching import cached_task, staging
from .errors import DataError
from .validate import Rule, run_suite, split_quarantine

FASTTEXT_LABELS = {"1": 0, "2": 1}
NAMED_LABELS = {"negative": 0, "positive": 1, "neg": 0, "pos": 1}
_LABEL = re.compile(rb"^__label__(\S*)(?:\s+|$)")
RAW_SCHEMA = pa.schema([("row", pa.int64()), ("label_raw", pa.string()), ("text", pa.string()), ("parse_error", pa.string())])


def check_input_file(path: str | Path) -> Path:
    """The path must be an existing, readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, "input not found", "no such file")
    if p.is_dir():
        raise DataError(p, "input is a directory", "give a file of reviews")
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


def read_fasttext(path: Path) -> pd.DataFrame:
    """One record a non-blank line. Nothing is dropped here: a line without a label, with an
    unknown label or with undecodable bytes is kept with what was found, for GX to judge."""
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
    except EOFError:
        raise DataError(path, "truncated input", "the compressed stream ends early; re-download or re-compress the file") from None
    except OSError as exc:
        raise DataError(path, "unreadable input", f"not a valid compressed file ({exc})") from None
    return pd.DataFrame({"row": rows, "label_raw": labels, "text": texts, "parse_error": errors})


def read_table(path: Path, fmt: str, text_column: str, label_column: str, title_column: str | None) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
        else:
            with open_binary(path) as fh:
                df = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                 sep="\t" if ".tsv" in path.suffixes else ",")
    except UnicodeDecodeError as exc:
        raise DataError(path, "not valid UTF-8", f"byte offset {exc.start}") from None
    except EOFError:
        raise DataError(path, "truncated input", "the compressed stream ends early") from None
    except pd.errors.EmptyDataError:
        raise DataError(path, "empty input", "no header and no rows") from None
    except (pd.errors.ParserError, OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(path, f"unreadable {fmt}", str(exc).splitlines()[0]) from None
    wanted = [c for c in (text_column, label_column, title_column) if c]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise DataError(path, "missing column", f"{', '.join(missing)} not found (columns: {', '.join(map(str, df.columns))}); "
                        "set ingest.text_column / ingest.label_column in the config")
    if df.empty:
        raise DataError(path, "no data rows", "the file has a header but no rows")
    text = df[text_column].astype("string")
    if title_column:
        text = df[title_column].astype("string").fillna("") + ": " + text
    label = df[label_column].astype("string").str.strip().str.removeprefix("__label__")
    label = label.str.replace(r"\.0+$", "", regex=True).replace("", pd.NA)
    return pd.DataFrame({"row": range(1, len(df) + 1), "label_raw": label, "text": text, "parse_error": None})


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


def read_reviews(path: str | Path, ingest) -> tuple[pd.DataFrame, dict[str, int], str]:
    """(raw frame, label map, format) for a reviews file; raises DataError for unusable files."""
    path = check_input_file(path)
    fmt = detect_format(path, ingest.format)
    if fmt == "fasttext":
        df = read_fasttext(path)
    else:
        df = read_table(path, fmt, ingest.text_column, ingest.label_column, ingest.title_column)
    if df.empty:
        raise DataError(path, "empty input", "no reviews found (only blank lines)")
    return df, detect_label_map(fmt, df["label_raw"], ingest.label_map), fmt


def review_rules(label_map: dict[str, int]):
    import great_expectations as gx

    E = gx.expectations
    allowed = sorted(label_map)
    return [
        Rule("undecodable bytes", E.ExpectColumnValuesToBeNull(column="parse_error")),
        Rule("missing label", E.ExpectColumnValuesToNotBeNull(column="label_raw")),
        Rule(f"label not in {{{', '.join(allowed)}}}", E.ExpectColumnValuesToBeInSet(column="label_raw", value_set=allowed)),
        Rule("missing text", E.ExpectColumnValuesToNotBeNull(column="text")),
        Rule("empty text", E.ExpectColumnValuesToNotMatchRegex(column="text", regex=r"^\s*$")),
    ]


def validate_reviews(raw: pd.DataFrame, label_map: dict[str, int], source: str, validation) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(accepted with int label, quarantined with reason, report). The report says whether
    the batch as a whole is usable and, if not, why."""
    outcome = run_suite(raw, "reviews", review_rules(label_map))
    accepted, quarantined = split_quarantine(raw, outcome)
    accepted = accepted.drop(columns=["parse_error"]).assign(label=accepted["label_raw"].map(label_map).astype("int8"))
    quarantined = quarantined.assign(source=source)
    per_class = {str(k): int(v) for k, v in accepted["label"].value_counts().sort_index().items()}
    reasons = Counter(r for rs in quarantined["reason"] for r in rs.split("; "))
    report = {
        "source": source,
        "rows": {"read": len(raw), "accepted": len(accepted), "quarantined": len(quarantined)},
        "per_class": per_class,
        "quarantine_reasons": dict(reasons.most_common()),
        "expectations": outcome.table,
        "rejected": None,
    }
    assert len(raw) == len(accepted) + len(quarantined), "rows read must equal accepted + quarantined"
    report["rejected"] = batch_problem(report, quarantined, validation)
    return accepted, quarantined, report


def batch_problem(report: dict, quarantined: pd.DataFrame, validation) -> str | None:
    """Why the batch as a whole cannot be trained on (None when it can)."""
    rows = report["rows"]
    if rows["quarantined"]:
        top, n = next(iter(report["quarantine_reasons"].items()))
        first = int(quarantined.loc[quarantined["reason"].str.contains(top, regex=False), "row"].iloc[0])
        why = f"most common reason '{top}' ({n} rows, first at row {first})"
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

    df, label_map, fmt = read_reviews(source, ReviewIngestConfig.model_validate(ingest))
    with staging(out_dir) as tmp:
        pq.write_table(pa.Table.from_pandas(df, schema=RAW_SCHEMA, preserve_index=False), tmp / "raw.parquet")
        meta = {"source": str(source), "source_sha256": source_sha256, "format": fmt, "label_map": label_map, "rows": len(df)}
        (tmp / "ingest.json").write_text(json.dumps(meta, indent=2))
    return {**meta, "raw": str(Path(out_dir) / "raw.parquet")}


@cached_task(name="validate-reviews")
def validate_reviews_task(raw: str, label_map: dict, source: str, validation: dict, out_dir: str, cache_key: str) -> dict:
    from flows.config import ReviewValidationConfig

    df = pd.read_parquet(raw)
    accepted, quarantined, report = validate_reviews(df, label_map, Path(source).name, ReviewValidationConfig.model_validate(validation))
    with staging(out_dir) as tmp:
        accepted.to_parquet(tmp / "valid.parquet", index=False)
        quarantined.to_parquet(tmp / "quarantine.parquet", index=False)
        (tmp / "validation.json").write_text(json.dumps(report, indent=2))
    out = Path(out_dir)
    return {**report, "valid": str(out / "valid.parquet"), "quarantine": str(out / "quarantine.parquet")}
