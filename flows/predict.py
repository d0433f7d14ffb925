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
from tasks.shared.runners import Runner, Workers, execution

from .common import PREDICTION_TIMEOUT_S, run_name


@task(name="predict-batch")
def predict_batch(kind: str, data: str, registry: str, version: str | None, output: str, text_column: str,
                  workers: int | None) -> dict:
    if kind == "sentiment":
        return predict_sentiment(data, registry, version, output, text_column, workers)
    return predict_forecast(data, registry, version, output)


@flow(name="batch-prediction", flow_run_name=run_name("predict-{kind}"), timeout_seconds=PREDICTION_TIMEOUT_S)
def batch_prediction(
    kind: Literal["sentiment", "forecast"] = "sentiment",
    data: str = "data/amazon_polarity_head6459.ft.txt.bz2",
    registry: str | None = None,
    version: str | None = None,
    output: str = "outputs/predictions",
    text_column: str = "text",
    workers: Workers = None,
    runner: Runner = None,
) -> dict:
    """Score a batch with a published model and write the predictions as Parquet.

    Args:
        kind: Which model: sentiment or forecast.
        data: Texts (one a line, or a CSV/Parquet column) or price files (a file, folder or glob).
        registry: The model registry (default `outputs/<kind>/registry`).
        version: The registry version to use (default: the champion).
        output: Folder for the predictions.
        text_column: The text column of a CSV or Parquet input.
        workers: Scoring processes for texts (default one a core; one for an input under 1 MB),
            or the size of the dask or processes runner.
        runner: Where the chunks are scored: local (default), dask, tcp://HOST:PORT or processes.
    """
    registry = registry or default_registry(default_output(kind))
    if is_url(data):
        data = fetch_input(data, output)
    with execution(runner, workers):
        result = predict_batch(kind, data, registry, version, output, text_column, workers)
    create_markdown_artifact(key=f"{kind}-batch-prediction", markdown=summary_markdown(result, registry),
                             description=f"{result['rows']} predictions by {result['version']}")
    get_run_logger().info("%d predictions by %s written to %s", result["rows"], result["version"], result["predictions"])
    return result
