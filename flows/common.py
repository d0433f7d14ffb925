"""What both training flows share: where the input and the registry are, stopping an unusable
batch before training, and the registry's answer in the run summary."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

from prefect import task

from tasks.shared.config import RetentionConfig
from tasks.shared.errors import DataError
from tasks.shared.fetch import fetch_input, is_url
from tasks.shared.registry import default_registry
from tasks.shared.results import Validation
from tasks.shared.retention import apply_retention, record_run


def run_inputs(data: str, output: str, registry: str | None) -> tuple[str, str]:
    """(local input, registry root) of a training run: a URL is downloaded once (retried with
    backoff) and kept as the raw input of record; the registry defaults to <output>/registry."""
    return (fetch_input(data, output) if is_url(data) else data), registry or default_registry(output)


def start_run(data: str, output: str, registry: str | None) -> tuple[str, str]:
    """run_inputs, and the run's start noted in <output>/work/runs.jsonl (retention keeps what the
    last runs used)."""
    from prefect.runtime import flow_run

    record_run(output, str(flow_run.id or ""))
    return run_inputs(data, output, registry)


def after_run(retention: RetentionConfig, output: str, registry: str, kind: str, summary: dict, log) -> dict:
    """The config's retention applied once the run has published (summary["retention"]: what went)."""
    pruned = apply_retention(retention, output, registry, kind, summary.get("version"))
    if pruned:
        summary["retention"] = {"versions_removed": pruned.get("versions", {}).get("removed", []),
                                "work_removed": len(pruned.get("work", {}).get("removed", [])),
                                "work_bytes_freed": pruned.get("work", {}).get("bytes", 0)}
        log.info("retention: removed versions %s and %d stage folders (%.1f MiB)",
                 summary["retention"]["versions_removed"] or "none", summary["retention"]["work_removed"],
                 summary["retention"]["work_bytes_freed"] / 2**20)
    return summary


def run_name(pipeline: str):
    """A flow_run_name for the UI's run list: pipeline, data, UTC date and time, and the run id's
    first characters (two runs of one minute stay apart), e.g.
    `sentiment-amazon_polarity_head6459.ft.txt.bz2-20261203-0630-3f9a1c`. `{kind}` in pipeline is
    the run's `kind` parameter."""
    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters
        data = PurePosixPath(str(params.get("data") or "data").rstrip("/")).name or "data"
        return (f"{pipeline.format(kind=params.get('kind', ''))}-{data}-"
                f"{datetime.now(UTC):%Y%m%d-%H%M}-{str(flow_run.id or '')[:6]}")
    return name


@task(name="accept-batch")
def accept_batch(validation: Validation, source: str) -> None:
    """Stop before training when the batch as a whole is unusable."""
    if validation.rejected:
        raise DataError(source, "batch rejected", f"{validation.rejected}; quarantined rows are in {validation.quarantine}")


# Flow timeouts: a run past these is stuck, not slow (the bundled data trains in minutes; a nightly
# run over 12 hours would also collide with the next night's). Override with .with_options().
TRAINING_TIMEOUT_S = 12 * 3600
PREDICTION_TIMEOUT_S = 3 * 3600
SEARCH_TIMEOUT_S = 24 * 3600


def release_summary(published: dict, registry: str, decision: dict, drift: dict, champion: str | None) -> dict:
    """The registry's answer for the run summary (the CLI's JSON): version, gate, drift."""
    return {
        "bundle": published["bundle"], "version": published["version"], "registry": registry,
        "promoted": decision["promoted"], "champion": decision["champion_after"], "gate": decision["reasons"],
        "drift": {"flagged": drift["flagged"], "checks": drift.get("flagged_checks", []), "against": champion},
    }


def release_line(summary: dict) -> str:
    return (f"{summary['version']} {'promoted' if summary['promoted'] else 'not promoted'}; champion: "
            f"{summary['champion']} ({'; '.join(summary['gate'])})")
