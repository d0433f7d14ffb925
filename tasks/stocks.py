"""Daily OHLCV prices in the Yahoo Finance layout: read them, validate them with GX.

Reading (`read_prices`) is faithful: one row per data line, numbers parsed, nothing dropped.
Validation (`validate_prices`) decides which rows a model may learn from, and says why the
others were set aside (quarantine).

Decisions on the real data (../shared/data/stocks/history):
- `Open` = 0 is how these files say "the open was not recorded" (early years of BAC, CVX, JNJ,
  PG, XOM, TGT, ...). It is a missing value, not a price, so it is not quarantined: those rows
  carry years of good High/Low/Close/Volume. Open is set missing, the Open relations
  (High >= Open >= Low) are not checked for that row, and the report counts it as
  `open_missing`. Accepted rows then get Open filled (`open_filled` = True) with the previous
  trading day's Close of the same ticker, the price the market opened from as far as anyone
  knew before the day began; a ticker's first row, which has no previous day, takes its own
  Close. `PriceRules(open_fill="close")` fills with the same-day Close instead, "none" leaves
  NaN for a later step to handle.
- Zero-volume days (WMT has 53) are real trading days with no recorded trade: accepted, counted
  as `zero_volume`.
- A row whose other prices are missing (AAPL 1981-08-10 is all `null`) is quarantined.
- The few rows where High < Low, or Open/Close lie outside High..Low (16 in the 40 histories,
  mostly 1960s rows of CVX, PG, XOM) are quarantined: at least one of their prices is wrong
  and we cannot tell which.
- Dates must increase within each file; a file written newest first (some exports are) is
  turned around, not rejected, while a row whose date goes back in an otherwise increasing
  file is quarantined (a typo in its year, most often). Rows of one ticker from several files
  are merged by date; an exact repeat of an earlier row (overlapping downloads) is quarantined as a
  duplicate and the first copy kept, while copies of one date with different values are all
  quarantined (we cannot tell which copy is right).
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import DataError
from .validate import Rule, build_data_docs, run_suite, split_quarantine

PRICES = ("Open", "High", "Low", "Close", "Adj Close")
VALUES = (*PRICES, "Volume")
REQUIRED = ("Date", *VALUES)
TICKER_COLUMNS = ("ticker", "symbol")
GZIP_MAGIC = b"\x1f\x8b"
# The price expectation suite. Bump the version when a rule is added, dropped or changes
# meaning: reports and Data Docs name it, so results of different rule sets are told apart.
SUITE_NAME = "prices"
SUITE_VERSION = "prices-v1"


# -- reading --------------------------------------------------------------------------------

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


# -- validation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PriceRules:
    """The knobs of `validate_prices` (a pipeline config section can map onto these names)."""

    open_fill: Literal["prev_close", "close", "none"] = "prev_close"
    max_quarantine_fraction: float = 0.5  # above this share the whole batch is rejected
    # a ticker with fewer accepted rows rejects the batch (the pipeline's config asks for 30;
    # 1 here: every ticker named in the input must keep some rows)
    min_rows_per_ticker: int = 1

    def __post_init__(self):
        if self.open_fill not in ("prev_close", "close", "none"):
            raise ValueError(f"open_fill must be prev_close, close or none, got {self.open_fill!r}")
        if not 0 <= self.max_quarantine_fraction <= 1:
            raise ValueError(f"max_quarantine_fraction must be in [0, 1], got {self.max_quarantine_fraction}")
        if self.min_rows_per_ticker < 1:
            raise ValueError(f"min_rows_per_ticker must be at least 1, got {self.min_rows_per_ticker}")


_FINITE_MAX = float(np.finfo(np.float64).max)  # "between 0 and this" = finite and not negative


def price_rules() -> list[Rule]:
    """The GX expectations a row must meet, each with the reason a failing row is tagged with.

    Missing Open is allowed (see the module docstring); pair rules skip rows where a side is
    missing, so a missing value is reported once, as missing.
    """
    import great_expectations.expectations as gxe

    rules = [Rule("date missing or unparseable", gxe.ExpectColumnValuesToNotBeNull(column="Date"))]
    for col in (*PRICES[1:], "Volume"):
        rules.append(Rule(f"{col} missing", gxe.ExpectColumnValuesToNotBeNull(column=col)))
    for col in PRICES:
        rules.append(Rule(f"{col} not positive and finite", gxe.ExpectColumnValuesToBeBetween(
            column=col, min_value=0, strict_min=True, max_value=_FINITE_MAX)))
    rules.append(Rule("Volume negative or not finite", gxe.ExpectColumnValuesToBeBetween(
        column="Volume", min_value=0, max_value=_FINITE_MAX)))
    for high, low in (("High", "Low"), ("High", "Open"), ("Open", "Low"), ("High", "Close"), ("Close", "Low")):
        rules.append(Rule(f"{high} < {low}", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=high, column_B=low, or_equal=True, ignore_row_if="either_value_is_missing")))
    # rows without a date are reported as such, not as duplicates of each other
    rules.append(Rule("duplicate date with different values", gxe.ExpectCompoundColumnsToBeUnique(
        column_list=["ticker", "Date"], ignore_row_if="any_value_is_missing")))
    rules.append(Rule("date out of order in its file", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="Date", column_B="_prev_date", or_equal=True, ignore_row_if="either_value_is_missing")))
    return rules


def fill_missing_open(df: pd.DataFrame, how: str = "prev_close") -> pd.DataFrame:
    """Fill missing Open per ticker (df sorted by ticker, date) and flag it in `open_filled`.

    prev_close: the previous trading day's Close (a ticker's first row: its own Close);
    close: the same day's Close; none: leave NaN. A filled Open may lie outside that day's
    High..Low (overnight gaps); it was never checked against them."""
    df = df.copy()
    missing = df["Open"].isna()
    df["open_filled"] = missing if how != "none" else False
    if how == "prev_close":
        prev_close = df.groupby("ticker", sort=False)["Close"].shift(1)
        df.loc[missing, "Open"] = prev_close[missing].fillna(df["Close"][missing])
    elif how == "close":
        df.loc[missing, "Open"] = df["Close"][missing]
    return df


def oldest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn around the rows of each file written newest first (its parsed dates never increase);
    other files keep their order, so a date that goes back in them stays visible."""
    parts, flipped = [], False
    for _, rows in frame.groupby(["ticker", "source_file"], sort=False, dropna=False):
        dates = rows["Date"].dropna()
        if len(dates) > 1 and dates.is_monotonic_decreasing and dates.iloc[0] > dates.iloc[-1]:
            rows, flipped = rows.iloc[::-1], True
        parts.append(rows)
    return pd.concat(parts).reset_index(drop=True) if flipped else frame


