"""`lstm-pipeline sentiment`: train, search, predict."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .invoke import invoke_flow, load_flow
from .options import DebugOpt, ForceOpt, JsonOpt, RegistryOpt, RunnerOpt, VersionOpt, WorkersOpt
from .registry import resolve_bundle
from .training import show_outcome, training_run

app = typer.Typer(help="Sentiment: reviews (fastText, CSV, Parquet) -> LSTM classifier.", no_args_is_help=True)


def _summary_line(label: str, m: dict) -> str:
    return f"  {label:<14} accuracy {m['accuracy']:.4f}  f1 {m['f1']:.4f}  roc_auc {m['roc_auc']:.4f}"


def _show_training(summary: dict) -> None:
    typer.echo("Sentiment model published.")
    typer.echo(f"  bundle         {summary['bundle']}")
    r = summary["rows"]
    typer.echo(f"  rows           read {r['read']}, accepted {r['accepted']}, quarantined {r['quarantined']}")
    typer.echo(_summary_line("LSTM", summary["metrics"]))
    typer.echo(_summary_line("TF-IDF + LR", summary["baseline"]))
    show_outcome(summary)


@app.command("train")
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

    run = training_run("sentiment", preflight, data, config, output, debug, registry, force,
                       sections={"pretrain": {"enabled": True, "unlabelled": unlabelled}} if unlabelled else None,
                       runner=runner, workers=workers)
    invoke_flow(run, debug=debug, show=_show_training, as_json=as_json)


def _show_search(summary: dict) -> None:
    typer.echo(f"Search {summary['study']}: trials {summary['trials']}")
    for name in ("best", "default"):
        r = summary[name]
        if r:
            typer.echo(f"  {name:<8} trial {r['trial']}: validation loss {r['val_loss']}, accuracy {r['val_accuracy']:.4f}")
    typer.echo(f"  config   {summary['best_config']}")


@app.command("search")
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
        search_flow = load_flow("flows.search:sentiment_search", debug)
        return search_flow(data=data, config=cfg, output=str(output), trials=trials, study=study,
                           timeout_minutes=timeout_minutes)

    invoke_flow(go, debug=debug, show=_show_search, as_json=as_json)


@app.command("predict")
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

    invoke_flow(go, debug=debug)
