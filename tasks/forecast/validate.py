"""Validate daily prices with the GX suite `prices-v1`, file by file, then combine the files.

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
  Close. `validation.open_fill: close` fills with the same-day Close instead.
- Zero-volume days (WMT has 53) are real trading days with no recorded trade: accepted, counted
  as `zero_volume`.
- A row whose other prices are missing (AAPL 1981-08-10 is all `null`) is quarantined.
- The few rows where High < Low, or Open/Close lie outside High..Low (16 in the 40 histories,
  mostly 1960s rows of CVX, PG, XOM) are quarantined: at least one of their prices is wrong
  and we cannot tell which.
- Dates must increase within each file (each ticker of a long table on its own). A file in
  order except for a few rows (at most max(1, 1 %) of its steps from one row to the next go
  against its direction) keeps its order: written newest first (some exports are), it is
  turned around, not rejected, and a row whose date goes back is quarantined (a typo in its
  year, most often). A file with no order (more steps against) is sorted by date: a row out of
  place cannot be told there. The report's `layout` says which, file by file.
- Rows of one ticker from several files are merged by date; an exact repeat of an earlier row
  (overlapping downloads) is quarantined as a duplicate and the first copy kept, while copies
  of one date with different values are all quarantined (we cannot tell which copy is right).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.shared.caching import cached_task, staging
from tasks.shared.errors import DataError
from tasks.shared.gx import Rule, build_data_docs, merge_tables, run_suite, split_quarantine
from tasks.shared.results import Validation

from .config import PriceValidationConfig
from .prices import PRICES, VALUES, fill_missing_open

# The price expectation suite. Bump the version when a rule is added, dropped or changes
# meaning: reports and Data Docs name it, so results of different rule sets are told apart.
SUITE_NAME = "prices"
SUITE_VERSION = "prices-v1"


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


AS_WRITTEN, TURNED, SORTED = "as written", "turned around (newest first)", "sorted by date (no order)"


def in_date_order(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows of each (ticker, file) oldest first, and how each file's rows were put so
    ({file name: AS_WRITTEN, TURNED or SORTED}, the strongest of its tickers'). A file that is in
    order but for a few steps against it (max(1, 1 %)) keeps its order, so a date that goes back
    stays visible; one written newest first is turned around; one without order is sorted."""
    parts, order, changed = [], {}, False
    for (_, source), rows in frame.groupby(["ticker", "source_file"], sort=False, dropna=False):
        steps = rows["Date"].dropna().diff().dropna()
        up, down = int((steps > pd.Timedelta(0)).sum()), int((steps < pd.Timedelta(0)).sum())
        how = AS_WRITTEN
        if min(up, down) > max(1, len(steps) // 100):
            rows, how = rows.sort_values("Date", kind="stable"), SORTED
        elif down > up:
            rows, how = rows.iloc[::-1], TURNED
        changed = changed or how != AS_WRITTEN
        parts.append(rows)
        name = Path(str(source)).name
        order[name] = max(order.get(name, AS_WRITTEN), how, key=(AS_WRITTEN, TURNED, SORTED).index)
    return (pd.concat(parts).reset_index(drop=True) if changed else frame), order


def file_layouts(layouts: dict, order: dict[str, str]) -> dict:
    """The report's `layout`: each file's columns as read (ours -> theirs, ignored extras,
    whether Adj Close came from Close; empty for a frame read elsewhere) and how its rows were put."""
    return {name: {**layouts.get(name, {}), "order": how, "resorted": how != AS_WRITTEN}
            for name, how in sorted(order.items())}


def validate_prices(df: pd.DataFrame, cfg: PriceValidationConfig | None = None, *, raise_on_reject: bool = True,
                    docs_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(accepted, quarantined, report) for the frame `read_prices` returns.

    accepted: sorted by ticker then date, `Date` parsed to datetime64, Open filled per
    `cfg.open_fill` with `open_filled` marking the filled rows. quarantined: the rejected rows
    with `reason` (GX rules and parse errors, joined by "; ") and the original `date_text`.
    report: counts (`rows`, `accepted`, `quarantined`, `open_missing`, `zero_volume`, reasons,
    per ticker), `layout` (each file's columns as read, `df.attrs["layouts"]`, and its order:
    in_date_order) and `validation` (one row per expectation, for the UI).
    Raises DataError when more than `cfg.max_quarantine_fraction` of the rows are quarantined or
    a ticker keeps fewer than `cfg.min_rows_per_ticker` rows (or, with raise_on_reject=False,
    says why in `report["rejected"]`, None for a usable batch). With docs_dir, GX Data Docs of
    the validation are written there (`report["data_docs"]`: their index.html).
    """
    cfg = cfg or PriceValidationConfig()
    layouts = df.attrs.get("layouts", {})  # how read_prices read each file
    frame = df.reset_index(drop=True).copy()
    frame.attrs = {}  # not carried into the accepted rows (pandas copies attrs at every step)
    # the parsed date replaces the text (kept as date_text): GX matches column names without
    # regard to case, so "Date" and "date" side by side would be read as one column
    frame["date_text"] = frame["Date"]
    frame["Date"] = pd.to_datetime(frame["Date"], format="ISO8601", errors="coerce")
    # Open = 0 means "not recorded": a missing value, not a price (see the module docstring).
    frame.loc[frame["Open"] == 0, "Open"] = np.nan
    frame, order = in_date_order(frame)

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
    report["layout"] = file_layouts(layouts, order)
    if docs_dir is not None:
        report["data_docs"] = str(build_data_docs(outcome, docs_dir, "+".join(sorted(report["per_ticker"]))))
    report["rejected"] = batch_problem(df, quarantined, report, cfg)
    if report["rejected"] and raise_on_reject:
        sources = sorted(df["source_file"].unique()) if "source_file" in df else ["<input>"]
        raise DataError(sources[0] if len(sources) == 1 else f"{sources[0]} (+{len(sources) - 1} files)",
                        "batch rejected", report["rejected"])
    return accepted, quarantined, report


def batch_problem(df: pd.DataFrame, quarantined: pd.DataFrame, report: dict, cfg: PriceValidationConfig) -> str | None:
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


@cached_task(name="validate-prices", stage="validate", ignore=('source',))
def validate_prices_task(prices: str, source: str, validation: PriceValidationConfig, out_dir: str) -> Validation:
    """Accepted rows, quarantined rows with reasons, and a report in the same shape as the
    sentiment one (rows read/accepted/quarantined, GX table as `expectations`, `rejected`)."""
    df = pd.read_parquet(prices)
    out = Path(out_dir)
    with staging(out_dir) as tmp:
        accepted, quarantined, stock_report = validate_prices(df, validation, raise_on_reject=False,
                                                              docs_dir=tmp / "data_docs")
        report = {
            "source": str(source),
            "suite": stock_report["suite"],
            "rows": {"read": stock_report["rows"], "accepted": stock_report["accepted"],
                     "quarantined": stock_report["quarantined"]},
            "expectations": stock_report.pop("validation"),
            "rejected": stock_report.pop("rejected"),
            "data_docs": str(out / "data_docs" / "index.html"),  # where staging moves it
            **{k: stock_report[k] for k in ("open_missing", "zero_volume", "tickers", "reasons", "per_ticker", "layout")},
        }
        accepted.to_parquet(tmp / "valid.parquet", index=False)
        quarantined.to_parquet(tmp / "quarantine.parquet", index=False)
        (tmp / "validation.json").write_text(json.dumps(report, indent=2, default=str))
    return Validation.of(report, out)


def combine_validations(parts: list[Validation], source: str, out_dir: Path) -> dict:
    """The per-file validation results as one batch: valid/quarantine Parquet concatenated,
    counts summed (read = accepted + quarantined still holds), any file's batch-level
    rejection kept."""
    valid = pd.concat([pd.read_parquet(p.valid) for p in parts], ignore_index=True)
    quarantine = pd.concat([pd.read_parquet(p.quarantine) for p in parts], ignore_index=True)
    reports = [p.report for p in parts]
    rows = {k: sum(r["rows"][k] for r in reports) for k in ("read", "accepted", "quarantined")}
    assert rows["read"] == rows["accepted"] + rows["quarantined"], rows
    reasons: dict[str, int] = {}
    for r in reports:
        for why, n in r.get("reasons", {}).items():
            reasons[why] = reasons.get(why, 0) + n
    report = {
        "source": str(source), "suite": reports[0].get("suite"), "rows": rows, "files": len(reports),
        # each file's examples count as one, so the table shows those of the first files that failed
        "expectations": merge_tables([r["expectations"] for r in reports],
                                     [[[row["examples"]] if row["examples"] else [] for row in r["expectations"]]
                                      for r in reports])[0],
        "rejected": "; ".join(r["rejected"] for r in reports if r.get("rejected")) or None,
        "open_missing": sum(r.get("open_missing", 0) for r in reports),
        "zero_volume": sum(r.get("zero_volume", 0) for r in reports),
        "per_ticker": {t: v for r in reports for t, v in r.get("per_ticker", {}).items()},
        "reasons": reasons, "data_docs_per_file": [r["data_docs"] for r in reports if r.get("data_docs")],
        "layout": {name: layout for r in reports for name, layout in r.get("layout", {}).items()},
    }
    report["tickers"] = len(report["per_ticker"])
    valid.to_parquet(out_dir / "valid.parquet", index=False)
    quarantine.to_parquet(out_dir / "quarantine.parquet", index=False)
    (out_dir / "validation.json").write_text(json.dumps(report, indent=2, default=str))
    return report


@cached_task(name="combine-validated", stage="combine", ignore=('source',))
def combine_validations_task(reports: list[Validation], source: str, out_dir: str) -> Validation:
    with staging(out_dir) as tmp:
        report = combine_validations(reports, source, tmp)
    return Validation.of(report, out_dir)
