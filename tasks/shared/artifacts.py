"""What a run shows in the Prefect UI (validation table, data summary, training progress, the
bundle's model card and plots), and the registry version a run's bundle becomes."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect.artifacts import (
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from .config import DataDocsConfig
from .drift import drift_markdown
from .events import emit_drift_event
from .fetch import is_url

BUNDLE_FORMAT = 1


def bundle_name(kind: str, key: str) -> str:
    return f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{key[:8]}"


def fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def image_data_uri(path: Path) -> str:
    """A PNG as a data: URI: the UI shows it from any machine, with no file server to reach."""
    import base64

    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def image_link(kind: str, png: Path, version: str, registry_uri: str, docs: DataDocsConfig) -> str:
    """Where the run's image artifact points. With docs.publish_to (a folder or object storage)
    the PNG is copied to <publish_to>/<kind>/plots/<version>/ and linked through docs.base_url;
    with a registry on object storage, the PNG the version holds there; only a local run (no
    publish_to, a local registry) embeds the image as a data: URI, which the Prefect database
    then stores with every run."""
    if docs.publish_to:
        import fsspec

        fs, base = fsspec.core.url_to_fs(docs.publish_to)
        fs.makedirs(f"{base.rstrip('/')}/{kind}/plots/{version}", exist_ok=True)
        fs.put_file(str(png), f"{base.rstrip('/')}/{kind}/plots/{version}/{png.name}")
        return f"{(docs.base_url or docs.publish_to).rstrip('/')}/{kind}/plots/{version}/{png.name}"
    if is_url(registry_uri):
        return f"{registry_uri.rstrip('/')}/{png.name}"
    return image_data_uri(png)


def publish_bundle_artifacts(kind: str, published: dict, plots: list[str], docs: DataDocsConfig = DataDocsConfig()) -> None:
    """The model card, a link to the bundle and its plots as images (image_link: an address a
    browser can reach, or for a local run the image itself, not a file:// link)."""
    bundle = Path(published["bundle"])
    create_markdown_artifact(key=f"{kind}-model-card", markdown=(bundle / "model_card.md").read_text(),
                             description="Model card of the published bundle")
    create_link_artifact(key=f"{kind}-bundle", link=bundle.resolve().as_uri(), link_text=bundle.name,
                         description="Published bundle folder")
    for name in plots:
        link = image_link(kind, bundle / f"{name}.png", published["version"], published.get("uri", ""), docs)
        create_image_artifact(image_url=link, key=f"{kind}-{name.replace('_', '-').lower()}",
                              description=f"Plot: {name.replace('_', ' ')} ({bundle.name}/{name}.png)")


VALIDATION_COLUMNS = ("expectation", "column", "rule", "success", "unexpected_count", "examples")


def publish_data_docs(kind: str, index_html: str | Path, docs: DataDocsConfig) -> str:
    """Copy a run's Data Docs site to docs.publish_to/<kind>/<validation key>/ and return the
    address of its index page as a browser reaches it; without publish_to, the local file's URI."""
    index_html = Path(index_html).resolve()
    if not docs.publish_to:
        return index_html.as_uri()
    import fsspec

    run = index_html.parent.parent.name  # the validation stage's content key: one folder per validated input
    fs, base = fsspec.core.url_to_fs(docs.publish_to)
    target = f"{base.rstrip('/')}/{kind}/{run}"
    for path in sorted(index_html.parent.rglob("*")):
        if path.is_file():
            dest = f"{target}/{path.relative_to(index_html.parent).as_posix()}"
            fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)  # a local folder needs its parents; object stores ignore it
            fs.put_file(str(path), dest)
    return f"{(docs.base_url or docs.publish_to).rstrip('/')}/{kind}/{run}/index.html"


def publish_validation_table(kind: str, report: dict, docs: DataDocsConfig = DataDocsConfig()) -> None:
    """One row per expectation (what it checks, whether it held, how many rows failed it, a few
    failing values) and, when the stage built them, a link to the GX Data Docs (published where
    docs.publish_to says, so readers on other machines can open them)."""
    rows = report["rows"]
    suite = (report.get("suite") or {}).get("version", "suite")
    table = [{c: e.get(c, "") for c in VALIDATION_COLUMNS} for e in report["expectations"]]
    create_table_artifact(
        key=f"{kind}-validation", table=table,
        description=(f"GX validation ({suite}) of {report['source']}: read {rows['read']}, accepted {rows['accepted']}, "
                     f"quarantined {rows['quarantined']}"),
    )
    if report.get("data_docs"):
        create_link_artifact(key=f"{kind}-data-docs", link=publish_data_docs(kind, report["data_docs"], docs),
                             link_text=f"GX Data Docs ({suite})",
                             description=f"Great Expectations Data Docs of this validation ({report.get('data_docs_scope', 'all rows')})")


def publish_data_summary(kind: str, items: dict) -> None:
    """What the model learns from, at a glance (rows, splits, vocabulary or windows)."""
    create_table_artifact(key=f"{kind}-data-summary", table=[{"item": k, "value": fmt(v)} for k, v in items.items()],
                          description=f"{kind} data: rows, splits and what training sees")


def progress_reporter(kind: str, epochs: int, log=None):
    """A Prefect progress artifact moved after each evaluation (the run page shows how far
    training is), plus a log line every ~10 % of training. Returns (on_eval, done)."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    artifact = create_progress_artifact(0.0, key=f"{kind}-training-progress", description=f"{kind} training: starting")

    def on_eval(r: dict) -> None:
        val = "n/a" if r["val_loss"] is None else f"{r['val_loss']:.4f}"
        text = f"epoch {r['epoch']:g} of {epochs}: train loss {r['train_loss']:.4f}, validation loss {val}"
        update_progress_artifact(artifact, min(100.0, 100.0 * r["epoch"] / epochs), description=f"{kind} training: {text}")
        if log and (r["epoch"] <= 1 or round(r["epoch"]) % max(1, epochs // 10) == 0):
            log.info(text)

    def done(summary: dict) -> None:
        update_progress_artifact(artifact, 100.0, description=(
            f"{kind} training: done, best epoch {summary['best_epoch']}"
            + (" (stopped early)" if summary.get("stopped_early") else "")
            + (f", resumed from epoch {summary['resumed_from_epoch']}" if summary.get("resumed_from_epoch") else "")))

    return on_eval, done


def publish_drift(kind: str, report: dict, champion: str | None) -> None:
    """The run's drift report (or why none was computed) as a markdown artifact."""
    if report.get("skipped"):
        markdown, description = f"# Drift report ({kind})\n\nNot computed: {report['skipped']}.", report["skipped"]
    else:
        markdown = drift_markdown(report, kind) + f"\n\nReference: the training data of champion {champion}."
        description = ("DRIFT: " + ", ".join(report["flagged_checks"])) if report["flagged"] else "no drift flagged"
    create_markdown_artifact(key=f"{kind}-drift", markdown=markdown, description=description)
    emit_drift_event(kind, report, champion)
