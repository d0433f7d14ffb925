"""Drift statistics: thresholds, histogram summaries, PSI and KS on reference-decile bins, and
the check/report records both profiles build on (the package docstring says how they are read)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime

import numpy as np
from scipy import special, stats

PROFILE_FORMAT = 1
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PSI_BINS = 10          # reference-decile bins for the PSI
PSI_FLOOR = 1e-4       # a bin share of 0 is read as this (PSI takes a log of each share)

# Fine grids: (step, lowest, highest). Values outside are clipped into the end bins (the PSI's
# end bins are open-ended anyway). Steps are a small fraction of a decile's width on real data:
# token lengths on a log1p scale (0.05 is about 5 % of a length), daily log returns in steps of
# 0.001 (deciles of a calm stock are about 0.004 apart), log1p(volume) in steps of 0.05.
GRIDS = {
    "log1p_tokens": (0.05, 0.0, 12.0),
    "log_return": (0.001, -0.3, 0.3),
    "log1p_volume": (0.05, 0.0, 30.0),
}


@dataclass(frozen=True)
class DriftThresholds:
    """When a check is flagged. Why these defaults:

    psi: 0.2. The credit-scoring rule of thumb reads PSI < 0.1 as stable, 0.1-0.25 as a moderate
        shift and > 0.25 as a major one. Retraining here is cheap, so flag in the upper part of
        "moderate" rather than wait for "major". First vs second half of the bundled reviews
        gives under 0.01 on token lengths; keeping only short reviews gives well above 1. On log
        volume 0.2 is about a 15-20 % change of one ticker's typical volume: SBUX passes it in 4
        of the 10 year-on-year pairs 2010/11 .. 2019/20 (real level shifts, which a model whose
        scalers were fitted on the old level does feel).
    oov_increase: 0.05, absolute (current OOV rate minus the reference's, both against the
        champion's vocabulary). Held-out reviews have about 6.5-9 % unknown tokens against a
        vocabulary built from the rest (min count 2); 5 more in every 100 tokens becoming _UNK
        nearly doubles what the embedding cannot see. Only an increase is flagged. The
        reference must be measured on rows that did not build the vocabulary (`oov_rows`):
        the training rows themselves read about 3 points lower, most of this threshold.
    label_share_change: 0.10, absolute change of the share of label 1. 50/50 becoming 60/40
        moves the class prior enough to shift a 0.5-threshold classifier's precision and
        recall; halves of the bundled reviews differ by about 0.01.
    volatility_ratio: (0.5, 2.0), the current over the reference standard deviation of daily
        log returns. The forecast model's inputs are standardised with the training rows'
        scale; halving or doubling the volatility is a regime change (SBUX's 2019 -> 2020 was
        about 2.4x), while its other year-on-year ratios 2010/11 .. 2018/19 stay within 0.67-1.35.
    alpha: 0.01, the p-value a check must also be under (see the module docstring).
    """

    psi: float = 0.2
    oov_increase: float = 0.05
    label_share_change: float = 0.10
    volatility_ratio: tuple[float, float] = (0.5, 2.0)
    alpha: float = 0.01

    def to_dict(self) -> dict:
        d = asdict(self)
        d["volatility_ratio"] = list(self.volatility_ratio)
        return d


DEFAULT_THRESHOLDS = DriftThresholds()


def drift_thresholds(thresholds: DriftThresholds | dict | None = None) -> DriftThresholds:
    """The defaults, overridden by whatever `thresholds` names (a dict may name only some)."""
    if thresholds is None:
        return DEFAULT_THRESHOLDS
    if isinstance(thresholds, DriftThresholds):
        return thresholds
    known = {f.name for f in fields(DriftThresholds)}
    unknown = set(thresholds) - known
    if unknown:
        raise ValueError(f"unknown drift thresholds: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    t = dict(thresholds)
    if "volatility_ratio" in t:
        lo, hi = t["volatility_ratio"]
        t["volatility_ratio"] = (float(lo), float(hi))
    return replace(DEFAULT_THRESHOLDS, **t)


# -- histograms and statistics ----------------------------------------------------------------

def _num(x, digits: int = 6):
    """A JSON-safe float (None for NaN/inf), rounded to `digits` significant digits."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _summary(values: np.ndarray, grid: str) -> dict:
    """n, mean, std, quantiles and the fine histogram of one quantity."""
    step, lo, hi = GRIDS[grid]
    values = np.asarray(values, dtype=np.float64)
    idx = np.floor((np.clip(values, lo, hi) - lo) / step + 1e-9).astype(np.int64)
    first = int(idx.min())
    counts = np.bincount(idx - first)
    return {
        "n": int(len(values)),
        "mean": _num(values.mean()),
        "std": _num(values.std(ddof=1)) if len(values) > 1 else None,
        "quantiles": {f"p{round(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))},
        "hist": {"grid": grid, "step": step, "lo": lo, "first": first, "counts": counts.tolist()},
    }


def _aligned(ref: dict, cur: dict) -> tuple[np.ndarray, np.ndarray]:
    """The two fine histograms on one index range."""
    a, b = ref["hist"], cur["hist"]
    if (a["grid"], a["step"], a["lo"]) != (b["grid"], b["step"], b["lo"]):
        raise ValueError(f"profiles use different histogram grids ({a['grid']} step {a['step']} vs "
                         f"{b['grid']} step {b['step']}): recompute the older profile")
    start = min(a["first"], b["first"])
    end = max(a["first"] + len(a["counts"]), b["first"] + len(b["counts"]))
    r, c = np.zeros(end - start), np.zeros(end - start)
    r[a["first"] - start: a["first"] - start + len(a["counts"])] = a["counts"]
    c[b["first"] - start: b["first"] - start + len(b["counts"])] = b["counts"]
    return r, c


def psi_bins(ref_counts: np.ndarray, cur_counts: np.ndarray, n_bins: int = PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Fine counts merged into about n_bins bins of equal reference mass (fewer where the
    reference has ties); the end bins are open, so current mass outside the reference's range
    lands in them."""
    cum = np.cumsum(ref_counts) / ref_counts.sum()
    cuts = np.searchsorted(cum, np.arange(1, n_bins) / n_bins - 1e-12) + 1  # cut after the bin reaching k/n
    cuts = cuts[cum[cuts - 1] < 1 - 1e-12]  # no end bin without reference mass (a tie at the maximum)
    bounds = np.unique(np.concatenate([[0], cuts, [len(ref_counts)]]))
    bounds = bounds[bounds <= len(ref_counts)]
    starts = bounds[:-1]
    return np.add.reduceat(ref_counts, starts), np.add.reduceat(cur_counts, starts)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index of two binned samples: sum (c - r) * ln(c / r) over bin shares."""
    r = np.maximum(ref_counts / ref_counts.sum(), PSI_FLOOR)
    c = np.maximum(cur_counts / cur_counts.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_binned(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic on binned samples (a lower bound of the exact
    one, so the p-value is conservative) and its asymptotic p-value."""
    n, m = ref_counts.sum(), cur_counts.sum()
    d = float(np.max(np.abs(np.cumsum(ref_counts) / n - np.cumsum(cur_counts) / m)))
    en = math.sqrt(n * m / (n + m))
    return d, float(special.kolmogorov((en + 0.12 + 0.11 / en) * d))


def _check(name: str, description: str, stat: str, reference, current, value, threshold, flagged: bool,
           p_value=None, **extra) -> dict:
    return {"check": name, "description": description, "stat": stat, "reference": _num(reference),
            "current": _num(current), "value": _num(value), "threshold": threshold, "flagged": bool(flagged),
            "p_value": _num(p_value, 3), **extra}


def _distribution_check(name: str, description: str, stat: str, ref: dict, cur: dict, t: DriftThresholds,
                        to_stat: Callable[[dict], float]) -> dict:
    r, c = _aligned(ref, cur)
    rb, cb = psi_bins(r, c)
    value = psi(rb, cb)
    ks, p = ks_binned(r, c)
    return _check(name, description, stat, to_stat(ref), to_stat(cur), value, t.psi,
                  value > t.psi and p < t.alpha, p, ks=_num(ks), bins=int(len(rb)))


def _report(kind: str, checks: list[dict], ref: dict, cur: dict, t: DriftThresholds, warnings: list[str]) -> dict:
    flagged = [c["check"] for c in checks if c["flagged"]]
    return {
        "kind": kind, "flagged": bool(flagged), "flagged_checks": flagged,
        "checks": {c["check"]: c for c in checks},
        "reference_rows": ref["rows"], "current_rows": cur["rows"],
        "reference_created": ref.get("created"), "current_created": cur.get("created"),
        "thresholds": t.to_dict(), "warnings": warnings,
    }


def _expect(profile: dict, kind: str, role: str) -> None:
    if not isinstance(profile, dict) or profile.get("kind") != kind:
        got = profile.get("kind") if isinstance(profile, dict) else type(profile).__name__
        raise ValueError(f"{role} is not a {kind} profile (kind {got!r})")
    if profile.get("format") != PROFILE_FORMAT:
        raise ValueError(f"{role} profile has format {profile.get('format')!r}, this code reads {PROFILE_FORMAT}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- text ---------------------------------------------------------------------------------------


def _two_proportions(x1: int, n1: int, x2: int, n2: int, one_sided: bool = False) -> float:
    """p-value of a two-proportion z-test (one-sided: the second proportion is larger)."""
    if not n1 or not n2:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if x1 / n1 == x2 / n2 else 0.0
    z = (x2 / n2 - x1 / n1) / se
    return float(stats.norm.sf(z) if one_sided else 2 * stats.norm.sf(abs(z)))


# -- series -------------------------------------------------------------------------------------
