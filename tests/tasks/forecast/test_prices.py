"""Reading and validating Yahoo-layout price files, on real SBUX/AAPL/BAC data and small bad files."""
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.forecast.config import PriceValidationConfig
from tasks.forecast.prices import list_price_files, read_prices, ticker_from_name
from tasks.forecast.validate import validate_prices
from tasks.shared.errors import DataError

REPO = Path(__file__).resolve().parents[3]
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"
HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"


def head_of_history(ticker: str, lines: int, folder: Path) -> Path:
    """The first `lines` lines (header included) of a real history, as a gzip file in folder."""
    with gzip.open(HISTORY / f"{ticker}.csv.gz", "rt") as fh:
        text = "".join(line for _, line in zip(range(lines), fh))
    path = folder / f"{ticker}.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write(text)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- reading ----------------------------------------------------------------------------------

def test_reads_a_plain_csv_with_ticker_file_and_row_number():
    df = read_prices(SBUX)
    assert len(df) == 252 and set(df["ticker"]) == {"SBUX"}
    assert df["row"].tolist() == list(range(1, 253))
    assert df["source_file"].iloc[0] == str(SBUX)
    assert df["Date"].iloc[0] == "2021-08-18" and df["Volume"].iloc[0] == 4520500
    assert df[["Open", "High", "Low", "Close", "Adj Close", "Volume"]].dtypes.eq(np.float64).all()


def test_reads_a_folder_and_a_glob_of_gzip_and_plain_files(tmp_path):
    head_of_history("AAPL", 200, tmp_path)
    head_of_history("BAC", 60, tmp_path)
    write(tmp_path / "notes.md", "not prices")  # .txt is a price file (Stooq writes them)
    folder = read_prices(tmp_path)
    assert folder["ticker"].value_counts().to_dict() == {"AAPL": 199, "BAC": 59}
    assert read_prices(tmp_path / "B*.csv.gz")["ticker"].unique().tolist() == ["BAC"]
    assert [p.name for p in list_price_files(tmp_path)] == ["AAPL.csv.gz", "BAC.csv.gz"]
    assert ticker_from_name("data/sbux.CSV.gz") == "SBUX"


def test_null_cells_are_missing_values(tmp_path):
    aapl = read_prices(head_of_history("AAPL", 200, tmp_path))
    null_row = aapl[aapl["Date"] == "1981-08-10"]
    assert len(null_row) == 1 and null_row["row"].item() == 166
    assert null_row[["Open", "High", "Low", "Close", "Adj Close", "Volume"]].isna().all(axis=None)
    assert aapl.drop(index=null_row.index)[["Close", "Volume"]].notna().all(axis=None)


def test_a_ticker_or_symbol_column_wins_over_the_file_name(tmp_path):
    path = write(tmp_path / "prices.csv", f"Symbol,{HEADER}\nko,2020-01-02,54.3,54.6,54.0,54.5,50.1,1000\n"
                                          f",2020-01-03,54.3,54.6,54.0,54.5,50.1,1000\n")
    assert read_prices(path)["ticker"].tolist() == ["KO", "PRICES"]  # a blank cell falls back


@pytest.mark.parametrize("make,rule", [
    (lambda d: d / "missing.csv", "file not found"),
    (lambda d: d / "no-match-*.csv", "no files match the pattern"),
    (lambda d: (d / "empty_dir").mkdir() or d / "empty_dir", "no CSV files in folder"),
    (lambda d: write(d / "EMPTY.csv", ""), "empty file"),
    (lambda d: write(d / "HDR.csv", HEADER + "\n"), "no data rows"),
    (lambda d: write(d / "COLS.csv", "Date,Close\n2020-01-02,1.0\n"), "missing columns"),
    (lambda d: write_bytes(d / "BIN.csv", HEADER.encode() + b"\n2020-01-02,\xff\xfe,1,1,1,1,1\n"),
     "not UTF-8 text"),
    (lambda d: write_bytes(d / "FAKE.csv.gz", b"Date,Open\n"), "not a gzip file"),
])
def test_unreadable_inputs_raise_data_error_naming_file_and_rule(tmp_path, make, rule):
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        read_prices(path)
    assert err.value.rule == rule and Path(path).name in str(err.value)


def test_truncated_gzip_is_a_data_error(tmp_path):
    whole = (HISTORY / "SBUX.csv.gz").read_bytes()
    cut = tmp_path / "SBUX.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="truncated or corrupt gzip") as err:
        read_prices(cut)
    assert err.value.file == str(cut)


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path / "X.csv", "Date,Open,High,Close,Adj Close\n2020-01-02,1,1,1,1\n")
    with pytest.raises(DataError, match=r"missing columns: Low, Volume \(found: Date, Open, High, Close, Adj Close\)"):
        read_prices(path)


# -- validation on real data --------------------------------------------------------------------

