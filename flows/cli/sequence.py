"""`lstm-pipeline sequence`: train."""
from __future__ import annotations

from pathlib import Path

import typer

from .invoke import invoke_flow, load_flow
from .options import DebugOpt, JsonOpt

app = typer.Typer(help="Sequence classification: sequences [N, steps, features] -> LSTM classifier "
                       "(`digits`: 8x8 digit images read one row per step).", no_args_is_help=True)


def _show(summary: dict) -> None:
    typer.echo(f"  test accuracy  {summary['accuracy']:.4f} on {summary['test_sequences']} sequences "
               f"({summary['classes']} classes)")


@app.command("train")
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
        from tasks.sequence.config import SequenceConfig

        cfg = configs.load_config(SequenceConfig, config or "digits", "sequence")
        return load_flow("flows.sequence:sequence_training", debug)(data=data, config=cfg, output=str(output))

    invoke_flow(go, debug=debug, show=_show, as_json=as_json)
