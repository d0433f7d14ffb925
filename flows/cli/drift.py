"""`lstm-pipeline drift`: a file against the champion's training data, as a terminal table."""
from __future__ import annotations

import typer

from .invoke import invoke_flow
from .options import DebugOpt, JsonOpt, KindOpt, RegistryRootOpt, VersionOpt
from .registry import open_registry


def show_drift(kind: str, data: str, out: dict) -> None:
    """One verdict line, then one line a check: the console's short form (the Prefect artifact's
    markdown is tasks.shared.drift.drift_markdown). kind and data as given: the report's own
    "kind" is "text" or "series"."""
    if out.get("skipped"):
        typer.echo(f"{kind} drift of {data} against {out['against']}: not computed ({out['skipped']})")
        return
    typer.echo(f"{kind} drift of {data} against {out['against']}: "
               + ("DRIFT in " + ", ".join(out["flagged_checks"]) if out["flagged"] else "no drift flagged"))
    for c in out["checks"].values():
        typer.echo(f"  {'!' if c['flagged'] else ' '} {c['check']:<24} {c['stat']:<10} {c['value']!s:<10} "
                   f"threshold {c['threshold']}")


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
        from tasks.shared.registry import RegistryError
        from tasks.shared.registry_checks import version_problems

        reg = open_registry(kind, registry)
        name, bundle = reg.resolve(kind, version)
        if damage := version_problems(reg, kind, name):
            raise RegistryError(f"cannot compare with {kind} {name}: it is damaged ({'; '.join(damage)}); "
                                "`lstm-pipeline registry verify` lists every problem")
        if kind == "sentiment":
            from tasks.sentiment.profile import file_drift
        else:
            from tasks.forecast.profile import file_drift
        return {"kind": kind, "data": data, "against": name, **file_drift(data, str(bundle))}

    invoke_flow(go, debug=debug, show=lambda out: show_drift(kind, data, out), as_json=as_json)
