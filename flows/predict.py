"""Batch prediction flow: new data in, predictions out as Parquet, made by the registry's
champion (or a named version), each row stamped with the model version."""
from __future__ import annotations

from typing import Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.logging import get_run_logger

from tasks.forecast.predict import predict_forecast
from tasks.sentiment.predict import predict_sentiment
from tasks.shared.batch import summary_markdown
from tasks.shared.fetch import fetch_input, is_url
from tasks.shared.registry import default_output, default_registry
from tasks.shared.runners import shard_runner

from .common import PREDICTION_TIMEOUT_S


@task(name="predict-batch")
def predict_batch(kind: str, data: str, registry: str, version: str | None, output: str, text_column: str,
                  workers: int | None) -> dict:
    if kind == "sentiment":
        return predict_sentiment(data, registry, version, output, text_column, workers)
    return predict_forecast(data, registry, version, output)


@flow(name="batch-prediction", timeout_seconds=PREDICTION_TIMEOUT_S)
def batch_prediction(
    kind: Literal["sentiment", "forecast"] = "sentiment",
    data: str = "data/amazon_polarity_head6459.ft.txt.bz2",
    registry: str | None = None,
    version: str | None = None,
    output: str = "outputs/predictions",
    text_column: str = "text",
    workers: int | None = None,
    runner: str | None = None,
) -> dict:
    """kind: which model; data: texts (one a line, or a CSV/Parquet column) or price files;
    registry: default outputs/<kind>/registry; version: default the champion; workers:
    scoring processes for texts (default one a core; one for an input under 1 MB), or the Dask
    cluster's size; runner: where the chunks are scored: local (default), dask, tcp://HOST:PORT
    or processes (tasks/shared/runners.py)."""
    registry = registry or default_registry(default_output(kind))
    if is_url(data):
        data = fetch_input(data, output)
    with shard_runner(runner, workers):
        result = predict_batch(kind, data, registry, version, output, text_column, workers)
    create_markdown_artifact(key=f"{kind}-batch-prediction", markdown=summary_markdown(result, registry),
                             description=f"{result['rows']} predictions by {result['version']}")
    get_run_logger().info("%d predictions by %s written to %s", result["rows"], result["version"], result["predictions"])
    return result
