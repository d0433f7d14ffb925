"""Forecast flow: price files -> validated rows -> scaled windows -> LSTM -> evaluation -> bundle.

The same shape as the sentiment flow: each expensive stage is a cached task keyed on its inputs'
content, its config section and its code, so an unchanged re-run is all cache hits and a changed
window or model setting re-runs only what depends on it. Price files are ingested and validated
one by one (a new file re-runs only its own stages). The stages live in tasks/forecast/.
"""
from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task
from prefect.logging import get_run_logger

from tasks.forecast.config import ForecastConfig
from tasks.forecast.evaluate import evaluate_forecast_task
from tasks.forecast.gate import gate_forecast_task
from tasks.forecast.ingest import ingest_prices_task
from tasks.forecast.layouts import layout_note
from tasks.forecast.prepare import prepare_windows_task
from tasks.forecast.prices import list_price_files, prices_sha256
from tasks.forecast.profile import price_drift_task, profile_prices_task
from tasks.forecast.publish import publish_forecast_task
from tasks.forecast.results import PreparedWindows
from tasks.forecast.summary import data_summary, run_summary, version_info
from tasks.forecast.train import train_regressor_task
from tasks.forecast.validate import combine_validations_task, validate_prices_task
from tasks.shared.artifacts import publish_data_summary, publish_drift, publish_validation_table
from tasks.shared.caching import StageRun, run_stage, run_stages
from tasks.shared.events import training_completed_hook
from tasks.shared.hashing import json_sha256
from tasks.shared.registry import Registry
from tasks.shared.registry_checks import current_champion
from tasks.shared.results import Validation
from tasks.shared.runners import Runner, Workers, execution

from .common import TRAINING_TIMEOUT_S, accept_batch, after_run, release_line, release_summary, run_name, start_run

DEFAULT_DATA = "data/SBUX.csv"


@task(name="hash-prices")
def hash_prices(path: str) -> list[list[str]]:
    """[file, content hash (bytes and name)] of each price file: the roots of the cache keys, so
    a new or edited file re-runs only its own ingest and validation."""
    return [[str(f), prices_sha256(f)] for f in list_price_files(path)]


@flow(name="forecast-training", flow_run_name=run_name("forecast"), timeout_seconds=TRAINING_TIMEOUT_S,
      on_completion=[training_completed_hook("forecast")])  # batch prediction is triggered by its event
def forecast_training(
    data: str = DEFAULT_DATA, config: ForecastConfig = ForecastConfig(), output: str = "outputs/forecast",
    registry: str | None = None, force: bool = False, init_from: str | None = None, runner: Runner = None,
    workers: Workers = None,
) -> dict:
    """Train a volume forecaster from daily OHLCV price files and publish it to the registry.

    Args:
        data: Price files (.csv, .txt, .csv.gz, .parquet; one ticker each or a long table), a folder
            of them, a glob, or an http(s)/s3 URL.
        config: The pipeline's settings (sections as in configs/*.yaml).
        output: Folder for stage outputs, reports and the default registry.
        registry: Model registry root, a folder or fsspec URL (default `<output>/registry`).
        force: Promote the candidate to champion even when the gate says no.
        init_from: Start from a published model (a bundle folder, or a version of the registry)
            and fine-tune it (train.fine_tune false: use it as it is), for a ticker too short to
            teach a model alone.
        runner: Where each price file's ingest and validation run: local (default: in turn), dask
            (a local cluster of `workers` processes), tcp://HOST:PORT or processes.
        workers: Processes of the dask or processes runner (default: one a CPU core).
    """
    with execution(runner, workers, config.cache.shared):
        return _forecast_training(data, config, output, registry, force, init_from)


