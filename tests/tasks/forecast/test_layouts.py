"""Price files in the layouts teams have (layout_fixtures.py: real SBUX, KO and MCD rows), read
and validated as the forecast pipeline does: columns found by name, Adj Close from Close, extras
ignored, long tables, Parquet, rows in any order, and one clear line for what cannot be read."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layout_fixtures import READABLE, SBUX, TYPO_ROW, UNREADABLE, history_head

from tasks.forecast.config import ForecastConfig, PriceIngestConfig
from tasks.forecast.layouts import layout_note
from tasks.forecast.prices import list_price_files, read_prices
from tasks.forecast.validate import SORTED, TURNED, in_date_order, validate_prices
from tasks.shared.errors import DataError

FIXTURES = {fx.name: fx for fx in READABLE + UNREADABLE}
VALUES = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
YAHOO_COLUMNS = {c: c for c in ["Date", *VALUES]}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("layouts")
    return {fx.name: fx.build(folder) for fx in READABLE + UNREADABLE}


def read(name: str, built, **ingest) -> pd.DataFrame:
    return read_prices(built[name], PriceIngestConfig(**(ingest or FIXTURES[name].ingest)))


@pytest.fixture(scope="module")
def sbux_accepted() -> pd.DataFrame:
    return validate_prices(read_prices(SBUX))[0]


def same_days(accepted: pd.DataFrame, reference: pd.DataFrame, columns=VALUES) -> None:
    """The accepted rows are the reference's days with the same values."""
    got = accepted.sort_values("Date").reset_index(drop=True)
    want = reference.sort_values("Date").reset_index(drop=True)
    assert got["Date"].tolist() == want["Date"].tolist()
    np.testing.assert_array_equal(got[columns].to_numpy(), want[columns].to_numpy())


@pytest.mark.parametrize("fx", READABLE, ids=[fx.name for fx in READABLE])
def test_every_layout_reconciles_and_comes_out_in_date_order(fx, built):
    df = read(fx.name, built)
    accepted, quarantined, report = validate_prices(df, raise_on_reject=False)
    assert report["rows"] == len(df) == report["accepted"] + report["quarantined"]
    assert (len(accepted), len(quarantined)) == (report["accepted"], report["quarantined"])
    assert report["rejected"] is None
    for _, rows in accepted.groupby("ticker"):
        assert rows["Date"].is_monotonic_increasing
    assert set(report["layout"]) == {built[fx.name].name}  # one entry: the file


def test_stooq_txt_without_adj_close_uses_close_and_says_so(built, sbux_accepted):
    df = read("stooq", built)
    accepted, _, report = validate_prices(df)
    layout = report["layout"]["sbux.us.txt"]
    assert layout["columns"] == {c: c for c in ["Date", "Open", "High", "Low", "Close", "Volume"]}
    assert layout["adj_close_from_close"] is True and layout["ignored"] == ["OpenInt"]
    assert layout["order"] == "as written" and layout["resorted"] is False and layout["format"] == "csv"
    assert set(accepted["ticker"]) == {"SBUX.US"}  # the file's name: ticker.market
    assert (accepted["Adj Close"] == accepted["Close"]).all()
    same_days(accepted, sbux_accepted, ["Open", "High", "Low", "Close", "Volume"])
    assert "Adj Close from Close" in layout_note(layout) and "ignored OpenInt" in layout_note(layout)


def test_api_export_maps_snake_case_ignores_extras_and_is_turned_around(built, sbux_accepted):
    accepted, quarantined, report = validate_prices(read("api_export", built))
    layout = report["layout"]["SBUX.csv"]
    assert layout["columns"] == {"Date": "timestamp", "Open": "open", "High": "high", "Low": "low", "Close": "close",
                                 "Adj Close": "adjusted_close", "Volume": "volume"}
    assert layout["ignored"] == ["Unnamed: 0", "dividend_amount", "split_coefficient"]
    assert (layout["order"], layout["resorted"], layout["ticker"]) == (TURNED, True, "file name")
    assert quarantined.empty and accepted["row"].iloc[0] == 252  # oldest day: the file's last line
    same_days(accepted, sbux_accepted)