def test_sbux_passes_whole():
    accepted, quarantined, report = validate_prices(read_prices(SBUX))
    assert len(accepted) == 252 and quarantined.empty
    assert report["open_missing"] == 0 and report["zero_volume"] == 0
    assert accepted["Date"].is_monotonic_increasing and str(accepted["Date"].dtype).startswith("datetime64")
    assert all(row["success"] for row in report["validation"])


def test_aapl_all_null_row_is_quarantined_with_its_reason(tmp_path):
    accepted, quarantined, report = validate_prices(read_prices(head_of_history("AAPL", 300, tmp_path)))
    assert len(accepted) == 298 and len(quarantined) == 1
    bad = quarantined.iloc[0]
    assert bad["date_text"] == "1981-08-10" and bad["row"] == 166
    assert set(bad["reason"].split("; ")) == {"High missing", "Low missing", "Close missing",
                                              "Adj Close missing", "Volume missing"}
    assert report["per_ticker"]["AAPL"] == {
        "accepted": 298, "quarantined": 1, "open_missing": 0, "zero_volume": 0,
        "first_date": "1980-12-12", "last_date": accepted["Date"].max().date().isoformat(),
    }


@pytest.fixture(scope="module")
def bac(tmp_path_factory):
    """BAC 1973-1980: Open is 0 from 1973-05-03 on, four zero-volume days, one bad row."""
    raw = read_prices(head_of_history("BAC", 2000, tmp_path_factory.mktemp("bac")))
    return raw, *validate_prices(raw)


def test_bac_open_zero_is_missing_not_a_reason_to_reject(bac):
    raw, accepted, quarantined, report = bac
    zeros = int((raw["Open"] == 0).sum())
    assert zeros > 1900
    assert len(quarantined) == 1 and quarantined["Open"].isna().all()  # 1980-06-06 had Open 0 too
    assert report["open_missing"] == zeros - 1 == accepted["open_filled"].sum()
    assert report["reasons"] == {"Close < Low": 1}
    assert report["zero_volume"] == 4 and (accepted["Volume"] == 0).sum() == 4


def test_bac_missing_open_is_filled_with_the_previous_close(bac):
    raw, accepted, _, _ = bac
    filled = accepted.index[accepted["open_filled"]]
    np.testing.assert_array_equal(accepted.loc[filled, "Open"], accepted.loc[filled - 1, "Close"])
    assert not accepted["open_filled"].iloc[0]  # 1973-02-21 had a recorded open
    assert accepted["Open"].notna().all() and (accepted["Open"] > 0).all()


def test_bac_row_with_close_below_low_is_quarantined_for_that_reason(bac):
    _, _, quarantined, report = bac
    bad = quarantined.iloc[0]
    assert (bad["date_text"], bad["row"], bad["reason"]) == ("1980-06-06", 1844, "Close < Low")
    assert report["reasons"] == {"Close < Low": 1}


def test_open_fill_close_uses_the_same_day_close_and_first_rows_have_no_previous_day(tmp_path):
    path = write(tmp_path / "T.csv", f"{HEADER}\n2020-01-02,0,11,9,10,10,5\n2020-01-03,0,13,11,12,12,5\n")
    # two rows are too few to train on (the batch is refused), but the rows are judged all the same
    accepted, _, report = validate_prices(read_prices(path), raise_on_reject=False)
    assert "fewer than the minimum 30" in report["rejected"]
    assert accepted["Open"].tolist() == [10, 10]  # first row: own close; then yesterday's close
    assert accepted["open_filled"].all()
    accepted, _, _ = validate_prices(read_prices(path), PriceValidationConfig(open_fill="close"), raise_on_reject=False)
    assert accepted["Open"].tolist() == [10, 12]


# -- validation of bad rows -----------------------------------------------------------------------

BAD_ROWS = {
    "2020-01-06,10,11,12,10,10,100": "High < Low; Open < Low; Close < Low",
    "2020-01-07,10,11,9,10,10,-5": "Volume negative or not finite",
    "2020-13-45,10,11,9,10,10,100": "date missing or unparseable",
    "2020-01-08,10,11,9,abc,10,100": "Close missing; not a number: Close='abc'",
    "2020-01-09,10,inf,9,10,10,100": "High not positive and finite",
    "2020-01-10,10,11,9,-10,10,100": "Close not positive and finite; Close < Low",
    "2020-01-13,10,11,9,12,10,100": "High < Close",
    "2020-01-14,8,11,9,10,10,100": "Open < Low",
}


