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

from .report import champion_profile, drift_markdown
from .series import series_drift, series_profile
from .statistics import (
    DEFAULT_THRESHOLDS,
    GRIDS,
    PROFILE_FORMAT,
    PSI_BINS,
    PSI_FLOOR,
    QUANTILES,
    DriftThresholds,
    drift_thresholds,
    ks_binned,
    psi,
    psi_bins,
)
from .text import known_tokens, text_drift, text_profile, vocab_fingerprint

__all__ = ["DEFAULT_THRESHOLDS", "DriftThresholds", "GRIDS", "PROFILE_FORMAT", "PSI_BINS", "PSI_FLOOR", "QUANTILES", "drift_thresholds", "ks_binned", "psi", "psi_bins", "known_tokens", "text_drift", "text_profile", "vocab_fingerprint", "series_drift", "series_profile", "champion_profile", "drift_markdown"]
