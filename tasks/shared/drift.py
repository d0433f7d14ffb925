"""Data drift: how far new data has moved from the data the champion model was trained on.

Plain functions, no Prefect. A *profile* summarises one dataset as compact JSON (stored as
`profile.json` in each published bundle), so a later run compares new data with the champion's
training data without reading that data again. A *drift report* compares two profiles check by
check; `drift_markdown` renders it for a Prefect markdown artifact.

    ref = text_profile(texts, labels, vocab, oov_rows=held_out)    # at publish time
    cur = text_profile(new_texts, new_labels, vocab)                # vocab: the champion's
    report = text_drift(ref, cur)                                   # report["flagged"]

Distributions are kept as histograms on fixed, fine grids (so two profiles made apart always
line up) plus exact quantiles. A comparison merges the fine bins into about 10 bins of equal
*reference* mass (reference deciles, the usual PSI binning) and computes the population stability
index on them; the Kolmogorov-Smirnov statistic comes from the fine cumulative counts.

A check is flagged when its value is beyond the threshold (the size of the change matters) *and*
its p-value is below `alpha` (it is not sampling noise). The second condition keeps small
batches honest: with 10 bins the PSI of two samples of one distribution is about
(10 - 1) * (1/n + 1/m) on average: 0.14 for 125 rows against 125, 0.9 for 10 against thousands, so
PSI alone would flag every small batch. The p-values assume independent rows; daily log volume
is autocorrelated, so for it they are optimistic (the guard is weaker there, not stronger).
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from lstm_models.text import PAD, UNK
from lstm_models.text import tokenize as _pipeline_tokenize

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

def known_tokens(vocab) -> frozenset[str]:
    """The real tokens of a vocabulary (not _PAD/_UNK), from any of: a bundle's vocab.json
    contents ({"itos": [...], ...}) or its path, an itos list, or a token -> id dict."""
    if isinstance(vocab, (str, Path)):
        vocab = json.loads(Path(vocab).read_text(encoding="utf-8"))
    if isinstance(vocab, dict) and "itos" in vocab:
        tokens = vocab["itos"]
    elif isinstance(vocab, (dict, list, tuple, set, frozenset)):
        tokens = vocab
    else:
        raise TypeError(f"vocab must be vocab.json's contents, its path, an itos list or a token -> id dict, "
                        f"not {type(vocab).__name__}")
    return frozenset(t for t in tokens if t not in (PAD, UNK))


def vocab_fingerprint(known: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(known)).encode("utf-8")).hexdigest()[:16]


def text_profile(texts: pd.Series | Sequence[str], labels: pd.Series | Sequence[int] | None = None, vocab=None, *,
                 tokenize: Callable[[str], list[str]] = _pipeline_tokenize, sample: int | None = 5000,
                 seed: int = 0, oov_rows: Sequence[bool] | np.ndarray | None = None) -> dict:
    """A JSON-serialisable summary of a set of reviews.

    texts: the review texts (the pipeline's valid.parquet `text`). labels: 0/1 (1 = positive,
    valid.parquet `label`), or None. vocab: the vocabulary OOV is measured against (see
    `known_tokens` for the forms), or None for no OOV rate. tokenize: the pipeline's own
    `lstm_models.text.tokenize` (clean_text, then NLTK word tokens), so lengths and unknown
    tokens are what the model sees before truncation to seq_len.
    sample: at most this many rows are tokenized (a seeded sample; None for all); the label
    share uses every row. oov_rows: a mask of the rows the OOV rate is measured on (also
    sampled); give the held-out rows (split != "train") when profiling the champion's own
    training data, since rows that built the vocabulary have fewer unknown tokens by
    construction.
    """
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    n = len(texts)
    if n == 0:
        raise ValueError("no texts to profile")
    rng = np.random.default_rng(seed)

    def pick(idx: np.ndarray) -> np.ndarray:
        return idx if sample is None or len(idx) <= sample else np.sort(rng.choice(idx, sample, replace=False))

    cache: dict[int, list[str]] = {}

    def tokens(i: int) -> list[str]:
        if i not in cache:
            cache[i] = tokenize(texts[i])
        return cache[i]

    rows = pick(np.arange(n))
    lengths = np.fromiter((len(tokens(i)) for i in rows), np.int64, len(rows))
    length = _summary(np.log1p(lengths), "log1p_tokens")
    # quantiles and mean in tokens, not on the log scale the histogram uses
    length["mean"] = _num(lengths.mean())
    length["std"] = _num(lengths.std(ddof=1)) if len(lengths) > 1 else None
    length["quantiles"] = {f"p{round(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, np.quantile(lengths, QUANTILES))}
    length["empty"] = int((lengths == 0).sum())

    label = None
    if labels is not None:
        lab = pd.to_numeric(pd.Series(list(labels)), errors="raise")
        if len(lab) != n:
            raise ValueError(f"{len(lab)} labels for {n} texts")
        bad = sorted(set(lab.dropna().unique().tolist()) - {0, 1})
        if bad or lab.isna().any():
            raise ValueError(f"labels must be 0/1 (1 = positive); found {bad[:5] or 'missing values'}")
        label = {"n": n, "count_1": int((lab == 1).sum()), "share_1": _num(float((lab == 1).mean()))}

    oov = None
    if vocab is not None:
        known = known_tokens(vocab)
        if oov_rows is None:
            oov_idx = rows
        else:
            mask = np.asarray(oov_rows, dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"oov_rows has {mask.size} entries for {n} texts")
            oov_idx = pick(np.flatnonzero(mask))
            if not len(oov_idx):
                raise ValueError("oov_rows selects no rows")
        total = unknown = 0
        for i in oov_idx:
            toks = tokens(i)
            total += len(toks)
            unknown += sum(1 for tok in toks if tok not in known)
        oov = {"rate": _num(unknown / total) if total else None, "tokens": int(total), "unknown": int(unknown),
               "rows": int(len(oov_idx)), "rows_selected": "all" if oov_rows is None else "oov_rows",
               "vocab_size": len(known), "vocab_sha256": vocab_fingerprint(known)}

    return {"kind": "text", "format": PROFILE_FORMAT, "created": _now(), "rows": n,
            "sampled_rows": int(len(rows)), "seed": seed, "tokenizer": _name(tokenize),
            "length": length, "label": label, "oov": oov}


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def text_drift(reference: dict, current: dict, thresholds: DriftThresholds | dict | None = None) -> dict:
    """Checks of `current` against `reference` (both from `text_profile`): token-length
    distribution (PSI), OOV rate increase, label-share change. `flagged` if any check is."""
    _expect(reference, "text", "reference")
    _expect(current, "text", "current")
    t = drift_thresholds(thresholds)
    warnings: list[str] = []
    if reference.get("tokenizer") != current.get("tokenizer"):
        warnings.append(f"profiles were tokenized differently ({reference.get('tokenizer')} vs "
                        f"{current.get('tokenizer')}): lengths and OOV rates may not compare")
    checks = [_distribution_check(
        "length_psi", "Token length: PSI", "median tokens", reference["length"], current["length"], t,
        lambda s: s["quantiles"]["p50"])]

    ro, co = reference.get("oov"), current.get("oov")
    if ro and co and ro["rate"] is not None and co["rate"] is not None:
        if ro["vocab_sha256"] != co["vocab_sha256"]:
            warnings.append(f"OOV rates were measured against different vocabularies ({ro['vocab_size']} vs "
                            f"{co['vocab_size']} tokens): profile the new data with the champion's vocab.json")
            checks.append(_check("oov_rate", "Out-of-vocabulary rate: increase", "OOV rate", ro["rate"], co["rate"],
                                 None, t.oov_increase, False, note="not comparable: different vocabularies"))
        else:
            diff = co["rate"] - ro["rate"]
            p = _two_proportions(ro["unknown"], ro["tokens"], co["unknown"], co["tokens"], one_sided=True)
            checks.append(_check("oov_rate", "Out-of-vocabulary rate: increase", "OOV rate", ro["rate"], co["rate"],
                                 diff, t.oov_increase, diff > t.oov_increase and p < t.alpha, p))
    else:
        warnings.append("no OOV rate in " + " and ".join(
            r for r, o in (("the reference", ro), ("the current profile", co)) if not o or o.get("rate") is None))

    rl, cl = reference.get("label"), current.get("label")
    if rl and cl:
        diff = abs(cl["share_1"] - rl["share_1"])
        p = _two_proportions(rl["count_1"], rl["n"], cl["count_1"], cl["n"])
        checks.append(_check("label_share", "Label balance: absolute change", "share of label 1", rl["share_1"],
                             cl["share_1"], diff, t.label_share_change, diff > t.label_share_change and p < t.alpha, p))
    else:
        warnings.append("labels missing from a profile: label balance not compared")
    return _report("text", checks, reference, current, t, warnings)


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

def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    v = float(v)
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}B"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v:,.0f}"
    if a == 0 or a >= 0.001:
        return f"{v:.4g}"
    return f"{v:.2e}"


def _threshold_cell(check: dict) -> str:
    t = check["threshold"]
    if isinstance(t, (list, tuple)):
        return f"outside {_fmt(t[0])}–{_fmt(t[1])}"
    return f"> {_fmt(t)}"


def drift_markdown(report: dict, kind: str) -> str:
    """The report as markdown for a Prefect artifact: a one-line verdict, then a table of the
    checks (check, reference, current, value, threshold, flagged), then notes."""
    checks = list(report["checks"].values())
    flagged = [c for c in checks if c["flagged"]]
    rows = f"reference {report['reference_rows']:,} rows, current {report['current_rows']:,} rows"
    if flagged:
        verdict = (f"**Drift: {len(flagged)} of {len(checks)} checks flagged** for {kind} "
                   f"({', '.join(c['description'] for c in flagged)}); {rows}.")
    else:
        verdict = f"**No drift** for {kind}: all {len(checks)} checks within thresholds; {rows}."
    lines = [verdict, "", f"## Drift report: {kind}", "",
             "| check | reference | current | value | threshold | flagged |", "|---|---|---|---|---|---|"]
    for c in checks:
        mark = "**yes**" if c["flagged"] else "no"
        lines.append(f"| {c['description']} (reference/current: {c['stat']}) | {_fmt(c['reference'])} | {_fmt(c['current'])} | "
                     f"{_fmt(c['value'])} | {_threshold_cell(c)} | {mark} |")
    t = report["thresholds"]
    lines += ["", f"A check is flagged when its value passes the threshold and its p-value is below "
                  f"{t['alpha']} (so small batches are not flagged for sampling noise). PSI: population "
                  f"stability index on reference-decile bins.",
              "", "| check | p-value | note |", "|---|---|---|"]
    for c in checks:
        note = c.get("note") or (f"KS {_fmt(c['ks'])}, {c['bins']} bins" if "ks" in c else "")
        lines.append(f"| {c['check']} | {_fmt(c['p_value'])} | {note} |")
    if report.get("warnings"):
        lines += [""] + [f"- Warning: {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def champion_profile(champion_bundle: str | None) -> tuple[dict | None, str]:
    """(the champion's training-data profile, "") or (None, why there is nothing to compare with)."""
    if champion_bundle is None:
        return None, "no champion yet: nothing to compare with"
    path = Path(champion_bundle) / "profile.json"
    if not path.is_file():
        return None, f"the champion ({Path(champion_bundle).name}) has no profile.json (published before drift reports)"
    return json.loads(path.read_text()), ""
