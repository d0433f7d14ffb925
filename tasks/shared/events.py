"""Prefect events a team can alert on (Automations in the UI or prefect.yaml react to them):

    lstm-pipeline.model.refused    the gate did not promote a new version (payload: reasons, figures)
    lstm-pipeline.model.promoted   a new champion
    lstm-pipeline.data.drifted     a run's data drifted from the champion's training data
    lstm-pipeline.training.completed   a training flow run completed (sent by its on_completion hook, once
                                   the run's state is final; payload: registry, version, promoted,
                                   champion); the batch prediction deployments run on it, for runs
                                   tagged `retraining` (the retraining deployments) only

The resource is the model version (`lstm-pipeline.<kind>.<version>`) or the kind's data
(`lstm-pipeline.<kind>.data`), labelled with `lstm-pipeline.kind`, so one automation can watch
one kind. Emitted inside a flow run, Prefect relates the event to the run, its deployment and its tags
(`prefect.tag.<tag>`), which is what the triggers in prefect.yaml match on: a developer's plain
`lstm-pipeline sentiment train` against the same server sends the event but triggers nothing."""
from __future__ import annotations

REFUSED, PROMOTED, DRIFTED = "lstm-pipeline.model.refused", "lstm-pipeline.model.promoted", "lstm-pipeline.data.drifted"
COMPLETED = "lstm-pipeline.training.completed"


def emit_gate_event(kind: str, d: dict):
    from prefect.events import emit_event

    version = d["candidate"]
    return emit_event(
        event=PROMOTED if d["promoted"] else REFUSED,
        resource={"prefect.resource.id": f"lstm-pipeline.{kind}.{version}",
                  "prefect.resource.name": f"{kind} model {version}", "lstm-pipeline.kind": kind},
        payload={k: d.get(k) for k in ("kind", "candidate", "promoted", "forced", "reasons", "metric", "candidate_value",
                                       "baseline", "baseline_value", "champion_before", "champion_after")},
    )


def emit_drift_event(kind: str, report: dict, champion: str | None):
    from prefect.events import emit_event

    if not report.get("flagged"):
        return None
    return emit_event(
        event=DRIFTED,
        resource={"prefect.resource.id": f"lstm-pipeline.{kind}.data", "prefect.resource.name": f"{kind} data",
                  "lstm-pipeline.kind": kind},
        payload={"kind": kind, "against": champion, "flagged": report.get("flagged_checks", []),
                 "checks": [{k: c.get(k) for k in ("check", "stat", "reference", "current", "value", "threshold")}
                            for c in report.get("checks", {}).values() if c.get("flagged")]},
    )


def emit_training_completed(kind: str, summary: dict):
    """The end of a training run, with the registry it published to (an absolute path for a
    local registry, so a deployment triggered by this event finds the same one)."""
    from pathlib import Path

    from prefect.events import emit_event

    from .fetch import is_url

    registry = summary["registry"] if is_url(summary["registry"]) else str(Path(summary["registry"]).resolve())
    return emit_event(
        event=COMPLETED,
        resource={"prefect.resource.id": f"lstm-pipeline.{kind}.{summary['version']}",
                  "prefect.resource.name": f"{kind} model {summary['version']}", "lstm-pipeline.kind": kind},
        payload={"kind": kind, "registry": registry, "version": summary["version"], "promoted": summary["promoted"],
                 "champion": summary["champion"]},
    )


def training_completed_hook(kind: str):
    """A flow's on_completion hook: the training.completed event, sent after the run's state is
    Completed (a trigger never acts on a run that may still fail), with the run's summary."""
    def training_completed(flow, flow_run, state) -> None:
        summary = state.result(raise_on_failure=False)
        if isinstance(summary, dict) and summary.get("version"):
            emit_training_completed(kind, summary)
    training_completed.__name__ = f"{kind}-training-completed"
    return training_completed
