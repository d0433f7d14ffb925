"""Price files in the layouts teams have (Stooq, a data API's export, long tables in CSV and
Parquet, gzip, a date-indexed Parquet, a header that needs `ingest.columns`, shuffled and
newest-first files) and files that cannot be read, built from real rows: the repo's
data/SBUX.csv and the heads of two shared histories (KO, MCD). Used by tests/tasks/forecast/
test_layouts.py and scripts/layouts_table.py (which prints what they read).

Each builder writes its file into `folder/<fixture name>/` and returns its path.
"""
from __future__ import annotations

import gzip
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[3]
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"
YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume"


def sbux_rows() -> list[list[str]]:
    """The 252 data lines of data/SBUX.csv as text cells (Date, Open, High, Low, Close, Adj Close, Volume)."""
    return [line.split(",") for line in SBUX.read_text().splitlines()[1:]]


def history_head(ticker: str, rows: int) -> pd.DataFrame:
    """The first `rows` days of a shared history, Yahoo columns, as text (as the file has them)."""
    with gzip.open(HISTORY / f"{ticker}.csv.gz", "rt") as fh:
        return pd.read_csv(fh, nrows=rows, dtype=str)


def _write(folder: Path, name: str, lines: list[str], compress: bool = False) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _yahoo_frame() -> pd.DataFrame:
    return pd.DataFrame(sbux_rows(), columns=YAHOO.split(","))


def stooq(folder: Path) -> Path:
    """Stooq's daily file: no Adj Close, an OpenInt column (0 for stocks), named ticker.market.txt."""
    lines = ["Date,Open,High,Low,Close,Volume,OpenInt"] + [",".join([*r[:5], r[6], "0"]) for r in sbux_rows()]
    return _write(folder, "stooq/sbux.us.txt", lines)


def api_export(folder: Path) -> Path:
    """A data API's CSV saved by pandas: an unnamed index column, lower-case names, adjusted_close,
    dividend and split columns, the newest day first."""
    rows = sbux_rows()[::-1]
    lines = [",timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient"]
    lines += [",".join([str(i), *r, "0.0000", "1.0"]) for i, r in enumerate(rows)]
    return _write(folder, "api_export/SBUX.csv", lines)


def long_frame() -> pd.DataFrame:
    """SBUX (252 days) and the first 200 days of KO and MCD: one table, a `symbol` column, sorted by date."""
    parts = [_yahoo_frame().assign(symbol="SBUX")]
    parts += [history_head(t, 200).assign(symbol=t) for t in ("KO", "MCD")]
    frame = pd.concat(parts, ignore_index=True).sort_values(["Date", "symbol"], kind="stable")
    return frame[["symbol", *YAHOO.split(",")]].reset_index(drop=True)


def long_parquet(folder: Path) -> Path:
    """A long Parquet table as a database export writes it: typed (timestamps, floats), a `symbol` column."""
    frame = long_frame()
    frame["Date"] = pd.to_datetime(frame["Date"])
    for col in YAHOO.split(",")[1:]:
        frame[col] = frame[col].astype(float)
    path = folder / "long_parquet/prices.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def long_csv(folder: Path) -> Path:
    """A long CSV of two tickers, a `ticker` column, snake_case names (adj_close), sorted by ticker then date."""
    frame = long_frame().query("symbol != 'MCD'").sort_values(["symbol", "Date"], kind="stable")
    lines = ["ticker,date,open,high,low,close,adj_close,volume"] + [",".join(r) for r in frame.astype(str).values]
    return _write(folder, "long_csv/prices.csv", lines)


def gzip_yahoo(folder: Path) -> Path:
    """Yahoo's layout, gzip-compressed."""
    return _write(folder, "gzip/SBUX.csv.gz", [YAHOO, *(",".join(r) for r in sbux_rows())], compress=True)


def yfinance_parquet(folder: Path) -> Path:
    """What `yf.download(...).to_parquet()` leaves: Date is the index, not a column."""
    frame = _yahoo_frame()
    frame["Date"] = pd.to_datetime(frame["Date"])
    frame = frame.set_index("Date").astype(float)
    path = folder / "yfinance_parquet/SBUX.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return path


