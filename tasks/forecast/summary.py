"""What a forecast training run reports, built from its stages' results in one place: the data
summary table, the version record the registry keeps, and the run summary (the CLI's JSON)."""
from __future__ import annotations

from tasks.shared.caching import StageRun
from tasks.shared.results import Trained, Validation

from .baselines import BASELINES
from .config import ForecastConfig
from .publish import FORECAST_KEYS
from .results import ForecastEvaluation, PreparedWindows


def data_summary(files: int, validation: Validation, prep: PreparedWindows) -> dict:
    """The `forecast-data-summary` table: files, tickers, rows kept, windows of each split."""
    report = validation.report
    return {
        "files": files, "tickers": len(prep.tickers), "rows read": validation.rows["read"],
        "rows accepted": validation.rows["accepted"], "rows quarantined": validation.rows["quarantined"],
        "Open not recorded (filled)": report["open_missing"], "zero-volume days (kept)": report["zero_volume"],
        **{f"{k} windows": v for k, v in prep.windows.items()},
        "lookback / horizon (days)": f"{prep.lookback} / {prep.horizon}",
        "tickers left out (too few rows)": ", ".join(prep.skipped) or "none"}


def version_info(cfg: ForecastConfig, source: str, sha: str, stages: dict[str, StageRun]) -> dict:
    """The record the registry keeps with the version (version.json, lineage, model card)."""
    validation, prep, train = stages["validate"].result, stages["prepare"].result, stages["train"].result
    return {
        "name": cfg.name, "source": str(source), "source_sha256": sha, "rows": validation.rows, "tickers": prep.tickers,
        "windows": prep.windows, "boundaries": prep.boundaries, "config": cfg.model_dump(),
        "metrics": stages["evaluate"].result.metrics, "training": train.training,
        "code_version": {name: s.code for name, s in stages.items()},
    }


def run_summary(release: dict, stages: dict[str, StageRun], seconds: float) -> dict:
    """The run's summary (the flow's return value and the CLI's JSON): the registry's answer
    (flows.common.release_summary), pooled test metrics of the LSTM and each baseline, MASE by
    step, the interval's coverage and width, rows, windows, cached stages."""
    validation: Validation = stages["validate"].result
    prep: PreparedWindows = stages["prepare"].result
    evaluation: ForecastEvaluation = stages["evaluate"].result
    train: Trained = stages["train"].result
    metrics = evaluation.metrics

    def pooled(name: str) -> dict:
        return {k: metrics[name]["overall"][k] for k in FORECAST_KEYS}
    return {
        **release,
        "metrics": pooled("lstm"),
        "baselines": {name: pooled(name) for name in BASELINES},
        "best_baseline": metrics["best_baseline"],
        "intervals": metrics.get("intervals"),  # the LSTM's interval on the test part (None: a point model)
        "by_step": {step: {name: m["mase"] for name, m in v.items()} for step, v in metrics["by_step"].items()},
        "rows": validation.rows,
        "windows": prep.windows,
        "tickers": len(prep.tickers),
        "quarantine": validation.quarantine,
        "cached": [name for name, s in stages.items() if s.cached],
        "device": train.device,
        "seconds": round(seconds, 2),
    }
