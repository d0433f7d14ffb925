"""`lstm-pipeline forecast`: train, predict."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from .invoke import invoke_flow
from .options import DebugOpt, ForceOpt, JsonOpt, RegistryOpt, RunnerOpt, VersionOpt, WorkersOpt
from .registry import resolve_bundle
from .training import show_outcome, training_run

app = typer.Typer(help="Forecast: daily OHLCV prices (.csv, .txt, .csv.gz, .parquet; a folder, glob or URL) -> LSTM regressor.",
                  no_args_is_help=True)


def _forecast_line(label: str, m: dict) -> str:
    return f"  {label:<22} MASE {m['mase']:.3f}  sMAPE {m['smape']:.2f}%  RMSE {m['rmse']:.4g}  MAE {m['mae']:.4g}"


def _show_training(summary: dict) -> None:
    typer.echo("Forecast model published.")
    typer.echo(f"  bundle         {summary['bundle']}")
    r, w = summary["rows"], summary["windows"]
    typer.echo(f"  rows           read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']}")
    typer.echo(f"  windows        train {w['train']}, validation {w['val']}, test {w['test']} ({summary['tickers']} ticker(s))")
    typer.echo("  test part, original units, pooled over tickers and steps:")
    typer.echo(_forecast_line("LSTM", summary["metrics"]))
    for name, m in summary["baselines"].items():
        best = " (best baseline)" if name == summary["best_baseline"] else ""
        typer.echo(_forecast_line(name.replace("_", " "), m) + best)
    if summary.get("intervals"):
        i = summary["intervals"]
        typer.echo(f"  LSTM {i['level']:.0%} interval: covers {i['coverage']:.1%} of test values; width "
                   f"{i['scaled_width']:.2f} naive MAE, {i['relative_width']:.0%} of the actual (median)")
    show_outcome(summary)


@app.command("train")
def forecast_train(
    data: str = typer.Option(..., "--data", help="Daily prices: a .csv, .txt, .csv.gz or .parquet file (any common column names), a folder of them, a glob or a URL."),
    config: str | None = typer.Option(None, "--config", help="Config file (YAML/JSON) or a named config: default, article, multi."),
    output: Path = typer.Option(Path("outputs/forecast"), "--output", help="Folder for stage outputs and bundles."),
    registry: str | None = RegistryOpt,
    force: bool = ForceOpt,
    init_from: str | None = typer.Option(None, "--init-from", help="Start from a published model: a bundle folder or "
                                         "a version of --registry (fine-tuned; train.fine_tune false: used as it is)."),
    runner: str = RunnerOpt,
    workers: int | None = WorkersOpt,
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Run the forecast flow: ingest, validate, prepare windows, train, evaluate, publish."""
    from tasks.forecast.prices import read_prices

    def preflight(path: str) -> None:  # read as the flow reads: the config's ingest mapping (about 1 s for 40 histories)
        from flows.config import ForecastConfig, load_config

        read_prices(path, load_config(ForecastConfig, config, "forecast").ingest)

    run = training_run("forecast", preflight, data, config, output, debug, registry, force,
                       init_from=init_from, runner=runner, workers=workers)
    invoke_flow(run, debug=debug, show=_show_training, as_json=as_json)


@app.command("predict")
def forecast_predict(
    bundle: Path | None = typer.Option(None, "--bundle", help="A published forecast bundle folder (default: the registry's champion)."),
    registry: str | None = typer.Option(None, "--registry", help="Model registry (default outputs/forecast/registry)."),
    version: str | None = VersionOpt,
    data: str = typer.Option(..., "--data", help="Recent prices: a file (.csv, .txt, .csv.gz, .parquet; a long table of tickers too), a folder or a glob."),
    debug: bool = DebugOpt,
):
    """Forecast the next `horizon` values after the last row: one JSON object a line,
    {"ticker", "date", "step", "<target>", "p10", "p90"} with dates on the following business
    days; `<target>` is the median, p10 and p90 the 80 % interval (a model with quantiles)."""
    from lstm_models.forecaster import ForecastPredictor
    from tasks.forecast.predict import bundle_ingest, history_for_forecast
    from tasks.forecast.prices import read_prices
    from tasks.shared.errors import DataError

    def go():
        found = resolve_bundle("forecast", bundle, registry, version)
        predictor = ForecastPredictor.load(found)
        histories = history_for_forecast(read_prices(data, bundle_ingest(found)), predictor.columns,  # training's mapping
                                         predictor.history_needed, predictor.open_fill)
        for ticker, rows in histories.items():
            try:
                lines = predictor.forecast(rows, ticker)
            except ValueError as exc:
                raise DataError(rows["source_file"].iloc[0], "cannot forecast", str(exc)) from None
            for line in lines:
                typer.echo(json.dumps(line))

    invoke_flow(go, debug=debug)