def intraday_names(folder: Path) -> Path:
    """Daily rows under names the reader does not take unasked: Datetime (an intraday export's
    name) and one-letter prices; read with ingest.columns {Date: Datetime, Volume: vol}."""
    lines = ["Datetime,o,h,l,c,vol"] + [",".join([*r[:5], r[6]]) for r in sbux_rows()]
    return _write(folder, "mapped/SBUX.csv", lines)


def shuffled(folder: Path) -> Path:
    """Yahoo's layout with the rows in no order (a fixed shuffle)."""
    rows = sbux_rows()
    random.Random(20).shuffle(rows)
    return _write(folder, "shuffled/SBUX.csv", [YAHOO, *(",".join(r) for r in rows)])


TYPO_ROW = 101  # the file row whose year is typed wrong (2022 -> 2012)


def newest_first_with_typo(folder: Path) -> Path:
    """The newest day first, and one date a decade off (a typo in its year)."""
    rows = sbux_rows()[::-1]
    assert rows[TYPO_ROW - 1][0].startswith("2022-")
    rows[TYPO_ROW - 1][0] = "2012" + rows[TYPO_ROW - 1][0][4:]
    return _write(folder, "newest_first_typo/SBUX.csv", [YAHOO, *(",".join(r) for r in rows)])


# -- files it cannot read: each is one error line -----------------------------------------------

def unknown_names(folder: Path) -> Path:
    """A header none of whose names means one of ours."""
    lines = ["when,first,max,min,last,traded"] + [",".join([*r[:5], r[6]]) for r in sbux_rows()[:5]]
    return _write(folder, "unknown_names/prices.csv", lines)


def two_dates(folder: Path) -> Path:
    """Two columns that could each be the date."""
    lines = ["timestamp,day,open,high,low,close,volume"] + [",".join([r[0], *r[:5], r[6]]) for r in sbux_rows()[:5]]
    return _write(folder, "two_dates/prices.csv", lines)


def not_parquet(folder: Path) -> Path:
    """A CSV saved under a .parquet name."""
    return _write(folder, "not_parquet/SBUX.parquet", [YAHOO, *(",".join(r) for r in sbux_rows()[:5])])


@dataclass(frozen=True)
class Fixture:
    name: str
    layout: str  # in words, for the table
    build: Callable[[Path], Path]
    ingest: dict = field(default_factory=dict)  # the `ingest:` config section it is read with


READABLE = [
    Fixture("stooq", "Stooq .txt: no Adj Close, OpenInt", stooq),
    Fixture("api_export", "API CSV: unnamed index, snake_case, newest first, dividend/split columns", api_export),
    Fixture("long_parquet", "long Parquet, `symbol` column, typed, 3 tickers", long_parquet),
    Fixture("long_csv", "long CSV, `ticker` column, snake_case, 2 tickers", long_csv),
    Fixture("gzip", "Yahoo layout, .csv.gz", gzip_yahoo),
    Fixture("yfinance_parquet", "Parquet with Date as its index (pandas/yfinance)", yfinance_parquet),
    Fixture("mapped", "Datetime,o,h,l,c,vol with ingest.columns", intraday_names,
            {"columns": {"Date": "Datetime", "Volume": "vol"}}),
    Fixture("shuffled", "Yahoo layout, rows in no order", shuffled),
    Fixture("newest_first_typo", "Yahoo layout, newest first, one year typo", newest_first_with_typo),
]
UNREADABLE = [
    Fixture("mapped_without_config", "Datetime,o,h,l,c,vol, no ingest.columns", intraday_names),
    Fixture("unknown_names", "no name it knows", unknown_names),
    Fixture("two_dates", "timestamp and day", two_dates),
    Fixture("mapping_off", "ingest.columns naming a column the file lacks", gzip_yahoo,
            {"columns": {"Volume": "shares"}}),
    Fixture("ticker_off", "ingest.ticker naming a column the file lacks", gzip_yahoo, {"ticker": "Symbol"}),
    Fixture("not_parquet", "CSV bytes under a .parquet name", not_parquet),
]
