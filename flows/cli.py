"""`lstm-pipeline`: train and predict from the command line.

Contract (scripts depend on it): with --json the last stdout line of `train` is one JSON
object; `predict` writes one JSON object a line; bad input exits with code 2 and a one-line
message on stderr naming the file, row and rule (a traceback only with --debug).
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import typer

from tasks.shared.runners import RUNNER_HELP

# Set before Prefect is imported: the ephemeral API server is slow to start on small machines.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

EXIT_BAD_INPUT = 2

app = typer.Typer(help="Prefect pipelines from raw reviews or stock prices to a published LSTM model.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
sentiment_app = typer.Typer(help="Sentiment: reviews (fastText, CSV, Parquet) -> LSTM classifier.", no_args_is_help=True)
app.add_typer(sentiment_app, name="sentiment")
forecast_app = typer.Typer(help="Forecast: daily OHLCV prices (CSV, .csv.gz, folder, glob) -> LSTM regressor.",
                           no_args_is_help=True)
app.add_typer(forecast_app, name="forecast")
sequence_app = typer.Typer(help="Sequence classification: sequences [N, steps, features] -> LSTM classifier "
                                "(`digits`: 8x8 digit images read one row per step).", no_args_is_help=True)
app.add_typer(sequence_app, name="sequence")
registry_app = typer.Typer(help="The model registry: versions, the champion, manual promotion and rollback.",
                           no_args_is_help=True)
app.add_typer(registry_app, name="registry")

DebugOpt = typer.Option(False, "--debug", help="Show full tracebacks and debug logs.")
RegistryOpt = typer.Option(None, "--registry", help="Model registry: a folder or fsspec URL (default <output>/registry).")
VersionOpt = typer.Option(None, "--version", help="Registry version to use (default: the champion).")
ForceOpt = typer.Option(False, "--force", help="Promote the new model to champion even if the gate says no.")
RunnerOpt = typer.Option("local", "--runner", help=RUNNER_HELP)
WorkersOpt = typer.Option(None, "--workers", min=1, help="Processes of --runner dask/processes (default: one a core).")
JsonOpt = typer.Option(False, "--json", help="Print a JSON summary as the last stdout line.")


class _NoTracebacks(logging.Filter):
    """Keep the console readable for user errors: the message stays, the traceback goes
    (the Prefect API and UI still receive the full record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        if isinstance(record.msg, str) and "Traceback" in record.msg:
            record.msg = record.msg.split("Traceback")[0].rstrip()
        return True


def _quiet_console_tracebacks() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [l for l in logging.Logger.manager.loggerDict.values() if isinstance(l, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(_NoTracebacks())


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def run_guarded(fn, debug: bool):
    """Run fn; user errors (lstm_models.errors.UserError: bad data, config, bundle, registry)
    become exit code 2 with one clear line."""
    from lstm_models.errors import UserError

    try:
        return fn()
    except UserError as exc:
        if debug:
            raise
        fail(str(exc))


def run_training(kind: str, preflight, data: str, config: str | None, output: Path, debug: bool,
                 registry: str | None = None, force: bool = False, sections: dict | None = None, **options) -> dict:
    """Check the input and the config before the Prefect server starts (fail fast), then run
    the kind's training flow; user errors become exit code 2. sections: {section: {key: value}}
    set over the config (what a command-line flag stands for)."""
    import importlib

    from flows import config as configs
    from tasks.shared.fetch import is_url

    def go():
        from tasks.shared.runners import check_runner

        check_runner(options.get("runner"))
        if not is_url(data):  # a URL is fetched (with retries) inside the flow
            preflight(data)
        cls = {"sentiment": configs.SentimentConfig, "forecast": configs.ForecastConfig}[kind]
        cfg = configs.load_config(cls, config, kind)
        for name, values in (sections or {}).items():
            section = getattr(cfg, name)
            cfg = cfg.model_copy(update={name: section.model_validate({**section.model_dump(), **values})})
        flow = getattr(importlib.import_module(f"flows.{kind}"), f"{kind}_training")
        if not debug:
            _quiet_console_tracebacks()
        return flow(data=data, config=cfg, output=str(output), registry=registry, force=force, **options)

    return run_guarded(go, debug)


def _finish(summary: dict, as_json: bool) -> None:
    """The end of both train summaries: cache use, the gate's answer, the JSON line."""
    typer.echo(f"  cached stages  {', '.join(summary['cached']) or 'none'}   ({summary['seconds']:.1f} s)")
    verdict = "promoted to champion" if summary["promoted"] else f"not promoted; champion {summary['champion'] or 'unset'}"
    typer.echo(f"  version        {summary['version']} in {summary['registry']}: {verdict}")
    for reason in summary["gate"]:
        typer.echo(f"    - {reason}")
    if as_json:
        typer.echo(json.dumps(summary))


def resolve_bundle(kind: str, bundle: Path | None, registry: str | None, version: str | None) -> Path:
    """The bundle to predict with: --bundle as given, else a registry version (default: the
    champion) of `--registry` (default outputs/<kind>/registry)."""
    from tasks.shared.registry import Registry

    if bundle is not None:
        return bundle
    from tasks.shared.registry import default_output, default_registry

    return Registry(registry or default_registry(default_output(kind))).resolve(kind, version)[1]


def _summary_line(label: str, m: dict) -> str:
    return f"  {label:<14} accuracy {m['accuracy']:.4f}  f1 {m['f1']:.4f}  roc_auc {m['roc_auc']:.4f}"


@sentiment_app.command("train")
def sentiment_train(
    data: str = typer.Option(..., "--data", help="Reviews: fastText .txt/.bz2/.gz, CSV or Parquet; a path or a URL."),
    config: str | None = typer.Option(None, "--config", help="Config file (YAML/JSON) or a named config: default, article."),
    output: Path = typer.Option(Path("outputs/sentiment"), "--output", help="Folder for stage outputs and bundles."),
    registry: str | None = RegistryOpt,
    force: bool = ForceOpt,
    runner: str = RunnerOpt,
    workers: int | None = WorkersOpt,
    unlabelled: str | None = typer.Option(None, "--unlabelled", help="Texts without labels (one a line) to pretrain "
                                          "the model on as a language model first (sets pretrain.enabled)."),
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Run the sentiment flow: ingest, validate, tokenize, train, evaluate, publish."""
    from tasks.sentiment.ingest import check_input_file

    def preflight(path):
        check_input_file(path)
        if unlabelled:
            check_input_file(unlabelled)

    summary = run_training("sentiment", preflight, data, config, output, debug, registry, force,
                           sections={"pretrain": {"enabled": True, "unlabelled": unlabelled}} if unlabelled else None,
                           runner=runner, workers=workers)
    typer.echo("Sentiment model published.")
    typer.echo(f"  bundle         {summary['bundle']}")
    r = summary["rows"]
    typer.echo(f"  rows           read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']}")
    typer.echo(_summary_line("LSTM", summary["metrics"]))
    typer.echo(_summary_line("TF-IDF + LR", summary["baseline"]))
    _finish(summary, as_json)


@sentiment_app.command("search")
def sentiment_search(
    data: str = typer.Option(..., "--data", help="Reviews: fastText .txt/.bz2/.gz, CSV or Parquet; a path or a URL."),
    config: str | None = typer.Option(None, "--config", help="Base config (YAML/JSON) or a named config: default."),
    output: Path = typer.Option(Path("outputs/sentiment"), "--output", help="Folder for stage outputs and the study."),
    trials: int = typer.Option(20, "--trials", min=1, help="Finished trials the study should have (resumes)."),
    study: str = typer.Option("sentiment-search", "--study", help="Study name: <output>/search/<study>.db"),
    timeout_minutes: float | None = typer.Option(None, "--timeout-minutes", help="Start no new trial after this."),
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Search model and training settings with Optuna on the validation split; writes the best config."""
    from flows import config as configs
    from tasks.sentiment.ingest import check_input_file
    from tasks.shared.fetch import is_url

    def go():
        if not is_url(data):
            check_input_file(data)
        cfg = configs.load_config(configs.SentimentConfig, config, "sentiment")
        from flows.search import sentiment_search as search_flow

        if not debug:
            _quiet_console_tracebacks()
        return search_flow(data=data, config=cfg, output=str(output), trials=trials, study=study,
                           timeout_minutes=timeout_minutes)

    summary = run_guarded(go, debug)
    typer.echo(f"Search {summary['study']}: trials {summary['trials']}")
    for name in ("best", "default"):
        r = summary[name]
        if r:
            typer.echo(f"  {name:<8} trial {r['trial']}: validation loss {r['val_loss']}, accuracy {r['val_accuracy']:.4f}")
    typer.echo(f"  config   {summary['best_config']}")
    if as_json:
        typer.echo(json.dumps(summary))


@sentiment_app.command("predict")
def sentiment_predict(
    bundle: Path | None = typer.Option(None, "--bundle", help="A published bundle folder (default: the registry's champion)."),
    registry: str | None = typer.Option(None, "--registry", help="Model registry (default outputs/sentiment/registry)."),
    version: str | None = VersionOpt,
    input: Path = typer.Option(..., "--input", help="Text file, one review a line (plain, .bz2, .gz; '-' for stdin; a "
                               "leading __label__N is ignored), or a CSV/Parquet file with a text column."),
    text_column: str = typer.Option("text", "--text-column", help="The text column of a CSV/Parquet input."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Scoring processes (default: one a core; one "
                                       "for an input under 1 MB)."),
    debug: bool = DebugOpt,
):
    """Classify each line, streaming: one JSON object per input line, in order,
    {"line": n, "label": 0|1, "probability": p} (1 = positive); a line that cannot be classified
    (blank, no text, not UTF-8) gives {"line": n, "label": null, "probability": null, "error": why}.
    Blank lines after the last text end the file and give no output."""
    from tasks.sentiment.stream import default_workers, json_records, looks_like_bundle, predictions

    def go():
        folder = resolve_bundle("sentiment", bundle, registry, version)
        predictor = None
        if (workers or default_workers(input)) == 1 or not looks_like_bundle(folder, "sentiment"):
            from lstm_models.predict import SentimentPredictor

            predictor = SentimentPredictor.load(folder)  # here: the model runs in this process, or the bundle is bad
        out = sys.stdout
        for chunk, labels, prob in predictions(str(input), folder, text_column, workers, predictor):
            out.write("".join(json.dumps(r) + "\n" for r in json_records(chunk, labels, prob)))
        out.flush()

    run_guarded(go, debug)


def _forecast_line(label: str, m: dict) -> str:
    return f"  {label:<22} MASE {m['mase']:.3f}  sMAPE {m['smape']:.2f}%  RMSE {m['rmse']:.4g}  MAE {m['mae']:.4g}"


@forecast_app.command("train")
def forecast_train(
    data: str = typer.Option(..., "--data", help="Prices in the Yahoo layout: a CSV, a .csv.gz, a folder of them, a glob or a URL."),
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

    # read_prices: about 1 s for 40 histories
    summary = run_training("forecast", read_prices, data, config, output, debug, registry, force,
                           init_from=init_from, runner=runner, workers=workers)
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
    _finish(summary, as_json)


@forecast_app.command("predict")
def forecast_predict(
    bundle: Path | None = typer.Option(None, "--bundle", help="A published forecast bundle folder (default: the registry's champion)."),
    registry: str | None = typer.Option(None, "--registry", help="Model registry (default outputs/forecast/registry)."),
    version: str | None = VersionOpt,
    data: str = typer.Option(..., "--data", help="Recent prices (Yahoo layout): a CSV or .csv.gz (a folder or glob: each ticker)."),
    debug: bool = DebugOpt,
):
    """Forecast the next `horizon` values after the last row: one JSON object a line,
    {"ticker", "date", "step", "<target>"} with dates on the following business days."""
    from lstm_models.forecaster import ForecastPredictor
    from tasks.forecast.predict import history_for_forecast
    from tasks.forecast.prices import read_prices
    from tasks.shared.errors import DataError

    def go():
        predictor = ForecastPredictor.load(resolve_bundle("forecast", bundle, registry, version))
        histories = history_for_forecast(read_prices(data), predictor.columns, predictor.history_needed, predictor.open_fill)
        for ticker, rows in histories.items():
            try:
                lines = predictor.forecast(rows, ticker)
            except ValueError as exc:
                raise DataError(rows["source_file"].iloc[0], "cannot forecast", str(exc)) from None
            for line in lines:
                typer.echo(json.dumps(line))

    run_guarded(go, debug)


@sequence_app.command("train")
def sequence_train(
    data: str = typer.Option("digits", "--data", help="'digits' (scikit-learn's 8x8 digits) or an .npz with x [N, T, F] "
                                                      "and y [N]."),
    config: str | None = typer.Option(None, "--config", help="Config file (YAML/JSON) or a named config: digits."),
    output: Path = typer.Option(Path("outputs/sequence"), "--output", help="Folder for stage outputs."),
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Train and test a sequence classifier; prints the test accuracy."""
    def go():
        from flows import config as configs
        from flows.sequence import sequence_training
        from tasks.sequence.config import SequenceConfig

        cfg = configs.load_config(SequenceConfig, config or "digits", "sequence")
        if not debug:
            _quiet_console_tracebacks()
        return sequence_training(data=data, config=cfg, output=str(output))

    summary = run_guarded(go, debug)
    typer.echo(f"  test accuracy  {summary['accuracy']:.4f} on {summary['test_sequences']} sequences "
               f"({summary['classes']} classes)")
    if as_json:
        typer.echo(json.dumps(summary))


KindOpt = typer.Option(..., "--kind", help="sentiment or forecast")
RegistryRootOpt = typer.Option(..., "--registry", help="Model registry: a folder or fsspec URL.")
ReasonOpt = typer.Option(..., "--reason", help="Why (recorded in the registry's decisions/).")


def _registry(kind: str, root: str):
    from tasks.shared.registry import Registry

    if kind not in ("sentiment", "forecast"):
        fail(f"--kind must be sentiment or forecast, got {kind!r}")
    return Registry(root)


def _headline(metrics: dict) -> dict:
    """The LSTM's pooled test scores from a version's metrics.json (numbers only)."""
    lstm = metrics.get("lstm", {})
    lstm = lstm.get("overall", lstm)
    return {k: v for k, v in lstm.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _emit(table: list[tuple[str, str]], payload: dict, as_json: bool) -> None:
    for label, value in table:
        typer.echo(f"  {label:<14} {value}")
    if as_json:
        typer.echo(json.dumps(payload, default=str))


@registry_app.command("list")
def registry_list(kind: str = KindOpt, registry: str = RegistryRootOpt, as_json: bool = JsonOpt,
                  debug: bool = DebugOpt):
    """Every complete version, oldest first, with its metrics; the champion marked."""
    def go():
        reg = _registry(kind, registry)
        pointer = reg.champion(kind)
        champion = pointer["version"] if pointer else None
        versions = [{"version": v, "champion": v == champion, "created": reg.info(kind, v).get("published_at"),
                     "metrics": _headline(reg.read_json(kind, v, "metrics.json"))} for v in reg.versions(kind)]
        return {"kind": kind, "champion": champion, "versions": versions}

    out = run_guarded(go, debug)
    typer.echo(f"{kind} registry {registry}: {len(out['versions'])} versions, champion {out['champion'] or 'unset'}")
    for v in out["versions"]:
        scores = "  ".join(f"{k} {val:.4f}" for k, val in v["metrics"].items() if isinstance(val, float))
        typer.echo(f"  {'*' if v['champion'] else ' '} {v['version']:<14} {v['created'] or '':<26} {scores}")
    if as_json:
        typer.echo(json.dumps(out, default=str))


@registry_app.command("show")
def registry_show(version: str = typer.Argument(..., help="A version, e.g. v0003"), kind: str = KindOpt,
                  registry: str = RegistryRootOpt, as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """A version's lineage, metrics and the gate's decision on it."""
    def go():
        reg = _registry(kind, registry)
        reg.local_path(kind, version)  # an unknown version: exit 2, naming the registry and the version
        pointer = reg.champion(kind)
        decisions = [d for d in reg.decisions(kind) if d.get("candidate") == version]
        return {"kind": kind, "version": version, "champion": bool(pointer and pointer["version"] == version),
                "created": reg.info(kind, version).get("published_at"), "uri": reg.uri(kind, version),
                "metrics": reg.read_json(kind, version, "metrics.json"),
                "lineage": reg.read_json(kind, version, "lineage.json"),
                "decision": decisions[-1] if decisions else None, "decisions": len(decisions)}

    out = run_guarded(go, debug)
    d = out["decision"]
    _emit([("version", f"{version} ({'champion' if out['champion'] else 'not champion'})"),
           ("created", out["created"]), ("bundle", out["uri"]),
           ("source", out["lineage"].get("source")), ("metrics", json.dumps(_headline(out["metrics"]))),
           ("decision", "none recorded" if d is None else ("promoted" if d.get("promoted") else "not promoted")
            + "; " + "; ".join(d.get("reasons", [])))], out, as_json)


@registry_app.command("promote")
def registry_promote(version: str = typer.Argument(..., help="The version to make champion"), kind: str = KindOpt,
                     registry: str = RegistryRootOpt, reason: str = ReasonOpt, as_json: bool = JsonOpt,
                     debug: bool = DebugOpt):
    """Make a version the champion by hand (recorded with the reason)."""
    out = run_guarded(lambda: _registry(kind, registry).promote(kind, version, reason), debug)
    _emit([("champion", out["champion"]), ("previous", out["previous"] or "none")], out, as_json)


@registry_app.command("rollback")
def registry_rollback(kind: str = KindOpt, registry: str = RegistryRootOpt, reason: str = ReasonOpt,
                      as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """Return to the champion before the current one (recorded with the reason)."""
    out = run_guarded(lambda: _registry(kind, registry).rollback(kind, reason), debug)
    _emit([("champion", out["champion"]), ("previous", out["previous"] or "none")], out, as_json)


@app.command("drift")
def drift(
    kind: str = KindOpt,
    data: str = typer.Option(..., "--data", help="Reviews (fastText or one text a line, CSV/Parquet) or price files."),
    registry: str = RegistryRootOpt,
    version: str | None = VersionOpt,
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Compare a file with the champion's (or --version's) training data: the drift checks the flows run."""
    def go():
        reg = _registry(kind, registry)
        name, bundle = reg.resolve(kind, version)
        if kind == "sentiment":
            from tasks.sentiment.profile import file_drift
        else:
            from tasks.forecast.profile import file_drift
        return {"kind": kind, "data": data, "against": name, **file_drift(data, str(bundle))}

    out = run_guarded(go, debug)
    if out.get("skipped"):
        typer.echo(f"{kind} drift of {data} against {out['against']}: not computed ({out['skipped']})")
    else:
        typer.echo(f"{kind} drift of {data} against {out['against']}: "
                   + ("DRIFT in " + ", ".join(out["flagged_checks"]) if out["flagged"] else "no drift flagged"))
        for c in out["checks"].values():
            typer.echo(f"  {'!' if c['flagged'] else ' '} {c['check']:<24} {c['stat']:<10} {c['value']!s:<10} "
                       f"threshold {c['threshold']}")
    if as_json:
        typer.echo(json.dumps(out, default=str))


@app.command("batch-predict")
def batch_predict(
    kind: str = KindOpt,
    data: str = typer.Option(..., "--data", help="Texts (one a line, CSV/Parquet column) or price files; a path or URL."),
    registry: str = typer.Option(None, "--registry", help="Model registry (default outputs/<kind>/registry)."),
    version: str | None = VersionOpt,
    output: Path = typer.Option(Path("outputs/predictions"), "--output", help="Folder for the predictions Parquet."),
    text_column: str = typer.Option("text", "--text-column", help="CSV/Parquet text column (sentiment)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Scoring processes for texts (default: one a core; "
                                       "one for an input under 1 MB), or the size of --runner dask's cluster."),
    runner: str = RunnerOpt,
    as_json: bool = JsonOpt,
    debug: bool = DebugOpt,
):
    """Run the batch-prediction flow: predictions as Parquet, each row stamped with the model version."""
    def go():
        if kind not in ("sentiment", "forecast"):
            fail(f"--kind must be sentiment or forecast, got {kind!r}")
        from flows.predict import batch_prediction

        if not debug:
            _quiet_console_tracebacks()
        return batch_prediction(kind=kind, data=data, registry=registry, version=version, output=str(output),
                                text_column=text_column, workers=workers, runner=runner)

    out = run_guarded(go, debug)
    _emit([("predictions", out["predictions"]), ("rows", out["rows"]), ("version", out["version"])], out, as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