def test_long_parquet_table_names_tickers_from_its_symbol_column(built, sbux_accepted):
    df = read("long_parquet", built)
    assert df["ticker"].value_counts().to_dict() == {"SBUX": 252, "KO": 200, "MCD": 200}
    assert df.loc[df["ticker"] == "KO", "Date"].iloc[0] == "1962-01-02"  # timestamps -> ISO dates
    accepted, _, report = validate_prices(df)
    layout = report["layout"]["prices.parquet"]
    assert (layout["format"], layout["ticker"], layout["columns"], layout["ignored"]) == \
        ("parquet", "column symbol", YAHOO_COLUMNS, [])
    same_days(accepted[accepted["ticker"] == "SBUX"], sbux_accepted)
    ko = history_head("KO", 200)
    np.testing.assert_array_equal(accepted.loc[accepted["ticker"] == "KO", "Volume"], ko["Volume"].astype(float))


def test_long_csv_with_a_ticker_column_and_ticker_file_overrides_it(built):
    df = read("long_csv", built)
    assert df["ticker"].value_counts().to_dict() == {"SBUX": 252, "KO": 200}
    assert df.attrs["layouts"]["prices.csv"]["ticker"] == "column ticker"
    by_name = read("long_csv", built, ticker="file")
    assert set(by_name["ticker"]) == {"PRICES"} and by_name.attrs["layouts"]["prices.csv"]["ignored"] == ["ticker"]
    named = read("long_parquet", built, ticker="SYMBOL")  # a column named in any case
    assert named.attrs["layouts"]["prices.parquet"]["ticker"] == "column symbol"


def test_gzip_and_date_indexed_parquet_read_as_yahoo(built, sbux_accepted):
    for name, fmt in (("gzip", "gzip csv"), ("yfinance_parquet", "parquet")):
        accepted, _, report = validate_prices(read(name, built))
        layout = next(iter(report["layout"].values()))
        assert (layout["format"], layout["columns"], layout_note(layout)) == (fmt, YAHOO_COLUMNS, "")
        same_days(accepted, sbux_accepted)


def test_ingest_columns_maps_names_it_does_not_take_unasked(built, sbux_accepted):
    with pytest.raises(DataError) as err:
        read_prices(built["mapped"])
    assert str(err.value) == (f"{built['mapped']}: missing columns: Date (found: Datetime, o, h, l, c, vol); "
                              "map them with ingest.columns, e.g. {Date: Datetime}")
    accepted, _, report = validate_prices(read("mapped", built))
    assert report["layout"]["SBUX.csv"]["columns"] == {"Date": "Datetime", "Open": "o", "High": "h", "Low": "l",
                                                       "Close": "c", "Volume": "vol"}
    same_days(accepted, sbux_accepted, ["Open", "High", "Low", "Close", "Volume"])


def test_a_shuffled_file_is_sorted_and_loses_nothing(built, sbux_accepted):
    accepted, quarantined, report = validate_prices(read("shuffled", built))
    assert quarantined.empty and report["layout"]["SBUX.csv"]["order"] == SORTED
    same_days(accepted, sbux_accepted)
    assert sorted(accepted["row"]) == list(range(1, 253))  # rows keep their line in the file


def test_a_newest_first_file_with_one_year_typo_is_turned_around_and_the_typo_quarantined(built, sbux_accepted):
    accepted, quarantined, report = validate_prices(read("newest_first_typo", built))
    assert report["layout"]["SBUX.csv"]["order"] == TURNED
    assert dict(zip(quarantined["row"], quarantined["reason"])) == {TYPO_ROW: "date out of order in its file"}
    assert quarantined["date_text"].item().startswith("2012-")
    assert len(accepted) == 251 and accepted["Date"].is_monotonic_increasing
    same_days(accepted, sbux_accepted[sbux_accepted["row"] != 253 - TYPO_ROW])


