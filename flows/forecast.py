"""Forecast flow: price files -> validated rows -> scaled windows -> LSTM -> evaluation -> bundle.

The same shape as the sentiment flow: each expensive stage is a cached task keyed on content,
so an unchanged re-run is all cache hits and a changed window or model setting re-runs only
what depends on it. The LSTM is scored next to persistence and a moving average on the same
test windows.
"""
from __future__ import annotations

import time

from prefect import flow, task
from prefect.logging import get_run_logger

import lstm_models.data
import lstm_models.forecast_metrics
import lstm_models.forecaster
import lstm_models.regressor
import lstm_models.scaling
import lstm_models.training
import lstm_models.windows
import tasks.forecast
import tasks.stocks
import tasks.validate
from tasks.caching import code_version, run_cached
from tasks.forecast import (evaluate_forecast_task, ingest_prices_task, prepare_windows_task, train_regressor_task,
                            validate_prices_task)
from tasks.publish import FORECAST_KEYS, publish_forecast_task, publish_validation_table
from tasks.stocks import prices_sha256

from .config import ForecastConfig
from .sentiment import accept_batch

DEFAULT_DATA = "data/SBUX.csv"

CODE = {
    "ingest": code_version(tasks.stocks),
    "validate": code_version(tasks.stocks, tasks.validate),
    "prepare": code_version(tasks.forecast, lstm_models.scaling, lstm_models.windows),
    "train": code_version(tasks.forecast, lstm_models.regressor, lstm_models.data, lstm_models.training),
    "evaluate": code_version(tasks.forecast, lstm_models.forecast_metrics, lstm_models.forecaster),
}


@task(name="hash-prices")
def hash_prices(path: str) -> str:
    """Content hash of the price files (bytes and names): the root of every cache key."""
    return prices_sha256(path)


@flow(name="forecast-training")
def forecast_training(
    data: str = DEFAULT_DATA, config: ForecastConfig = ForecastConfig(), output: str = "outputs/forecast"
) -> dict:
    log = get_run_logger()
    t0 = time.perf_counter()
    cfg = config
    sha = hash_prices(data)

    ingest = run_cached(ingest_prices_task, output, "ingest", {"sha": sha, "code": CODE["ingest"]},
                        source=data, source_sha256=sha)
    validate = run_cached(validate_prices_task, output, "validate",
                          {"up": ingest.key, "cfg": cfg.validation.model_dump(), "code": CODE["validate"]},
                          prices=ingest.result["prices"], source=data, validation=cfg.validation.model_dump())
    report = validate.result
    publish_validation_table("forecast", report)
    log.info("rows read %(read)d = accepted %(accepted)d + quarantined %(quarantined)d", report["rows"])
    log.info("open not recorded (filled): %d rows; zero-volume days (kept): %d", report["open_missing"], report["zero_volume"])
    accept_batch(report, data)

    prepare = run_cached(prepare_windows_task, output, "prepare",
                         {"up": validate.key, "prepare": cfg.prepare.model_dump(), "split": cfg.split.model_dump(),
                          "code": CODE["prepare"]},
                         valid=report["valid"], source=data, prepare=cfg.prepare.model_dump(), split=cfg.split.model_dump())
    prep = prepare.result
    if prep["skipped"]:
        log.warning("tickers left out (too few rows): %s", ", ".join(prep["skipped"]))
    train = run_cached(train_regressor_task, output, "train",
                       {"up": prepare.key, "model": cfg.model.model_dump(), "train": cfg.train.model_dump(),
                        "code": CODE["train"]},
                       windows=prep["windows_path"], model=cfg.model.model_dump(), train=cfg.train.model_dump())
    evaluation = run_cached(evaluate_forecast_task, output, "evaluate",
                            {"train": train.key, "prepare": prepare.key, "cfg": cfg.evaluate.model_dump(),
                             "code": CODE["evaluate"]},
                            windows=prep["windows_path"], series=prep["series"], scalers=prep["scalers"],
                            weights=train.result["weights"], training_summary=train.result["summary"],
                            target=cfg.prepare.target, evaluate=cfg.evaluate.model_dump())
    metrics = evaluation.result["metrics"]

    info = {
        "name": cfg.name, "source": str(data), "source_sha256": sha, "rows": report["rows"], "tickers": prep["tickers"],
        "windows": prep["windows"], "boundaries": prep["boundaries"], "config": cfg.model_dump(), "metrics": metrics,
        "training": train.result, "code_version": CODE,
    }
    bundle = publish_forecast_task(info, train.result["weights"], prep["scalers"], evaluation.result["plots"], output,
                                   train.key)
    pooled = lambda name: {k: metrics[name]["overall"][k] for k in FORECAST_KEYS}  # noqa: E731
    stages = {"ingest": ingest, "validate": validate, "prepare": prepare, "train": train, "evaluate": evaluation}
    summary = {
        "bundle": bundle,
        "metrics": pooled("lstm"),
        "baselines": {name: pooled(name) for name in ("persistence", "moving_average")},
        "by_step": {step: {name: m["mase"] for name, m in v.items()} for step, v in metrics["by_step"].items()},
        "rows": report["rows"],
        "windows": prep["windows"],
        "tickers": len(prep["tickers"]),
        "quarantine": report["quarantine"],
        "cached": [name for name, s in stages.items() if s.cached],
        "device": train.result["device"],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    log.info("test MASE: LSTM %.3f, persistence %.3f, moving average %.3f; cached stages: %s",
             summary["metrics"]["mase"], summary["baselines"]["persistence"]["mase"],
             summary["baselines"]["moving_average"]["mase"], ", ".join(summary["cached"]) or "none")
    return summary
