"""`lstm-pipeline registry`: list, show, promote, rollback, verify; and the registry helpers the others use."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from .invoke import fail, invoke_flow
from .options import DebugOpt, JsonOpt, KindOpt, ReasonOpt, RegistryRootOpt

app = typer.Typer(help="The model registry: versions, the champion, manual promotion and rollback, checks.",
                  no_args_is_help=True)


def check_kind(kind: str) -> None:
    if kind not in ("sentiment", "forecast"):
        fail(f"--kind must be sentiment or forecast, got {kind!r}")


def open_registry(kind: str, root: str):
    from tasks.shared.registry import Registry

    check_kind(kind)
    return Registry(root)


def resolve_bundle(kind: str, bundle: Path | None, registry: str | None, version: str | None) -> Path:
    """The bundle to predict with: --bundle as given, else a registry version (default: the
    champion) of `--registry` (default outputs/<kind>/registry)."""
    from tasks.shared.registry import Registry

    if bundle is not None:
        return bundle
    from tasks.shared.registry import default_output, default_registry

    return Registry(registry or default_registry(default_output(kind))).resolve(kind, version)[1]


def headline(metrics: dict) -> dict:
    """The LSTM's pooled test scores from a version's metrics.json (numbers only)."""
    lstm = metrics.get("lstm", {})
    lstm = lstm.get("overall", lstm)
    return {k: v for k, v in lstm.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def show_table(table: list[tuple[str, str]]) -> None:
    for label, value in table:
        typer.echo(f"  {label:<14} {value}")


def _show_champion(out: dict) -> None:
    show_table([("champion", out["champion"]), ("previous", out["previous"] or "none")])


@app.command("list")
def registry_list(kind: str = KindOpt, registry: str = RegistryRootOpt, as_json: bool = JsonOpt,
                  debug: bool = DebugOpt):
    """Every complete version, oldest first, with its metrics; the champion marked. A damaged
    version or pointer is listed with what is wrong (`registry verify` checks every file)."""
    def go():
        reg = open_registry(kind, registry)
        pointer, damaged = reg.pointer(kind)
        champion = pointer["version"] if pointer else None
        versions = [describe(reg, kind, v, champion) for v in reg.versions(kind)]
        return {"kind": kind, "champion": champion, "versions": versions, "champion_problem": damaged}

    def show(out):
        typer.echo(f"{kind} registry {registry}: {len(out['versions'])} versions, champion {out['champion'] or 'unset'}")
        for v in out["versions"]:
            scores = "  ".join(f"{k} {val:.4f}" for k, val in v["metrics"].items() if isinstance(val, float))
            typer.echo(f"  {'*' if v['champion'] else ' '} {v['version']:<14} {v['created'] or '':<26} "
                       + (f"damaged: {v['damaged']}" if v.get("damaged") else scores))
        if out["champion_problem"]:
            typer.echo(f"champion pointer: {out['champion_problem']}", err=True)

    invoke_flow(go, debug=debug, show=show, as_json=as_json)


def describe(reg, kind: str, version: str, champion: str | None) -> dict:
    """One line of `registry list`: created and headline metrics, or what is damaged."""
    from tasks.shared.registry import RegistryError

    row = {"version": version, "champion": version == champion, "created": None, "metrics": {}}
    try:
        row["created"] = reg.info(kind, version).get("published_at")
        row["metrics"] = headline(reg.read_json(kind, version, "metrics.json"))
    except RegistryError as exc:
        row["damaged"] = str(exc)
    return row


@app.command("show")
def registry_show(version: str = typer.Argument(..., help="A version, e.g. v0003"), kind: str = KindOpt,
                  registry: str = RegistryRootOpt, as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """A version's lineage, metrics and the gate's decision on it."""
    def go():
        reg = open_registry(kind, registry)
        reg.local_path(kind, version)  # an unknown version: exit 2, naming the registry and the version
        pointer = reg.pointer(kind)[0]  # a damaged pointer: not this version's fault
        decisions = [d for d in reg.decisions(kind) if d.get("candidate") == version]
        return {"kind": kind, "version": version, "champion": bool(pointer and pointer["version"] == version),
                "created": reg.info(kind, version).get("published_at"), "uri": reg.uri(kind, version),
                "metrics": reg.read_json(kind, version, "metrics.json"),
                "lineage": reg.read_json(kind, version, "lineage.json"),
                "decision": decisions[-1] if decisions else None, "decisions": len(decisions)}

    def show(out):
        d = out["decision"]
        show_table([("version", f"{version} ({'champion' if out['champion'] else 'not champion'})"),
                    ("created", out["created"]), ("bundle", out["uri"]),
                    ("source", out["lineage"].get("source")), ("metrics", json.dumps(headline(out["metrics"]))),
                    ("decision", "none recorded" if d is None else ("promoted" if d.get("promoted") else "not promoted")
                     + "; " + "; ".join(d.get("reasons", [])))])

    invoke_flow(go, debug=debug, show=show, as_json=as_json)


@app.command("promote")
def registry_promote(version: str = typer.Argument(..., help="The version to make champion"), kind: str = KindOpt,
                     registry: str = RegistryRootOpt, reason: str = ReasonOpt, as_json: bool = JsonOpt,
                     debug: bool = DebugOpt):
    """Make a version the champion by hand (recorded with the reason)."""
    invoke_flow(lambda: open_registry(kind, registry).promote(kind, version, reason), debug=debug,
                show=_show_champion, as_json=as_json)


@app.command("rollback")
def registry_rollback(kind: str = KindOpt, registry: str = RegistryRootOpt, reason: str = ReasonOpt,
                      as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """Return to the champion before the current one (recorded with the reason)."""
    invoke_flow(lambda: open_registry(kind, registry).rollback(kind, reason), debug=debug,
                show=_show_champion, as_json=as_json)


@app.command("verify")
def registry_verify(kind: str = KindOpt, registry: str = RegistryRootOpt, as_json: bool = JsonOpt,
                    debug: bool = DebugOpt):
    """Check every version (marker, version.json, metrics.json, each file against the hash
    recorded at publish time), foreign folders under versions/ and the champion pointer; exit 2
    naming each problem."""
    def go():
        from tasks.shared.registry_checks import verify

        out = verify(open_registry(kind, registry), kind)
        if not out["sound"]:
            if as_json:
                typer.echo(json.dumps(out, indent=2))
            else:
                for p in out["problems"]:
                    typer.echo(f"{p['where']}: {p['problem']}", err=True)
            fail(f"{kind} registry {registry}: {len(out['problems'])} problems in {out['versions']} versions "
                 "and the pointer")
        return out

    def show(out):
        typer.echo(f"{kind} registry {registry}: {out['versions']} versions and the pointer: sound")

    invoke_flow(go, debug=debug, show=show, as_json=as_json)



@app.command("prune")
def registry_prune(kind: str = KindOpt, registry: str = RegistryRootOpt,
                   keep: int = typer.Option(..., "--keep", min=1, help="Versions to keep, newest first."),
                   dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
                   as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """Remove all but the newest --keep versions; never the champion or its rollback history."""
    def go():
        from tasks.shared.retention import prune_versions

        return prune_versions(open_registry(kind, registry), kind, keep, dry_run)

    def show(out):
        if out.get("skipped"):
            typer.echo(f"nothing removed: {out['skipped']}", err=True)
        verb = "would remove" if dry_run else "removed"
        typer.echo(f"{kind} registry {registry}: {verb} {len(out['removed'])} versions, kept {len(out['kept'])}"
                   + (f": {', '.join(out['removed'])}" if out["removed"] else ""))

    invoke_flow(go, debug=debug, show=show, as_json=as_json)