def test_a_few_steps_against_the_order_keep_it_more_sort_the_file():
    """max(1, 1 %) of the steps may go against the file's direction: 300 rows, 299 steps -> 2."""
    dates = pd.Series(pd.bdate_range("2020-01-01", periods=300))

    def order_of(swaps: list[int]) -> tuple[str, int]:
        d = dates.copy()
        for i in swaps:  # two neighbours swapped: one step against the order
            d.iloc[i], d.iloc[i + 1] = d.iloc[i + 1], d.iloc[i]
        frame = pd.DataFrame({"ticker": "T", "source_file": "T.csv", "Date": d})
        out, order = in_date_order(frame)
        return order["T.csv"], int((out["Date"].diff().dt.days < 0).sum())

    assert order_of([10, 100]) == ("as written", 2)  # kept: both swapped rows go back, and are quarantined
    assert order_of([10, 100, 200]) == (SORTED, 0)


@pytest.mark.parametrize("name, rule, parts", [
    ("mapped_without_config", "missing columns", ["Date (found: Datetime, o, h, l, c, vol)", "{Date: Datetime}"]),
    ("unknown_names", "missing columns", ["Date, Open, High, Low, Close, Volume (found: when, first, max, min, last, "
                                          "traded); map them with ingest.columns, e.g. {Date: <column>, Open: <column>"]),
    ("two_dates", "ambiguous columns", ["Date could be timestamp or day (found: timestamp, day, open",
                                        "pick one with ingest.columns, e.g. {Date: timestamp}"]),
    ("mapping_off", "ingest.columns does not fit", ["Volume: 'shares' is not a column of the file (found: Date, "]),
    ("ticker_off", "ticker column not found", ["ingest.ticker is 'Symbol' (found: Date, Open"]),
    ("not_parquet", "not a Parquet file", ["the name ends in .parquet but the bytes are not Parquet"]),
])
def test_what_cannot_be_read_is_one_line_naming_file_columns_and_mapping(built, name, rule, parts):
    with pytest.raises(DataError) as err:
        read(name, built)
    message = str(err.value)
    assert err.value.rule == rule and "\n" not in message and message.startswith(f"{built[name]}: {rule}: ")
    for part in parts:
        assert part in message, message


def test_a_folder_lists_txt_parquet_and_gzip_files(built, tmp_path):
    for name in ("stooq", "yfinance_parquet", "long_parquet"):
        (tmp_path / built[name].name).write_bytes(built[name].read_bytes())
    (tmp_path / "KO.txt.gz").write_bytes(built["gzip"].read_bytes())
    (tmp_path / "README.md").write_text("not prices")
    assert [p.name for p in list_price_files(tmp_path)] == ["KO.txt.gz", "SBUX.parquet", "prices.parquet",
                                                            "sbux.us.txt"]
    df = read_prices(tmp_path)
    assert df["ticker"].value_counts().to_dict() == {"SBUX": 504, "SBUX.US": 252, "KO": 452, "MCD": 200}
    assert sorted(df.attrs["layouts"]) == ["KO.txt.gz", "SBUX.parquet", "prices.parquet", "sbux.us.txt"]


def test_ingest_config_takes_our_names_in_any_spelling():
    cfg = ForecastConfig.model_validate({"ingest": {"columns": {"date": "Datetime", "adj_close": "adjclose_usd"}}})
    assert cfg.ingest.columns == {"Date": "Datetime", "Adj Close": "adjclose_usd"} and cfg.ingest.ticker == "auto"
    with pytest.raises(ValueError, match="not our column"):
        PriceIngestConfig(columns={"Turnover": "t"})


def test_a_url_download_keeps_parquet_readable_by_name_or_by_bytes(built, tmp_path):
    import fsspec

    from tasks.shared.fetch import download

    with fsspec.open("memory://layouts/prices.parquet", "wb") as out:
        out.write(built["long_parquet"].read_bytes())
    with fsspec.open("memory://layouts/export", "wb") as out:  # an API URL without a file suffix
        out.write(built["long_parquet"].read_bytes())
    for url in ("memory://layouts/prices.parquet", "memory://layouts/export"):
        local = download(url, tmp_path)
        df = read_prices(local)
        assert len(df) == 652 and df.attrs["layouts"][local.name]["format"] == "parquet"


