"""Run a command's work guarded: user errors exit 2 with one line; the JSON summary comes last."""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

EXIT_BAD_INPUT = 2
T = TypeVar("T")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def load_flow(spec: str, debug: bool):
    """The flow at "module:name" (importing it loads Prefect); without --debug, Prefect's console
    handlers then drop tracebacks."""
    module, _, name = spec.partition(":")
    flow = getattr(importlib.import_module(module), name)
    if not debug:
        from .logs import quiet_console_tracebacks

        quiet_console_tracebacks()
    return flow


def invoke_flow(run: Callable[[], T], *, debug: bool, show: Callable[[T], None] | None = None,
                as_json: bool = False) -> T:
    """run(); a user error (lstm_models.errors.UserError: bad data, config, bundle, registry)
    becomes exit code 2 with one clear line on stderr (raised as it is with --debug). Then
    show(result) prints the human lines and, with --json, the result is the last stdout line."""
    from lstm_models.errors import UserError

    try:
        out = run()
    except UserError as exc:
        if debug:
            raise
        fail(str(exc))
    if show is not None:
        show(out)
    if as_json:
        typer.echo(json.dumps(out, default=str))
    return out
