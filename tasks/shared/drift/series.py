"""The price-series profile (log volume, returns, gaps) and the series drift report."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .statistics import (
    PROFILE_FORMAT,
    DriftThresholds,
    _check,
    _distribution_check,
    _expect,
    _now,
    _num,
    _report,
    _summary,
    drift_thresholds,
)


def _column(df: pd.DataFrame, *names: str) -> str | None:
    by_lower = {str(c).lower(): c for c in df.columns}
    return next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)


def series_profile(prices: pd.DataFrame, *, price_column: str = "Close", volume_column: str = "Volume") -> dict:
    """A JSON-serialisable summary of daily prices: the distribution of daily log returns of
    Close and of log1p(Volume) pooled over tickers, with a line per ticker.

    prices: the Yahoo layout as tasks/forecast/prices.py reads it (`ticker`, `Date`, `Close`, `Volume`;
    names matched without regard to case; no ticker column means one series). Returns are taken
    within each ticker in date order; non-positive prices and negative volumes are left out
    (validated data has none). Zero-volume days count (log1p(0) = 0).
    """
    close_col, vol_col = _column(prices, price_column), _column(prices, volume_column)
    missing = [n for n, c in ((price_column, close_col), (volume_column, vol_col)) if c is None]
    if missing:
        raise ValueError(f"prices lack column(s) {', '.join(missing)} (found: {', '.join(map(str, prices.columns))})")
    tick_col, date_col = _column(prices, "ticker", "symbol"), _column(prices, "date")
    frame = pd.DataFrame({
        "ticker": prices[tick_col].astype(str).to_numpy() if tick_col else "",
        "date": pd.to_datetime(prices[date_col], errors="coerce").to_numpy() if date_col else pd.NaT,
        "close": pd.to_numeric(prices[close_col], errors="coerce").to_numpy(np.float64),
        "volume": pd.to_numeric(prices[vol_col], errors="coerce").to_numpy(np.float64),
    })
    frame["order"] = np.arange(len(frame))
    frame = frame.sort_values(["ticker", "date", "order"] if date_col else ["ticker", "order"], kind="stable")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_close = np.where(frame["close"] > 0, np.log(frame["close"]), np.nan)
    frame["ret"] = pd.Series(log_close, index=frame.index).groupby(frame["ticker"], sort=False).diff()
    frame["logvol"] = np.where(frame["volume"] >= 0, np.log1p(frame["volume"].clip(lower=0)), np.nan)

    returns = frame["ret"].to_numpy()
    returns = returns[np.isfinite(returns)]
    logvol = frame["logvol"].to_numpy()
    logvol = logvol[np.isfinite(logvol)]
    if len(returns) < 2 or len(logvol) < 2:
        raise ValueError(f"too few rows to profile: {len(returns)} daily returns, {len(logvol)} volumes")

    per_ticker = {}
    for ticker, rows in frame.groupby("ticker", sort=True):
        r = rows["ret"].to_numpy()
        r = r[np.isfinite(r)]
        v = rows["logvol"].to_numpy()
        v = v[np.isfinite(v)]
        dates = rows["date"].dropna()
        per_ticker[ticker or "-"] = {
            "rows": int(len(rows)),
            "first_date": dates.min().date().isoformat() if len(dates) else None,
            "last_date": dates.max().date().isoformat() if len(dates) else None,
            "return_std": _num(r.std(ddof=1)) if len(r) > 1 else None,
            "log_volume_mean": _num(v.mean()) if len(v) else None,
        }
    return {"kind": "series", "format": PROFILE_FORMAT, "created": _now(), "rows": int(len(frame)),
            "price_column": str(close_col), "volume_column": str(vol_col), "tickers": per_ticker,
            "returns": _summary(returns, "log_return"), "log_volume": _summary(logvol, "log1p_volume")}


def series_drift(reference: dict, current: dict, thresholds: DriftThresholds | dict | None = None) -> dict:
    """Checks of `current` against `reference` (both from `series_profile`): distribution of
    daily log returns (PSI), of log volume (PSI), and the volatility ratio (current / reference
    standard deviation of daily log returns). `flagged` if any check is."""
    _expect(reference, "series", "reference")
    _expect(current, "series", "current")
    t = drift_thresholds(thresholds)
    iqr = lambda s: s["quantiles"]["p75"] - s["quantiles"]["p25"]  # noqa: E731
    checks = [
        _distribution_check("returns_psi", "Daily log returns: PSI", "IQR of daily log returns",
                            reference["returns"], current["returns"], t, iqr),
        _distribution_check("log_volume_psi", "Log volume: PSI", "median volume",
                            reference["log_volume"], current["log_volume"], t,
                            lambda s: math.expm1(s["quantiles"]["p50"])),
    ]
    rs, cs = reference["returns"], current["returns"]
    lo, hi = t.volatility_ratio
    if rs["std"] and cs["std"] is not None:
        ratio = cs["std"] / rs["std"]
        f = ratio ** 2  # F-test of equal variances, two-sided
        p = 2 * min(stats.f.sf(f, cs["n"] - 1, rs["n"] - 1), stats.f.cdf(f, cs["n"] - 1, rs["n"] - 1))
        checks.append(_check("volatility_ratio", "Volatility: ratio current / reference", "std of daily log returns",
                             rs["std"], cs["std"], ratio, [lo, hi], (ratio < lo or ratio > hi) and p < t.alpha,
                             min(1.0, float(p))))
    warnings = []
    new = sorted(set(current["tickers"]) - set(reference["tickers"]))
    if new and "-" not in reference["tickers"] and "-" not in current["tickers"]:
        warnings.append(f"tickers not in the reference data: {', '.join(new[:20])}" + (" ..." if len(new) > 20 else ""))
    report = _report("series", checks, reference, current, t, warnings)
    report["tickers"] = {"reference": sorted(reference["tickers"]), "current": sorted(current["tickers"]), "new": new}
    return report


# -- markdown -------------------------------------------------------------------------------------
