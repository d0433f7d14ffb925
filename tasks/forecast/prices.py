"""Daily OHLCV price files (a .csv, .txt, .csv.gz, .txt.gz or .parquet file, a folder or a glob):
listing, faithful reading (one row per data line, numbers parsed, nothing dropped), content
hashes and the Open fill. Columns are found by name (tasks/forecast/layouts.py); how each file
was read is in `frame.attrs["layouts"]`. Free of Prefect: the predict CLI reads prices too."""
from __future__ import annotations

import glob
import gzip
import hashlib
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tasks.shared.errors import DataError
from tasks.shared.hashing import file_sha256

from .layouts import Layout, find_layout

if TYPE_CHECKING:
    from .config import PriceIngestConfig

PRICES = ("Open", "High", "Low", "Close", "Adj Close")
VALUES = (*PRICES, "Volume")
SUFFIXES = (".csv", ".txt", ".parquet")  # each also gzip-compressed (.csv.gz), Parquet excepted
GZIP_MAGIC, PARQUET_MAGIC = b"\x1f\x8b", b"PAR1"


def _is_price_name(name: str) -> bool:
    name = name.lower()
    return name.endswith(SUFFIXES) or name.endswith((".csv.gz", ".txt.gz"))


def list_price_files(path: str | Path) -> list[Path]:
    """The price files `path` names: a file, a folder (its *.csv, *.txt, *.parquet and *.csv.gz,
    *.txt.gz, not recursive) or a glob pattern (`data/*.csv.gz`, `**` allowed)."""
    text = str(path)
    p = Path(path)
    if p.is_file():
        return [p]
    if p.exists() and not p.is_dir():  # a FIFO would block the read forever, a socket cannot be read
        raise DataError(p, "not a regular file", "a pipe, socket or device; give a CSV file, a folder or a glob")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and _is_price_name(f.name))
        if not files:
            raise DataError(p, "no CSV files in folder", "expected *.csv, *.txt, *.parquet, *.csv.gz or *.txt.gz")
        return files
    if any(ch in text for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(text, recursive=True) if Path(f).is_file())
        if not files:
            raise DataError(text, "no files match the pattern")
        return files
    raise DataError(text, "file not found")


def ticker_from_name(path: str | Path) -> str:
    """`SBUX.csv.gz` -> `SBUX`, `data/ko.csv` -> `KO`, `spy.us.txt` -> `SPY.US`."""
    name = Path(path).name
    for suffixes in ((".gz",), SUFFIXES):
        name = next((name[: -len(s)] for s in suffixes if name.lower().endswith(s)), name)
    return name.strip().upper()


def _format_of(path: Path) -> str:
    """csv, gzip csv or parquet, told by the file's first bytes (a URL's download may have any name);
    a name that says otherwise is an error."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise DataError(path, "file not readable", exc.strerror or str(exc)) from None
    name = path.name.lower()
    if name.endswith(".gz") and magic[:2] != GZIP_MAGIC:
        raise DataError(path, "not a gzip file", "the name ends in .gz but the bytes are not gzip")
    if name.endswith(".parquet") and magic != PARQUET_MAGIC:
        raise DataError(path, "not a Parquet file", "the name ends in .parquet but the bytes are not Parquet")
    return "parquet" if magic == PARQUET_MAGIC else "gzip csv" if magic[:2] == GZIP_MAGIC else "csv"


def _read_parquet(path: Path, header_only: bool) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if header_only:  # a named index (Date, as pandas writes a date-indexed frame) is a column too
            return pd.DataFrame(columns=[re.sub(r"^__index_level_\d+__$", "index", n) for n in pq.read_schema(path).names])
        raw = pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(path, "corrupt Parquet", str(exc).strip()) from None
    return raw if isinstance(raw.index, pd.RangeIndex) else raw.reset_index()


def _read_table(path: Path, fmt: str, header_only: bool = False) -> pd.DataFrame:
    """The file's table as it is (the header only, when asked), columns named as in the file."""
    if fmt == "parquet":
        raw = _read_parquet(path, header_only)
    else:
        try:
            # skip_blank_lines=False keeps `row` equal to the line number - 1; blank lines become
            # all-missing rows and are dropped below.
            raw = pd.read_csv(
                path, compression="gzip" if fmt == "gzip csv" else None, encoding="utf-8-sig",  # -sig: drop a BOM
                skip_blank_lines=False, skipinitialspace=True, nrows=0 if header_only else None,
            )
        except pd.errors.EmptyDataError:
            raise DataError(path, "empty file") from None
        except UnicodeDecodeError:
            row, where = _first_undecodable(path, fmt == "gzip csv")
            raise DataError(path, "not UTF-8 text", f"undecodable byte in {where}", row=row) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(path, "truncated or corrupt gzip", str(exc)) from None
        except pd.errors.ParserError as exc:
            line = re.search(r"\bline (\d+)", str(exc))  # the header is line 1, so row = line - 1
            raise DataError(path, "malformed CSV", str(exc).strip(), row=int(line.group(1)) - 1 if line else None) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def file_layout(path: str | Path, ingest: PriceIngestConfig | None = None) -> Layout:
    """The layout of a price file, from its header alone."""
    path = Path(path)
    return find_layout(path, list(_read_table(path, _format_of(path), header_only=True).columns), ingest)