def _forecast_training(data: str, config: ForecastConfig, output: str, registry: str | None, force: bool,
                       init_from: str | None) -> dict:
    log = get_run_logger()
    data, registry = start_run(data, output, registry)
    start = str(Registry(registry).resolve("forecast", init_from)[1]) if init_from and not Path(init_from).is_dir() \
        else init_from
    t0 = time.perf_counter()
    cfg = config
    files = hash_prices(data)
    sha = json_sha256(sorted(file_sha for _, file_sha in files))

    # each file's ingest and validation: on the task runner at once (--runner dask), else in turn
    ingested = run_stages(ingest_prices_task, output, [{"source": path, "source_sha256": file_sha, "ingest": cfg.ingest}
                                                       for path, file_sha in files])
    notes = [f"{name}: {layout_note(lay)}" for i in ingested for name, lay in i.result.layout.items() if layout_note(lay)]
    for note in notes[:20]:  # files not in our own (Yahoo's) layout; all of them are in the validation report
        log.info("read %s", note)
    validated = run_stages(validate_prices_task, output, [
        {"prices": i.result.prices, "source": path, "validation": cfg.validation} for i, (path, _) in zip(ingested, files)])
    if len(validated) == 1:
        validate = validated[0]
    else:
        combined = run_stage(combine_validations_task, output, reports=[v.result for v in validated], source=data)
        validate = StageRun.all_of([*validated, combined], combined.key, combined.result)
    ingest = StageRun.all_of(ingested, sha)
    fresh = sum(not v.cached for v in validated)
    if fresh and len(validated) > 1:
        log.info("ingested and validated %d of %d files (the rest cached)", fresh, len(validated))
    validation: Validation = validate.result
    publish_validation_table("forecast", validation.report, cfg.docs)
    log.info("rows read %(read)d = accepted %(accepted)d + quarantined %(quarantined)d", validation.rows)
    log.info("open not recorded (filled): %d rows; zero-volume days (kept): %d", validation.report["open_missing"],
             validation.report["zero_volume"])
    accept_batch(validation, data)

    profile = run_stage(profile_prices_task, output, valid=validation.valid)
    champion, champion_bundle = current_champion(registry, "forecast")
    drift = run_stage(price_drift_task, output, valid=validation.valid, champion_bundle=champion_bundle)
    publish_drift("forecast", drift.result, champion)

    prepare = run_stage(prepare_windows_task, output, valid=validation.valid, source=data, prepare=cfg.prepare,
                        split=cfg.split, start_bundle=start)
    prep: PreparedWindows = prepare.result
    publish_data_summary("forecast", data_summary(len(files), validation, prep))
    if prep.skipped:
        log.warning("tickers left out (too few rows): %s", ", ".join(prep.skipped))
    train = run_stage(train_regressor_task, output, windows=prep.windows_path, model=cfg.model, train=cfg.train,
                      start_bundle=start)
    evaluation = run_stage(evaluate_forecast_task, output, windows=prep.windows_path, series=prep.series,
                           scalers=prep.scalers, weights=train.result.weights,
                           training_summary=train.result.summary, target=cfg.prepare.target, evaluate=cfg.evaluate)

    stages = {"ingest": ingest, "validate": validate, "profile": profile, "prepare": prepare, "train": train,
              "evaluate": evaluation}
    published = publish_forecast_task(version_info(cfg, data, sha, stages), train.result.weights, prep.scalers,
                                      profile.result, evaluation.result.plots, output, registry, train.key,
                                      cfg.docs)
    decision = gate_forecast_task(registry, published["version"], evaluation.result.metrics, validation.valid,
                                  prep.windows_path, prep.series, evaluation.result.predictions, cfg.prepare, cfg.gate,
                                  force)
    summary = run_summary(release_summary(published, registry, decision, drift.result, champion), stages,
                          time.perf_counter() - t0)
    log.info("test MASE: LSTM %.3f; %s; cached stages: %s", summary["metrics"]["mase"],
             ", ".join(f"{name} {m['mase']:.3f}" for name, m in summary["baselines"].items()),
             ", ".join(summary["cached"]) or "none")
    log.info(release_line(summary))
    return after_run(cfg.retention, output, registry, "forecast", summary, log)