def test_the_layout_travels_from_ingest_to_the_validation_report_and_the_combined_one(built, tmp_path):
    from tasks.forecast.ingest import ingest_prices_task
    from tasks.forecast.prices import prices_sha256
    from tasks.forecast.validate import combine_validations, validate_prices_task

    cfg = ForecastConfig()
    parts = []
    for name in ("api_export", "stooq"):
        source = str(built[name])
        ingest = ingest_prices_task.fn(source=source, source_sha256=prices_sha256(source), ingest=cfg.ingest,
                                       output=str(tmp_path))
        assert ingest.layout[Path(source).name]["columns"]["Date"] == ("timestamp" if name == "api_export" else "Date")
        parts.append(validate_prices_task.fn(prices=ingest.prices, source=source, validation=cfg.validation,
                                             output=str(tmp_path)))
    assert parts[0].report["layout"]["SBUX.csv"]["ignored"] == ["Unnamed: 0", "dividend_amount", "split_coefficient"]
    assert parts[0].report["layout"]["SBUX.csv"]["order"] == TURNED
    (tmp_path / "combined").mkdir()
    combined = combine_validations(parts, "both", tmp_path / "combined")
    assert set(combined["layout"]) == {"SBUX.csv", "sbux.us.txt"}
    assert combined["layout"]["sbux.us.txt"]["adj_close_from_close"] is True
    assert json.loads((tmp_path / "combined" / "validation.json").read_text())["layout"] == combined["layout"]


def test_the_ingest_mapping_is_part_of_the_ingest_stage_key(built, tmp_path):
    from tasks.forecast.ingest import ingest_prices_task
    from tasks.forecast.prices import prices_sha256

    source = str(built["mapped"])
    runs = [ingest_prices_task.fn(source=source, source_sha256=prices_sha256(source),
                                  ingest=PriceIngestConfig(columns=columns), output=str(tmp_path))
            for columns in ({"Date": "Datetime"}, {"Date": "Datetime", "Volume": "vol"})]
    assert runs[0].prices != runs[1].prices and runs[0].rows == runs[1].rows == 252


def test_predict_groups_a_long_table_by_its_ticker_column(built, tmp_path):
    from tasks.forecast.predict import bundle_ingest, files_by_ticker

    for name in ("long_parquet", "stooq"):
        (tmp_path / built[name].name).write_bytes(built[name].read_bytes())
    groups = files_by_ticker(str(tmp_path))
    assert sorted(groups) == ["KO", "MCD", "SBUX", "SBUX.US"]
    assert [len(rows) for _, rows in groups["KO"]] == [200] and groups["SBUX.US"][0][1] is None  # read in its turn
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps({"kind": "forecast", "pipeline": {"ingest": {"ticker": "file"}}}))
    assert bundle_ingest(bundle) == PriceIngestConfig(ticker="file")
    assert sorted(files_by_ticker(str(tmp_path), bundle_ingest(bundle))) == ["PRICES", "SBUX.US"]
    (bundle / "config.json").write_text(json.dumps({"kind": "forecast", "pipeline": {}}))  # an older bundle
    assert bundle_ingest(bundle) == PriceIngestConfig()


def test_a_cut_or_empty_parquet_is_a_data_error(built, tmp_path):
    whole = built["long_parquet"].read_bytes()
    (tmp_path / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    pd.read_parquet(built["long_parquet"]).iloc[:0].to_parquet(tmp_path / "empty.parquet", index=False)
    for name, rule in (("cut.parquet", "corrupt Parquet"), ("empty.parquet", "no data rows")):
        with pytest.raises(DataError) as err:
            read_prices(tmp_path / name)
        assert err.value.rule == rule and err.value.file == str(tmp_path / name)
