"""The forecast gate's figures: the champion re-scored on this run's test windows next to the
candidate; the decision itself is tasks/shared/gate.py's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from prefect import task

from lstm_models import forecast_metrics as fm
from tasks.shared.artifacts import fmt
from tasks.shared.config import GateConfig
from tasks.shared.gate import pick_baseline, publish_decision, run_gate

from .baselines import LABELS
from .config import ForecastPrepareConfig
from .evaluate import naive_scales
from .prepare import load_windows, ticker_rows
from .publish import FORECAST_KEYS, FORECAST_METHODS


def score_bundle(bundle: str | Path, valid: str, windows: str, series: str, predictions: str, prepare: ForecastPrepareConfig
                 ) -> tuple[dict | None, dict | None, str]:
    """A published bundle (its own scalers, features and lookback) and this run's model scored
    on the same test windows: (champion scores, candidate scores, note). Windows of tickers the
    bundle has no scalers for, or too early for its lookback, are left out of both; a bundle
    with another target, horizon or offset is not comparable (None, None, why)."""
    from lstm_models.forecaster import ForecastPredictor

    champ = ForecastPredictor.load(bundle)
    meta = json.loads(pq.read_schema(windows).metadata[b"forecast"])
    if (champ.target, champ.horizon, champ.offset) != (prepare.target, meta["horizon"], meta["offset"]):
        return None, None, (f"it predicts {champ.target} {champ.horizon} step(s) at offset {champ.offset}, this run "
                            f"{prepare.target} {meta['horizon']} step(s) at offset {meta['offset']}")
    w = load_windows(windows, "test")
    mine = pd.read_parquet(predictions)
    mine = np.stack(mine.loc[mine["split"] == "test", "predicted"].to_numpy())
    rows = ticker_rows(pd.read_parquet(valid), prepare.max_rows_per_ticker)
    theirs = np.full(w["actual"].shape, np.nan)
    unknown = []
    for ticker in np.unique(w["ticker"]):
        if not champ.scalers.knows(str(ticker)):
            unknown.append(str(ticker))
            continue
        sel = np.flatnonzero(w["ticker"] == ticker)
        anchors = w["anchor"][sel]
        ok = anchors >= champ.history_needed - 1
        if not ok.any():
            continue
        theirs[sel[ok]] = champ.predict_anchors(rows[str(ticker)], str(ticker), anchors[ok])
    keep = np.isfinite(theirs).all(axis=1)
    note = f"tickers the champion was not trained on are left out: {', '.join(unknown)}" if unknown else ""
    if not keep.any():
        return None, None, "the champion knows none of this run's tickers"
    scales = naive_scales(pd.read_parquet(series))
    tickers = w["ticker"][keep].astype(str)
    score = lambda f: fm.scores_by_ticker(w["actual"][keep], f[keep], tickers, scales)["overall"]  # noqa: E731
    return score(theirs), score(mine), note


@task(name="gate-candidate")
def gate_forecast_task(registry: str, version: str, metrics: dict, valid: str, windows: str, series: str,
                       predictions: str, prepare: ForecastPrepareConfig, gate: GateConfig, force: bool = False) -> dict:
    """The candidate against the best baseline of the run (gate.baseline: naive compares with
    persistence only) and the champion, re-scored on the same test windows."""
    champion = {}
    name, value = pick_baseline({LABELS[b]: metrics[b]["overall"]["mase"] for b in LABELS}, LABELS["persistence"],
                                gate.baseline, higher_is_better=False)

    def score(bundle):
        theirs, mine, note = score_bundle(bundle, valid, windows, series, predictions, prepare)
        if theirs is None:
            return None, None, note
        champion.update(theirs)
        return theirs["mase"], mine["mase"], note

    d = run_gate(registry, "forecast", version, metric="MASE", higher_is_better=False, margin=gate.margin,
                 candidate_value=metrics["lstm"]["overall"]["mase"], baseline=name, baseline_value=value,
                 score_champion=score, force=force, baseline_rule=gate.baseline)
    if d["champion_before"] == version:
        champion = metrics["lstm"]["overall"]
    table = [{"method": label, **{k: fmt(metrics[m]["overall"][k]) for k in FORECAST_KEYS}}
             for m, label in FORECAST_METHODS.items()]
    if champion:
        table.append({"method": f"champion {d['champion_before']}", **{k: fmt(champion[k]) for k in FORECAST_KEYS}})
    publish_decision("forecast", d, table, "Test-part errors pooled over tickers: LSTM (candidate) vs every baseline "
                                            "(the best one is the gate's) vs the champion")
    return d
