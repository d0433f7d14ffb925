"""Options several commands share."""
from __future__ import annotations

import typer

from tasks.shared.runners import RUNNER_HELP

DebugOpt = typer.Option(False, "--debug", help="Show full tracebacks and debug logs.")
RegistryOpt = typer.Option(None, "--registry", help="Model registry: a folder or fsspec URL (default <output>/registry).")
VersionOpt = typer.Option(None, "--version", help="Registry version to use (default: the champion).")
ForceOpt = typer.Option(False, "--force", help="Promote the new model to champion even if the gate says no.")
RunnerOpt = typer.Option("local", "--runner", help=RUNNER_HELP)
WorkersOpt = typer.Option(None, "--workers", min=1, help="Processes of --runner dask/processes (default: one a core).")
JsonOpt = typer.Option(False, "--json", help="Print a JSON summary as the last stdout line.")

KindOpt = typer.Option(..., "--kind", help="sentiment or forecast")
RegistryRootOpt = typer.Option(..., "--registry", help="Model registry: a folder or fsspec URL.")
ReasonOpt = typer.Option(..., "--reason", help="Why (recorded in the registry's decisions/).")
