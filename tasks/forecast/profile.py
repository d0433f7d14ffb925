"""Profile the prices (stored in each bundle as profile.json) and compare the rows newer than the
champion's data with its training data: the drift report of every run."""
from __future__ import annotations

import pandas as pd

from tasks.shared.caching import cached_task, write_stage_json
from tasks.shared.drift import champion_profile, series_drift, series_profile


@cached_task(name="profile-data", stage="profile")
def profile_prices_task(valid: str, out_dir: str) -> str:
    return write_stage_json(out_dir, "profile.json", series_profile(pd.read_parquet(valid)))


MIN_NEW_ROWS = 20  # fewer new days than this say nothing about a distribution


def rows_after(prices: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """The rows newer than the champion's data: each known ticker's rows after its last date in
    the champion's profile, and every row of a ticker the champion has not seen. Comparing the
    whole history instead would let years of shared rows dilute a recent change."""
    last = {t: pd.Timestamp(v["last_date"]) for t, v in reference.get("tickers", {}).items() if v.get("last_date")}
    cutoff = prices["ticker"].astype(str).map(last)
    return prices[cutoff.isna() | (pd.to_datetime(prices["Date"]) > cutoff)]


def prices_drift(prices: pd.DataFrame, champion_bundle: str | None) -> dict:
    """The rows newer than the champion's data against its training data."""
    reference, why = champion_profile(champion_bundle)
    if reference is None:
        return {"kind": "series", "flagged": False, "skipped": why}
    new = rows_after(prices, reference)
    report = (series_drift(reference, series_profile(new)) if len(new) >= MIN_NEW_ROWS else
              {"kind": "series", "flagged": False,
               "skipped": f"{len(new)} rows newer than the champion's data (fewer than {MIN_NEW_ROWS})"})
    report["current_rows_selected"] = int(len(new))
    return report


def file_drift(path: str, champion_bundle: str | None) -> dict:
    """A price file, folder or glob (read as ingestion reads it) against the champion's data."""
    from .prices import read_prices

    prices = read_prices(path)
    prices = prices[(prices["parse_errors"] == "") & pd.to_datetime(prices["Date"], errors="coerce").notna()]
    return prices_drift(prices, champion_bundle)  # rows a validation would reject for their cells are left out


@cached_task(name="drift-report", stage="drift")
def price_drift_task(valid: str, champion_bundle: str | None, out_dir: str) -> dict:
    report = prices_drift(pd.read_parquet(valid), champion_bundle)
    write_stage_json(out_dir, "drift.json", report)
    return report
