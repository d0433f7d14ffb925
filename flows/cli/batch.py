"""`lstm-pipeline batch-predict`: the batch-prediction flow, predictions as Parquet."""
from __future__ import annotations

from pathlib import Path

import typer

from .invoke import invoke_flow, load_flow
from .options import DebugOpt, JsonOpt, KindOpt, RunnerOpt, VersionOpt
from .registry import check_kind, show_table


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
        check_kind(kind)
        batch_prediction = load_flow("flows.predict:batch_prediction", debug)
        return batch_prediction(kind=kind, data=data, registry=registry, version=version, output=str(output),
                                text_column=text_column, workers=workers, runner=runner)

    def show(out):
        show_table([("predictions", out["predictions"]), ("rows", out["rows"]), ("version", out["version"])])

    invoke_flow(go, debug=debug, show=show, as_json=as_json)
