"""`lstm-pipeline`: train and predict from the command line.

Contract (scripts depend on it): with --json the last stdout line of `train` is one JSON
object; `predict` writes one JSON object a line; bad input exits with code 2 and a one-line
message on stderr naming the file, row and rule (a traceback only with --debug).
"""
from __future__ import annotations

import os

import typer

from . import batch, drift, forecast, registry, sentiment, sequence, work
from .invoke import EXIT_BAD_INPUT, fail, invoke_flow

__all__ = ["EXIT_BAD_INPUT", "app", "fail", "invoke_flow", "main"]

app = typer.Typer(help="Prefect pipelines from raw reviews or stock prices to a published LSTM model.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(sentiment.app, name="sentiment")
app.add_typer(forecast.app, name="forecast")
app.add_typer(sequence.app, name="sequence")
app.add_typer(registry.app, name="registry")
app.add_typer(work.app, name="work")
app.command("drift")(drift.drift)
app.command("batch-predict")(batch.batch_predict)


def main() -> None:
    # Before Prefect is imported (the commands import it lazily): the ephemeral API server is
    # slow to start on small machines.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    app()