def _text(values: pd.Series) -> pd.Series:
    """Dates as ISO text, whatever the file stored (Parquet: timestamps or dates; CSV: text)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # the exchange's own day, as a CSV would write it
    return values.astype("string").str.strip()


def read_price_file(path: str | Path, ingest: PriceIngestConfig | None = None) -> pd.DataFrame:
    """One price file (CSV plain or gzip, or Parquet; told apart by the file's first bytes) ->
    ticker, Date (text), Open..Volume (float), source_file, row (1-based: the first line after
    the header is row 1), parse_errors ("" or the cells that are not numbers). Adj Close is
    Close where the file has none. `attrs["layouts"]`: {file name: how it was read}."""
    path = Path(path)
    fmt = _format_of(path)
    raw = _read_table(path, fmt)
    layout = find_layout(path, list(raw.columns), ingest)
    row = pd.Series(np.arange(1, len(raw) + 1, dtype=np.int64), index=raw.index)
    raw = raw[raw.notna().any(axis=1)]
    if raw.empty:
        raise DataError(path, "no data rows", "the file has a header only")

    out = pd.DataFrame(index=raw.index)
    out["ticker"] = ticker_from_name(path)
    if layout.ticker is not None:  # a column wins over the file name; blanks fall back to it
        named = raw[layout.ticker].astype("string").str.strip().str.upper()
        out["ticker"] = named.where(named.notna() & (named != ""), out["ticker"]).astype(str)
    out["Date"] = _text(raw[layout.columns["Date"]])
    errors = pd.Series("", index=raw.index, dtype=object)
    for col in VALUES:
        if col not in layout.columns:  # Adj Close: the file has none
            out[col] = out["Close"]
            continue
        values = raw[layout.columns[col]]
        parsed = pd.to_numeric(values, errors="coerce").astype(np.float64)
        bad = values.notna() & parsed.isna()
        if bad.any():
            errors[bad] = errors[bad] + [f"{col}={str(v)[:20]!r} " for v in values[bad]]
        out[col] = parsed
    out["source_file"] = str(path)
    out["row"] = row[raw.index]
    out["parse_errors"] = errors.str.strip().astype(str)
    out = out.reset_index(drop=True)
    out.attrs["layouts"] = {path.name: {"format": fmt, **layout.describe()}}
    return out


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


def read_prices(path: str | Path, ingest: PriceIngestConfig | None = None) -> pd.DataFrame:
    """All price rows of a file, folder or glob as one frame (see `read_price_file`), with every
    file's layout in `attrs["layouts"]`."""
    frames = [read_price_file(f, ingest) for f in list_price_files(path)]
    if len(frames) == 1:
        return frames[0]
    df = pd.concat(frames, ignore_index=True)
    df.attrs["layouts"] = {name: layout for f in frames for name, layout in f.attrs["layouts"].items()}
    return df


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
