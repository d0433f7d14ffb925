"""`lstm-pipeline registry`: list, show, promote, rollback; and the registry helpers the others use."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from .invoke import fail, invoke_flow
from .options import DebugOpt, JsonOpt, KindOpt, ReasonOpt, RegistryRootOpt

app = typer.Typer(help="The model registry: versions, the champion, manual promotion and rollback.",
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
    """Every complete version, oldest first, with its metrics; the champion marked."""
    def go():
        reg = open_registry(kind, registry)
        pointer = reg.champion(kind)
        champion = pointer["version"] if pointer else None
        versions = [{"version": v, "champion": v == champion, "created": reg.info(kind, v).get("published_at"),
                     "metrics": headline(reg.read_json(kind, v, "metrics.json"))} for v in reg.versions(kind)]
        return {"kind": kind, "champion": champion, "versions": versions}

    def show(out):
        typer.echo(f"{kind} registry {registry}: {len(out['versions'])} versions, champion {out['champion'] or 'unset'}")
        for v in out["versions"]:
            scores = "  ".join(f"{k} {val:.4f}" for k, val in v["metrics"].items() if isinstance(val, float))
            typer.echo(f"  {'*' if v['champion'] else ' '} {v['version']:<14} {v['created'] or '':<26} {scores}")

    invoke_flow(go, debug=debug, show=show, as_json=as_json)


@app.command("show")
def registry_show(version: str = typer.Argument(..., help="A version, e.g. v0003"), kind: str = KindOpt,
                  registry: str = RegistryRootOpt, as_json: bool = JsonOpt, debug: bool = DebugOpt):
    """A version's lineage, metrics and the gate's decision on it."""
    def go():
        reg = open_registry(kind, registry)
        reg.local_path(kind, version)  # an unknown version: exit 2, naming the registry and the version
        pointer = reg.champion(kind)
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
