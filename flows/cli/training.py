"""What `sentiment train` and `forecast train` share: the fail-fast run and the summary's end."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from .invoke import load_flow


def training_run(kind: str, preflight, data: str, config: str | None, output: Path, debug: bool,
                 registry: str | None = None, force: bool = False, sections: dict | None = None,
                 **options) -> Callable[[], dict]:
    """The run for invoke_flow: check the input and the config before the Prefect server starts
    (fail fast), then run the kind's training flow. sections: {section: {key: value}} set over
    the config (what a command-line flag stands for)."""
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
        flow = load_flow(f"flows.{kind}:{kind}_training", debug)
        return flow(data=data, config=cfg, output=str(output), registry=registry, force=force, **options)

    return go


def show_outcome(summary: dict) -> None:
    """The end of both train summaries: cache use and the gate's answer."""
    typer.echo(f"  cached stages  {', '.join(summary['cached']) or 'none'}   ({summary['seconds']:.1f} s)")
    verdict = "promoted to champion" if summary["promoted"] else f"not promoted; champion {summary['champion'] or 'unset'}"
    typer.echo(f"  version        {summary['version']} in {summary['registry']}: {verdict}")
    for reason in summary["gate"]:
        typer.echo(f"    - {reason}")
