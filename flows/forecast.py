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
import tasks.drift
import tasks.forecast
import tasks.monitor
import tasks.stocks
import tasks.validate
from tasks.caching import StageRun, code_version, json_sha256, run_cached
from tasks.forecast import (combine_validations_task, evaluate_forecast_task, ingest_prices_task, prepare_windows_task,
                            train_regressor_task, validate_prices_task)
from tasks.gate import gate_forecast_task
from tasks.monitor import price_drift_task, profile_prices_task, publish_drift
from tasks.registry import current_champion
from tasks.publish import FORECAST_KEYS, publish_data_summary, publish_forecast_task, publish_validation_table
from tasks.stocks import list_price_files, prices_sha256

from .config import ForecastConfig
from .sentiment import accept_batch, release_line, release_summary, run_inputs

DEFAULT_DATA = "data/SBUX.csv"

CODE = {
    "ingest": code_version(tasks.stocks),
    "validate": code_version(tasks.stocks, tasks.validate),
    "prepare": code_version(tasks.forecast, lstm_models.scaling, lstm_models.windows),
    "train": code_version(tasks.forecast, lstm_models.regressor, lstm_models.data, lstm_models.training),
    "evaluate": code_version(tasks.forecast, lstm_models.forecast_metrics, lstm_models.forecaster),
    "profile": code_version(tasks.drift, tasks.monitor),
}


@task(name="hash-prices")
def hash_prices(path: str) -> list[list[str]]:
    """[file, content hash (bytes and name)] of each price file: the roots of the cache keys, so
    a new or edited file re-runs only its own ingest and validation."""
    return [[str(f), prices_sha256(f)] for f in list_price_files(path)]


@flow(name="forecast-training")
def forecast_training(
    data: str = DEFAULT_DATA, config: ForecastConfig = ForecastConfig(), output: str = "outputs/forecast",
    registry: str | None = None, force: bool = False,
) -> dict:
    """registry: model registry root, a folder or fsspec URL (default `<output>/registry`);
    force: promote the candidate to champion even when the gate says no."""
    log = get_run_logger()
    data, registry = run_inputs(data, output, registry)
    t0 = time.perf_counter()
    cfg = config
    files = hash_prices(data)
    sha = json_sha256(sorted(file_sha for _, file_sha in files))

    per_file = []
    for path, file_sha in files:
        ingested = run_cached(ingest_prices_task, output, "ingest", {"sha": file_sha, "code": CODE["ingest"]},
                              source=path, source_sha256=file_sha)
        per_file.append((ingested, run_cached(
            validate_prices_task, output, "validate",
            {"up": ingested.key, "cfg": cfg.validation.model_dump(), "code": CODE["validate"]},
            prices=ingested.result["prices"], source=path, validation=cfg.validation.model_dump())))
    if len(per_file) == 1:
        validate = per_file[0][1]
    else:
        validate = run_cached(combine_validations_task, output, "combine",
                              {"up": [v.key for _, v in per_file], "code": CODE["validate"]},
                              reports=[v.result for _, v in per_file], source=data)
        validate.cached = validate.cached and all(v.cached for _, v in per_file)
    ingest = StageRun(None, sha, all(i.cached for i, _ in per_file))
    fresh = sum(not v.cached for _, v in per_file)
    if fresh and len(per_file) > 1:
        log.info("ingested and validated %d of %d files (the rest cached)", fresh, len(per_file))
    report = validate.result
    publish_validation_table("forecast", report)
    log.info("rows read %(read)d = accepted %(accepted)d + quarantined %(quarantined)d", report["rows"])
    log.info("open not recorded (filled): %d rows; zero-volume days (kept): %d", report["open_missing"], report["zero_volume"])
    accept_batch(report, data)

    profile = run_cached(profile_prices_task, output, "profile", {"up": validate.key, "code": CODE["profile"]},
                         valid=report["valid"])
    champion, champion_bundle = current_champion(registry, "forecast")
    drift = run_cached(price_drift_task, output, "drift", {"up": validate.key, "champion": champion, "code": CODE["profile"]},
                       valid=report["valid"], champion_bundle=champion_bundle)
    publish_drift("forecast", drift.result, champion)

    prepare = run_cached(prepare_windows_task, output, "prepare",
                         {"up": validate.key, "prepare": cfg.prepare.model_dump(), "split": cfg.split.model_dump(),
                          "code": CODE["prepare"]},
                         valid=report["valid"], source=data, prepare=cfg.prepare.model_dump(), split=cfg.split.model_dump())
    prep = prepare.result
    publish_data_summary("forecast", {
        "files": len(files), "tickers": len(prep["tickers"]), "rows read": report["rows"]["read"],
        "rows accepted": report["rows"]["accepted"], "rows quarantined": report["rows"]["quarantined"],
        "Open not recorded (filled)": report["open_missing"], "zero-volume days (kept)": report["zero_volume"],
        **{f"{k} windows": v for k, v in prep["windows"].items()},
        "lookback / horizon (days)": f"{prep['lookback']} / {prep['horizon']}",
        "tickers left out (too few rows)": ", ".join(prep["skipped"]) or "none"})
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
    published = publish_forecast_task(info, train.result["weights"], prep["scalers"], profile.result,
                                      evaluation.result["plots"], output, registry, train.key)
    decision = gate_forecast_task(registry, published["version"], metrics, report["valid"], prep["windows_path"],
                                  prep["series"], evaluation.result["predictions"], cfg.prepare.model_dump(),
                                  cfg.gate.margin, force)
    pooled = lambda name: {k: metrics[name]["overall"][k] for k in FORECAST_KEYS}  # noqa: E731
    stages = {"ingest": ingest, "validate": validate, "profile": profile, "prepare": prepare, "train": train, "evaluate": evaluation}
    summary = {
        **release_summary(published, registry, decision, drift.result, champion),
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
    log.info(release_line(summary))
    return summary