def test_each_bad_row_is_quarantined_with_its_reasons(tmp_path):
    good = ["2020-01-02,10,11,9,10,10,100", "2020-01-03,10,11,9,10,10,0"]
    path = write(tmp_path / "BAD.csv", "\n".join([HEADER, *good, *BAD_ROWS]) + "\n")
    accepted, quarantined, report = validate_prices(read_prices(path), PriceValidationConfig(max_quarantine_fraction=1.0),
                                                   raise_on_reject=False)
    assert accepted["Date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-03"]
    assert report["zero_volume"] == 1  # a zero-volume day is accepted, and counted
    got = dict(zip(quarantined["row"], quarantined["reason"]))
    want = {i + 3: reason for i, reason in enumerate(BAD_ROWS.values())}
    assert {row: set(r.split("; ")) for row, r in got.items()} == \
        {row: set(r.split("; ")) for row, r in want.items()}


def test_duplicate_and_out_of_order_dates(tmp_path):
    rows = [
        "2020-01-02,10,11,9,10,10,100",
        "2020-01-03,10,11,9,10,10,100",
        "2020-01-03,10,11,9,10,10,100",   # exact repeat: dropped, first copy kept
        "2020-01-06,10,11,9,10,10,100",
        "2020-01-06,10,12,9,11,11,100",   # same date, other values: both copies quarantined
        "2020-01-07,10,11,9,10,10,100",
        "2020-01-01,10,11,9,10,10,100",   # goes back in time inside the file
    ]
    path = write(tmp_path / "DUP.csv", "\n".join([HEADER, *rows]) + "\n")
    accepted, quarantined, report = validate_prices(read_prices(path), PriceValidationConfig(max_quarantine_fraction=1.0),
                                                   raise_on_reject=False)
    assert accepted["Date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-03", "2020-01-07"]
    assert dict(zip(quarantined["row"], quarantined["reason"])) == {
        3: "exact duplicate of an earlier row",
        4: "duplicate date with different values",
        5: "duplicate date with different values",
        7: "date out of order in its file",
    }
    assert report["rows"] == 7 and report["accepted"] + report["quarantined"] == 7


def test_two_files_of_one_ticker_are_merged_by_date(tmp_path):
    older = write(tmp_path / "SBUX_2020.csv", f"Symbol,{HEADER}\nSBUX,2020-12-11,88,89,87,88,86,5000\n")
    both = pd.concat([read_prices(SBUX), read_prices(older)], ignore_index=True)  # newer file first
    accepted, quarantined, _ = validate_prices(both)
    assert quarantined.empty and len(accepted) == 253
    assert accepted["Date"].iloc[0] == pd.Timestamp("2020-12-11") and accepted["Date"].is_monotonic_increasing


def test_a_mostly_bad_batch_is_rejected(tmp_path):
    path = write(tmp_path / "MOSTLY_BAD.csv", "\n".join([HEADER, "2020-01-02,10,11,9,10,10,100",
                                                          *list(BAD_ROWS)[:3]]) + "\n")
    with pytest.raises(DataError, match="batch rejected") as err:
        validate_prices(read_prices(path))
    assert "3 of 4 rows quarantined" in str(err.value) and "MOSTLY_BAD.csv" in str(err.value)


# -- batch-level rules, the suite, Data Docs -------------------------------------------------------

def test_a_ticker_with_too_few_rows_rejects_the_batch_naming_ticker_and_file(tmp_path):
    short = write(tmp_path / "SHORT.csv", "\n".join([HEADER, *SBUX.read_text().splitlines()[1:6]]) + "\n")
    both = pd.concat([read_prices(SBUX), read_prices(short)], ignore_index=True)
    with pytest.raises(DataError, match=r"ticker SHORT \(SHORT.csv\) has 5 accepted rows, fewer than the minimum 30"):
        validate_prices(both)  # the default config's minimum
    _, _, report = validate_prices(both, PriceValidationConfig(min_rows_per_ticker=5))
    assert report["rejected"] is None


def test_a_file_written_newest_first_is_turned_around(tmp_path):
    lines = SBUX.read_text().splitlines()
    path = write(tmp_path / "SBUX.csv", "\n".join([lines[0], *lines[:0:-1]]) + "\n")
    accepted, quarantined, _ = validate_prices(read_prices(path))
    assert quarantined.empty and accepted["Date"].is_monotonic_increasing and len(accepted) == 252
    assert accepted["row"].iloc[0] == 252  # rows keep their line in the file


def test_report_names_the_versioned_suite_and_links_data_docs(tmp_path):
    _, _, report = validate_prices(read_prices(SBUX), docs_dir=tmp_path / "docs")
    assert report["suite"] == {"name": "prices", "version": "prices-v1"}
    assert report["data_docs"] == str(tmp_path / "docs" / "index.html")
    assert "prices-v1" in (tmp_path / "docs" / "index.html").read_text()


def test_a_byte_that_is_not_utf8_is_reported_with_its_row_and_column(tmp_path):
    path = write_bytes(tmp_path / "X.csv", f"{HEADER}\n2020-01-02,1,1,1,1,1,1\n2020-01-03,1,1,1,1\xa0,1,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"X.csv, row 2: not UTF-8 text: undecodable byte in column Close") as err:
        read_prices(path)
    assert err.value.row == 2
