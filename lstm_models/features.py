"""Inputs for daily series that keep their range whatever the era.

A price standardised on a ticker's 1980s rows is off the scale in its 2020s rows, and a model
trained on one ticker's price level says nothing about another's. Every input here is scale
free: log returns, the day's range and gap, log volume *relative to a level of the window*
(the mean log volume of the last `LEVEL_DAYS` rows), and the calendar. The same code builds the
training rows (tasks/forecast/prepare.py) and the rows a bundle forecasts from
(lstm_models/forecaster.py), so the two cannot drift apart.

Per row t of one ticker (rows sorted by date, Open already filled where it was not recorded):

    ret        log(AdjClose_t / AdjClose_{t-1})              daily log return
    gap        log(Open_t * adj_t / AdjClose_{t-1})          overnight gap (adj = AdjClose/Close)
    range      log(High_t / Low_t)                           intraday range
    body       log(Close_t / Open_t)                         open-to-close move
    abs_ret    log(|ret_t| + 1e-4)                           size of the move, log scale
    dvol       log1p(V_t) - log1p(V_{t-1})                   change of log volume
    calendar   see CALENDAR: weekday, gaps to the neighbouring trading days, month end,
               monthly and quarterly option expiry (third Friday)

The target of step k is log1p(V_{t+k}) - level_t, level_t = mean(log1p V) over rows t-19..t:
the model learns the part of tomorrow's volume that the recent level does not explain, and a
forecast is expm1(level_t + prediction), the median of a log-scale forecast (not the mean, whose
correction makes MASE worse on real volume).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

LEVEL_DAYS = 20  # the window whose mean log volume is the level the targets are relative to
ROW_FEATURES = ("ret", "gap", "range", "body", "abs_ret", "dvol")
# per trading day: weekday one-hot (5), days since the previous and to the next trading day (/5,
# capped at 1), last trading day of the month, third Friday, third Friday of a quarter's last month
CALENDAR = ("mon", "tue", "wed", "thu", "fri", "days_prev", "days_next", "month_end", "third_friday", "quad_witching")


def calendar_features(dates) -> np.ndarray:
    """[n, len(CALENDAR)] for a sorted sequence of trading dates (the last one's days_next is 1
    business day: the next trading day is not known yet)."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    n = len(d)
    out = np.zeros((n, len(CALENDAR)), dtype=np.float32)
    dow = d.day_of_week.to_numpy()
    out[np.arange(n)[dow < 5], dow[dow < 5]] = 1.0
    days = (d.to_numpy().astype("datetime64[D]").astype(np.int64)).astype(np.float64)
    gaps = np.diff(days)
    prev = np.concatenate([[1.0], gaps])
    nxt = np.concatenate([gaps, [3.0 if n and dow[-1] == 4 else 1.0]])
    out[:, 5] = np.minimum(prev, 5) / 5
    out[:, 6] = np.minimum(nxt, 5) / 5
    month = d.month.to_numpy()
    out[:, 7] = np.concatenate([month[1:] != month[:-1], [(d[-1] + pd.offsets.BDay(1)).month != month[-1]] if n else []])
    third = (dow == 4) & (d.day.to_numpy() >= 15) & (d.day.to_numpy() <= 21)
    out[:, 8] = third
    out[:, 9] = third & np.isin(month, (3, 6, 9, 12))
    return out


def row_features(frame: pd.DataFrame) -> np.ndarray:
    """[n, len(ROW_FEATURES)] for one ticker's rows sorted by date (the first row, with no
    previous day, gets 0 for the changes)."""
    close = frame["Close"].to_numpy(np.float64)
    adj_close = frame["Adj Close"].to_numpy(np.float64)
    opened = frame["Open"].to_numpy(np.float64)
    high, low = frame["High"].to_numpy(np.float64), frame["Low"].to_numpy(np.float64)
    log_volume = np.log1p(frame["Volume"].to_numpy(np.float64))
    n = len(frame)
    ret, gap, dvol = np.zeros(n), np.zeros(n), np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret[1:] = np.log(adj_close[1:] / adj_close[:-1])
        gap[1:] = np.log(opened[1:] * (adj_close[1:] / close[1:]) / adj_close[:-1])
        dvol[1:] = np.diff(log_volume)
        out = np.stack([ret, gap, np.log(high / low), np.log(close / opened), np.log(np.abs(ret) + 1e-4), dvol], 1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def log_level(log_volume: np.ndarray, days: int = LEVEL_DAYS) -> np.ndarray:
    """Mean of the last `days` values up to and including each row (fewer at the start)."""
    x = np.asarray(log_volume, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(x)])
    end = np.arange(1, len(x) + 1)
    start = np.maximum(end - days, 0)
    return (csum[end] - csum[start]) / (end - start)


def relative_rows(frame: pd.DataFrame, calendar: bool = True) -> dict[str, np.ndarray]:
    """Everything a relative-input window is cut from, per row of one ticker's history:
    inputs [n, F] (ROW_FEATURES, then CALENDAR when calendar), log volume, its level, and the
    calendar [n, len(CALENDAR)] (covariates of the days to forecast)."""
    log_volume = np.log1p(frame["Volume"].to_numpy(np.float64))
    cal = calendar_features(frame["Date"].to_numpy())
    inputs = row_features(frame)
    if calendar:
        inputs = np.concatenate([inputs, cal], 1)
    return {"inputs": inputs, "log_volume": log_volume, "level": log_level(log_volume), "calendar": cal}


def input_names(calendar: bool = True) -> list[str]:
    return [*ROW_FEATURES, *(CALENDAR if calendar else ()), "rel_log_volume"]


def relative_window(inputs: np.ndarray, log_volume: np.ndarray, level: np.ndarray, anchors: np.ndarray,
                    lookback: int) -> np.ndarray:
    """x [M, lookback, F + 1] for windows anchored at `anchors`: the (standardised) row inputs and,
    last, log volume relative to the anchor's level, clipped to +-4 (a day of 50x volume is rare
    and says little more than one of 20x)."""
    rows = np.asarray(anchors)[:, None] + np.arange(-lookback + 1, 1)
    rel = np.clip(log_volume[rows] - level[np.asarray(anchors)][:, None], -4, 4)
    return np.concatenate([inputs[rows], rel[..., None]], 2).astype(np.float32)