def validate_prices(df: pd.DataFrame, cfg: PriceRules | None = None, *, raise_on_reject: bool = True,
                    docs_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(accepted, quarantined, report) for the frame `read_prices` returns.

    accepted: sorted by ticker then date, `Date` parsed to datetime64, Open filled per
    `cfg.open_fill` with `open_filled` marking the filled rows. quarantined: the rejected rows
    with `reason` (GX rules and parse errors, joined by "; ") and the original `date_text`.
    report: counts (`rows`, `accepted`, `quarantined`, `open_missing`, `zero_volume`, reasons,
    per ticker) and `validation` (one row per expectation, for the UI).
    Raises DataError when more than `cfg.max_quarantine_fraction` of the rows are quarantined or
    a ticker keeps fewer than `cfg.min_rows_per_ticker` rows (or, with raise_on_reject=False,
    says why in `report["rejected"]`, None for a usable batch). With docs_dir, GX Data Docs of
    the validation are written there (`report["data_docs"]`: their index.html).
    """
    cfg = cfg or PriceRules()
    frame = df.reset_index(drop=True).copy()
    # the parsed date replaces the text (kept as date_text): GX matches column names without
    # regard to case, so "Date" and "date" side by side would be read as one column
    frame["date_text"] = frame["Date"]
    frame["Date"] = pd.to_datetime(frame["Date"], format="ISO8601", errors="coerce")
    # Open = 0 means "not recorded": a missing value, not a price (see the module docstring).
    frame.loc[frame["Open"] == 0, "Open"] = np.nan
    frame = oldest_first(frame)

    value_cols = ["ticker", "Date", *VALUES]
    repeat = frame["Date"].notna() & frame.duplicated(subset=value_cols, keep="first")
    repeats = frame[repeat].assign(reason="exact duplicate of an earlier row")
    frame = frame[~repeat]
    # within each file dates must increase; NaT dates are skipped, not compared
    frame["_prev_date"] = frame.groupby(["ticker", "source_file"], sort=False)["Date"].transform(
        lambda s: s.ffill().cummax().shift(1))
    outcome = run_suite(frame, SUITE_VERSION, price_rules())
    parse_reasons = frame["parse_errors"].map(lambda e: f"not a number: {e}" if e else "")
    accepted, quarantined = split_quarantine(frame, outcome, parse_reasons.astype("string"))
    quarantined = pd.concat([quarantined, repeats]) if len(repeats) else quarantined

    accepted = accepted.sort_values(["ticker", "Date"], kind="stable").reset_index(drop=True)
    open_missing = accepted["Open"].isna()
    zero_volume = accepted["Volume"] == 0
    accepted = fill_missing_open(accepted, cfg.open_fill)
    accepted = accepted.drop(columns=["date_text", "_prev_date", "parse_errors"])
    quarantined = quarantined.drop(columns=["_prev_date", "parse_errors"]).reset_index(drop=True)

    report = _report(frame, repeats, accepted, quarantined, open_missing, zero_volume, outcome.table)
    if docs_dir is not None:
        report["data_docs"] = str(build_data_docs(outcome, docs_dir, "+".join(sorted(report["per_ticker"]))))
    report["rejected"] = batch_problem(df, quarantined, report, cfg)
    if report["rejected"] and raise_on_reject:
        sources = sorted(df["source_file"].unique()) if "source_file" in df else ["<input>"]
        raise DataError(sources[0] if len(sources) == 1 else f"{sources[0]} (+{len(sources) - 1} files)",
                        "batch rejected", report["rejected"])
    return accepted, quarantined, report


def batch_problem(df: pd.DataFrame, quarantined: pd.DataFrame, report: dict, cfg: PriceRules) -> str | None:
    """Why the batch as a whole cannot be trained on (None when it can)."""
    share = len(quarantined) / max(len(df), 1)
    if share > cfg.max_quarantine_fraction or report["accepted"] == 0:
        if quarantined.empty:
            return "no rows"
        top = ", ".join(f"{r} ({n})" for r, n in list(report["reasons"].items())[:3])
        first = quarantined.iloc[0]
        how_many = (f"all {len(df)} rows quarantined" if report["accepted"] == 0 else
                    f"{len(quarantined)} of {len(df)} rows quarantined ({share:.0%} > "
                    f"max_quarantine_fraction {cfg.max_quarantine_fraction:.0%})")
        return (f"{how_many}; top reasons: {top}; first at row {first['row']} of {Path(first['source_file']).name} "
                f"({first['reason']})")
    short = {t: c["accepted"] for t, c in report["per_ticker"].items() if c["accepted"] < cfg.min_rows_per_ticker}
    if short:
        ticker, n = next(iter(short.items()))
        files = ", ".join(sorted(Path(f).name for f in df.loc[df["ticker"] == ticker, "source_file"].unique()))
        more = f" (and {len(short) - 1} more: {', '.join(list(short)[1:6])})" if len(short) > 1 else ""
        return (f"ticker {ticker} ({files}) has {n} accepted rows, fewer than the minimum "
                f"{cfg.min_rows_per_ticker} (validation.min_rows_per_ticker){more}")
    return None


def _report(frame, repeats, accepted, quarantined, open_missing, zero_volume, table) -> dict:
    reasons = Counter(r for reason in quarantined["reason"] for r in str(reason).split("; ") if r)
    per_ticker = {}
    acc_by = accepted.groupby("ticker")
    q_counts = quarantined["ticker"].value_counts()
    om_counts = open_missing.groupby(accepted["ticker"]).sum()
    zv_counts = zero_volume.groupby(accepted["ticker"]).sum()
    for ticker in sorted(set(accepted["ticker"]) | set(quarantined["ticker"])):
        rows = acc_by.get_group(ticker) if ticker in acc_by.groups else accepted.iloc[:0]
        per_ticker[ticker] = {
            "accepted": int(len(rows)),
            "quarantined": int(q_counts.get(ticker, 0)),
            "open_missing": int(om_counts.get(ticker, 0)),
            "zero_volume": int(zv_counts.get(ticker, 0)),
            "first_date": rows["Date"].min().date().isoformat() if len(rows) else None,
            "last_date": rows["Date"].max().date().isoformat() if len(rows) else None,
        }
    return {
        "suite": {"name": SUITE_NAME, "version": SUITE_VERSION},
        "rows": int(len(frame) + len(repeats)),
        "accepted": int(len(accepted)),
        "quarantined": int(len(quarantined)),
        "open_missing": int(open_missing.sum()),
        "zero_volume": int(zero_volume.sum()),
        "tickers": len(per_ticker),
        "reasons": dict(reasons.most_common()),
        "per_ticker": per_ticker,
        "validation": table,
    }


# -- inputs of the forecast pipeline -----------------------------------------------------------

def prices_sha256(path: str | Path) -> str:
    """Content hash of a file, folder or glob of price files: every file's bytes plus its name
    (the ticker comes from the name), in name order, so moving the files elsewhere keeps the
    hash and renaming or editing one changes it."""
    from .caching import file_sha256  # imports Prefect: only the flow needs this

    h = hashlib.sha256()
    for f in sorted(list_price_files(path), key=lambda f: f.name):
        try:
            h.update(f"{f.name}\0{file_sha256(f)}\n".encode())
        except OSError as exc:  # the flow hashes before it reads: the same error as reading
            raise DataError(f, "file not readable", exc.strerror or str(exc)) from None
    return h.hexdigest()


def history_for_forecast(df: pd.DataFrame, columns: list[str], lookback: int,
                         open_fill: str = "prev_close") -> dict[str, pd.DataFrame]:
    """{ticker: rows sorted by date} ready for a forecast from the newest `lookback` rows.

    The same cleaning as training (Open = 0 is missing and filled per `open_fill`), but no
    quarantine: the newest rows are what a forecast is made from, so a bad one among them is
    an error naming the file, the row and the rule, not something to skip silently."""
    frame = df.copy()
    frame["Date"] = pd.to_datetime(frame["Date"], format="ISO8601", errors="coerce")
    frame.loc[frame["Open"] == 0, "Open"] = np.nan
    out = {}
    for ticker, rows in frame.groupby("ticker", sort=True):
        bad_date = rows[rows["Date"].isna()]
        if len(bad_date):
            r = bad_date.iloc[0]
            raise DataError(r["source_file"], "date missing or unparseable", repr(r.get("Date")), row=int(r["row"]))
        rows = rows.sort_values("Date", kind="stable")
        if rows["Date"].duplicated().any():
            r = rows[rows["Date"].duplicated()].iloc[0]
            raise DataError(r["source_file"], "duplicate date", str(r["Date"].date()), row=int(r["row"]))
        rows = fill_missing_open(rows.reset_index(drop=True), open_fill)
        if len(rows) < lookback:
            raise DataError(rows["source_file"].iloc[0], "too few rows",
                            f"{len(rows)} rows of {ticker}; the model reads the last {lookback}")
        recent = rows.iloc[len(rows) - lookback:]
        for col in columns:
            values = recent[col]
            bad = values.isna() | ~np.isfinite(values) | (values < 0) | ((values == 0) & (col != "Volume"))
            if bad.any():
                r = recent[bad].iloc[0]
                raise DataError(r["source_file"], f"{col} missing or not positive in the last {lookback} rows",
                                f"{col}={float(r[col])!r} on {r['Date'].date()}", row=int(r["row"]))
        out[str(ticker)] = rows
    return out
