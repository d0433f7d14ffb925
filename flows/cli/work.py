"""`lstm-pipeline work prune`: stage folders and token shards the last runs did not use."""
from __future__ import annotations

from pathlib import Path

import typer

from .invoke import fail, invoke_flow
from .options import DebugOpt, JsonOpt

app = typer.Typer(help="The stage folders under <output>/work/ (cached stage outputs, token shards).",
                  no_args_is_help=True)


@app.command("prune")
def work_prune(output: Path = typer.Option(..., "--output", help="A run's output folder (holding work/)."),
               keep_runs: int | None = typer.Option(None, "--keep-runs", min=1,
                                                    help="Keep what the last N runs used."),
               max_age_days: float | None = typer.Option(None, "--max-age-days", min=0.001,
                                                         help="Also remove what was last used longer ago than this."),
               dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
               as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """Remove stage folders, checkpoints and token shards that none of the last --keep-runs runs
    used (and, with --max-age-days, those last used longer ago)."""
    def go():
        from tasks.shared.retention import prune_work

        if keep_runs is None and max_age_days is None:
            fail("give --keep-runs, --max-age-days or both")
        if not (output / "work").is_dir():
            fail(f"{output}: no work/ folder (not a run's output folder)")
        return prune_work(output, keep_runs, max_age_days, dry_run)

    def show(out):
        verb = "would remove" if dry_run else "removed"
        typer.echo(f"{output}/work: {verb} {len(out['removed'])} entries ({out['bytes'] / 2**20:.1f} MiB) "
                   f"not used by the kept runs ({out['runs']} runs recorded)")
        for entry in out["removed"][:50] if dry_run else []:
            typer.echo(f"  {entry}")

    invoke_flow(go, debug=debug, show=show, as_json=as_json)
