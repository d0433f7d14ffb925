"""Shared data loading, splitting, windows, baselines and metrics for the volume-forecast research.

Self-contained (numpy/pandas/scipy/sklearn). Protocol mirrors /work/main/lstm_models:
chronological_split (round(n*test), round(n*val)), windows anchored at t with targets
t+1..t+5, a window belongs to the part holding all its targets, MASE scaled by each ticker's
one-step naive MAE on its train part, pooled over all (window, step) elements.
"""
from __future__ import annotations

import glob
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import pandas as pd
from scipy.signal import lfilter

HIST = "/work/shared/data/stocks/history"
SBUX_SMALL = "/work/shared/data/stocks/SBUX.csv"
HORIZON = 5
VAL_FRACTION, TEST_FRACTION = 0.15, 0.20
ALL_TICKERS = sorted(os.path.basename(p)[:-7] for p in glob.glob(f"{HIST}/*.csv.gz"))
SUB10 = ALL_TICKERS[::4]  # deterministic 10-ticker subset


def chronological_split(n, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    train_end = n - n_test - n_val
    return train_end, train_end + n_val, n


def clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df.dropna().reset_index(drop=True)
    rec = df.Open > 0
    bad = ((df.High < df.Low) | (df.Close > df.High) | (df.Close < df.Low)
           | (rec & ((df.Open > df.High) | (df.Open < df.Low))))
    df = df[~bad].reset_index(drop=True)
    prev_close = df.Close.shift(1).fillna(df.Close)
    df["Open"] = df.Open.where(df.Open > 0, prev_close)
    return df


def row_features(df: pd.DataFrame):
    """Per-row arrays for one ticker (all scale free except lv)."""
    c, ac = df.Close.to_numpy(float), df["Adj Close"].to_numpy(float)
    o, h, l = df.Open.to_numpy(float), df.High.to_numpy(float), df.Low.to_numpy(float)
    v = df.Volume.to_numpy(float)
    lv = np.log1p(v)
    adj = ac / c
    ret = np.zeros(len(c)); ret[1:] = np.log(ac[1:] / ac[:-1])
    gap = np.zeros(len(c)); gap[1:] = np.log(o[1:] * adj[1:] / ac[:-1])
    hl = np.log(h / l)
    co = np.log(c / o)
    dlv = np.zeros(len(c)); dlv[1:] = lv[1:] - lv[:-1]
    labs = np.log(np.abs(ret) + 1e-4)
    d = pd.to_datetime(df.Date)
    dow = d.dt.dayofweek.to_numpy()
    dd = d.to_numpy()
    days_prev = np.full(len(c), 1.0); days_prev[1:] = (dd[1:] - dd[:-1]) / np.timedelta64(1, "D")
    days_next = np.full(len(c), 1.0); days_next[:-1] = days_prev[1:]
    month = d.dt.month.to_numpy()
    month_end = np.zeros(len(c)); month_end[:-1] = (month[1:] != month[:-1])
    day = d.dt.day.to_numpy()
    third_fri = ((dow == 4) & (day >= 15) & (day <= 21)).astype(float)
    quad = third_fri * np.isin(month, [3, 6, 9, 12])
    return dict(o=o, h=h, l=l, c=c, ac=ac, v=v, lv=lv, ret=ret, gap=gap, hl=hl, co=co, dlv=dlv, labs=labs, dow=dow,
                days_prev=days_prev, days_next=days_next, month_end=month_end,
                third_fri=third_fri, quad=quad, date=dd)


class Data:
    """All tickers concatenated; per-ticker offsets; split boundaries in global indices."""

    def __init__(self, tickers=None, files=None):
        if files is None:
            tickers = tickers or ALL_TICKERS
            files = {t: f"{HIST}/{t}.csv.gz" for t in tickers}
        self.tickers = list(files)
        parts = []
        self.off, self.bounds, self.scale = [], [], []
        o = 0
        for t in self.tickers:
            f = row_features(clean(pd.read_csv(files[t])))
            n = len(f["v"])
            tr, va, _ = chronological_split(n)
            self.off.append(o)
            self.bounds.append((o, o + tr, o + va, o + n))
            vt = f["v"][:tr]
            self.scale.append(np.mean(np.abs(np.diff(vt))))
            f["tk"] = np.full(n, len(parts))
            parts.append(f)
            o += n
        self.N = o
        self.f = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.scale = np.array(self.scale)
        self.csum_lv = np.concatenate([[0.0], np.cumsum(self.f["lv"])])

    def anchors(self, part, lookback=20, min_start=60):
        """Global anchor indices of windows whose 5 targets lie in `part` (train/val/test).
        Train anchors start at max(lookback, min_start) rows into the ticker so all variants
        share the same train windows; val/test anchors are independent of lookback."""
        out = []
        for (s, tr, va, e) in self.bounds:
            lo, hi = {"train": (s, tr), "val": (tr, va), "test": (va, e)}[part]
            first = max(s + max(lookback, min_start) if part == "train" else s + lookback - 1, lo - 1)
            stop = hi - 1 - HORIZON + 1
            if stop > first:
                out.append(np.arange(first, stop))
        return np.concatenate(out) if out else np.zeros(0, int)

    def targets(self, g):
        return self.f["v"][g[:, None] + np.arange(1, HORIZON + 1)]

    def window_mean_lv(self, g, w):
        return (self.csum_lv[g + 1] - self.csum_lv[g + 1 - w]) / w

    def es_level(self, alpha):
        """ES level of log1p volume per row, restarted at each ticker's first row."""
        lv = self.f["lv"]
        lev = np.empty_like(lv)
        for (s, _, _, e) in self.bounds:
            x = lv[s:e]
            lev[s:e], _ = lfilter([alpha], [1, -(1 - alpha)], x, zi=[(1 - alpha) * x[0]])
        return lev


# ---------------------------------------------------------------- metrics
def mase_table(data: Data, g, fc):
    """Pooled MASE, per step (5), per ticker dict."""
    y = data.targets(g)
    tk = data.f["tk"][g]
    err = np.abs(y - fc) / data.scale[tk][:, None]
    per_t = {data.tickers[k]: float(err[tk == k].mean()) for k in np.unique(tk)}
    return dict(pooled=float(err.mean()), steps=err.mean(0).tolist(), per_ticker=per_t)


# ---------------------------------------------------------------- baselines
def persistence(data, g):
    return np.repeat(data.f["v"][g][:, None], HORIZON, 1)


def moving_average(data, g, w=5):
    cs = np.concatenate([[0.0], np.cumsum(data.f["v"])])
    m = (cs[g + 1] - cs[g + 1 - w]) / w
    return np.repeat(m[:, None], HORIZON, 1)


ES_GRID = [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]


def es_forecast(data, g, alpha):
    return np.repeat(np.expm1(data.es_level(alpha)[g])[:, None], HORIZON, 1)


def fit_es(data, gval):
    res = {a: mase_table(data, gval, es_forecast(data, gval, a))["pooled"] for a in ES_GRID}
    best = min(res, key=res.get)
    return best, res


def ridge_features(data, g, relative=True, nlag=20, nret=5, calendar=False):
    """Per-step feature matrices [M, p] (list of 5) and the per-window level m (or 0)."""
    f = data.f
    lags = f["lv"][g[:, None] + np.arange(-nlag + 1, 1)]
    m = lags.mean(1) if relative else np.zeros(len(g))
    base = [lags - m[:, None], f["labs"][g[:, None] + np.arange(-nret + 1, 1)]]
    base = np.concatenate(base, 1)
    mats = []
    for k in range(1, HORIZON + 1):
        cols = [base, np.eye(5)[np.clip(f["dow"][g + k], 0, 4)]]
        if calendar:
            cols.append(np.stack([np.minimum(f["days_prev"][g + k], 5), np.minimum(f["days_next"][g + k], 5),
                                  f["month_end"][g + k], f["third_fri"][g + k], f["quad"][g + k]], 1))
        mats.append(np.concatenate(cols, 1))
    return mats, m


RIDGE_ALPHAS = [0.01, 0.1, 1, 10, 100, 1000, 10000]


class RidgeBaseline:
    def __init__(self, relative=True, calendar=False):
        self.relative, self.calendar = relative, calendar

    def fit(self, data, gtr, gval):
        from sklearn.linear_model import Ridge
        Xtr, mtr = ridge_features(data, gtr, self.relative, calendar=self.calendar)
        Xva, mva = ridge_features(data, gval, self.relative, calendar=self.calendar)
        ytr = data.f["lv"][gtr[:, None] + np.arange(1, HORIZON + 1)] - mtr[:, None]
        self.val_scores = {}
        best = None
        for a in RIDGE_ALPHAS:
            models = [Ridge(alpha=a).fit(Xtr[k], ytr[:, k]) for k in range(HORIZON)]
            fc = self._pred(models, Xva, mva)
            s = mase_table(data, gval, fc)["pooled"]
            self.val_scores[a] = s
            if best is None or s < best[0]:
                best = (s, a, models)
        self.alpha, self.models = best[1], best[2]
        return self

    @staticmethod
    def _pred(models, X, m):
        return np.expm1(np.stack([models[k].predict(X[k]) for k in range(HORIZON)], 1) + m[:, None])

    def predict_log(self, data, g):
        X, m = ridge_features(data, g, self.relative, calendar=self.calendar)
        return np.stack([self.models[k].predict(X[k]) for k in range(HORIZON)], 1) + m[:, None]

    def predict(self, data, g):
        return np.expm1(self.predict_log(data, g))


def all_baselines(data, lookback=20, verbose=True):
    """Fit baselines on train/val; return dict name -> (val forecasts, test forecasts) plus meta."""
    gtr, gva, gte = (data.anchors(p, lookback) for p in ("train", "val", "test"))
    out, meta = {}, {}
    out["persistence"] = (persistence(data, gva), persistence(data, gte))
    out["ma5"] = (moving_average(data, gva), moving_average(data, gte))
    a, res = fit_es(data, gva)
    meta["es_alpha"] = a
    out["es"] = (es_forecast(data, gva, a), es_forecast(data, gte, a))
    for name, rel, cal in (("ridge_abs", False, False), ("ridge_rel", True, False), ("ridge_rel_cal", True, True)):
        r = RidgeBaseline(rel, cal).fit(data, gtr, gva)
        meta[name + "_alpha"] = r.alpha
        out[name] = (r.predict(data, gva), r.predict(data, gte))
        meta[name + "_model"] = r
    return out, meta, (gtr, gva, gte)
