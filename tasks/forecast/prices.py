"""Daily OHLCV price files in the Yahoo Finance layout (a CSV, a .csv.gz, a folder or a glob):
listing, faithful reading (one row per data line, numbers parsed, nothing dropped), content
hashes and the Open fill. Free of Prefect: the predict CLI reads prices too."""
from __future__ import annotations

import glob
import gzip
import hashlib
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.shared.errors import DataError
from tasks.shared.hashing import file_sha256

PRICES = ("Open", "High", "Low", "Close", "Adj Close")
VALUES = (*PRICES, "Volume")
REQUIRED = ("Date", *VALUES)
TICKER_COLUMNS = ("ticker", "symbol")
GZIP_MAGIC = b"\x1f\x8b"


def list_price_files(path: str | Path) -> list[Path]:
    """The CSV files `path` names: a file, a folder (its *.csv and *.csv.gz, not recursive) or
    a glob pattern (`data/*.csv.gz`, `**` allowed)."""
    text = str(path)
    p = Path(path)
    if p.is_file():
        return [p]
    if p.exists() and not p.is_dir():  # a FIFO would block the read forever, a socket cannot be read
        raise DataError(p, "not a regular file", "a pipe, socket or device; give a CSV file, a folder or a glob")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith((".csv", ".csv.gz")))
        if not files:
            raise DataError(p, "no CSV files in folder", "expected *.csv or *.csv.gz")
        return files
    if any(ch in text for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(text, recursive=True) if Path(f).is_file())
        if not files:
            raise DataError(text, "no files match the pattern")
        return files
    raise DataError(text, "file not found")


def ticker_from_name(path: str | Path) -> str:
    """`SBUX.csv.gz` -> `SBUX`, `data/ko.csv` -> `KO`."""
    name = Path(path).name
    for suffix in (".gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name.strip().upper()


def read_price_file(path: str | Path) -> pd.DataFrame:
    """One CSV (plain or gzip, told apart by the file's first bytes) -> ticker, Date (text),
    Open..Volume (float), source_file, row (1-based: the first line after the header is row 1),
    parse_errors ("" or the cells that are not numbers)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise DataError(path, "file not readable", exc.strerror or str(exc)) from None
    if path.name.lower().endswith(".gz") and magic != GZIP_MAGIC:
        raise DataError(path, "not a gzip file", "the name ends in .gz but the bytes are not gzip")
    try:
        # skip_blank_lines=False keeps `row` equal to the line number - 1; blank lines become
        # all-missing rows and are dropped below.
        raw = pd.read_csv(
            path, compression="gzip" if magic == GZIP_MAGIC else None, encoding="utf-8-sig",  # -sig: drop a BOM
            skip_blank_lines=False, skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(path, "empty file") from None
    except UnicodeDecodeError:
        row, where = _first_undecodable(path, magic == GZIP_MAGIC)
        raise DataError(path, "not UTF-8 text", f"undecodable byte in {where}", row=row) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(path, "truncated or corrupt gzip", str(exc)) from None
    except pd.errors.ParserError as exc:
        line = re.search(r"\bline (\d+)", str(exc))  # the header is line 1, so row = line - 1
        raise DataError(path, "malformed CSV", str(exc).strip(), row=int(line.group(1)) - 1 if line else None) from None

    raw.columns = [str(c).strip() for c in raw.columns]
    by_lower = {c.lower(): c for c in raw.columns}
    missing = [c for c in REQUIRED if c.lower() not in by_lower]
    if missing:
        raise DataError(path, "missing columns", f"{', '.join(missing)} (found: {', '.join(raw.columns)})")
    raw["row"] = np.arange(1, len(raw) + 1, dtype=np.int64)
    raw = raw[raw.drop(columns="row").notna().any(axis=1)]
    if raw.empty:
        raise DataError(path, "no data rows", "the file has a header only")

    out = pd.DataFrame(index=raw.index)
    out["ticker"] = ticker_from_name(path)
    ticker_col = next((by_lower[c] for c in TICKER_COLUMNS if c in by_lower), None)
    if ticker_col is not None:  # a column wins over the file name; blanks fall back to it
        named = raw[ticker_col].astype("string").str.strip().str.upper()
        out["ticker"] = named.where(named.notna() & (named != ""), out["ticker"]).astype(str)
    out["Date"] = raw[by_lower["date"]].astype("string").str.strip()
    errors = pd.Series("", index=raw.index, dtype=object)
    for col in VALUES:
        values = raw[by_lower[col.lower()]]
        parsed = pd.to_numeric(values, errors="coerce").astype(np.float64)
        bad = values.notna() & parsed.isna()
        if bad.any():
            errors[bad] = errors[bad] + [f"{col}={str(v)[:20]!r} " for v in values[bad]]
        out[col] = parsed
    out["source_file"] = str(path)
    out["row"] = raw["row"]
    out["parse_errors"] = errors.str.strip().astype(str)
    return out.reset_index(drop=True)


def _first_undecodable(path: Path, gz: bool) -> tuple[int | None, str]:
    """(row, "column X") of the first bytes that are not UTF-8 (pandas only says where in its
    read block they were); (None, "the header") when the header has them."""
    header: list[str] = []
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        for lineno, line in enumerate(fh):
            try:
                text = line.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                if lineno == 0:
                    return None, "the header"
                i = line[: exc.start].count(b",")
                return lineno, f"column {header[i].strip() if i < len(header) else i + 1}"
            header = header or text.strip().split(",")
    return None, "the file"


def read_prices(path: str | Path) -> pd.DataFrame:
    """All price rows of a file, folder or glob as one frame (see `read_price_file`)."""
    frames = [read_price_file(f) for f in list_price_files(path)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def prices_sha256(path: str | Path) -> str:
    """Content hash of a file, folder or glob of price files: every file's bytes plus its name
    (the ticker comes from the name), in name order, so moving the files elsewhere keeps the
    hash and renaming or editing one changes it."""
    h = hashlib.sha256()
    for f in sorted(list_price_files(path), key=lambda f: f.name):
        try:
            h.update(f"{f.name}\0{file_sha256(f)}\n".encode())
        except OSError as exc:  # the flow hashes before it reads: the same error as reading
            raise DataError(f, "file not readable", exc.strerror or str(exc)) from None
    return h.hexdigest()


def fill_missing_open(df: pd.DataFrame, how: str = "prev_close") -> pd.DataFrame:
    """Fill missing Open per ticker (df sorted by ticker, date) and flag it in `open_filled`.

    prev_close: the previous trading day's Close (a ticker's first row: its own Close);
    close: the same day's Close. A filled Open may lie outside that day's
    High..Low (overnight gaps); it was never checked against them."""
    df = df.copy()
    missing = df["Open"].isna()
    df["open_filled"] = missing
    if how == "prev_close":
        prev_close = df.groupby("ticker", sort=False)["Close"].shift(1)
        df.loc[missing, "Open"] = prev_close[missing].fillna(df["Close"][missing])
    elif how == "close":
        df.loc[missing, "Open"] = df["Close"][missing]
    return df
