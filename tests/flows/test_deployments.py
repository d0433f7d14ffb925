"""prefect.yaml stays in step with the code: every deployment points at a real flow, its
parameters are ones the flow accepts, its schedules are valid cron, retraining never overlaps
itself, and batch prediction is triggered by the event training emits, with that run's registry."""
import importlib
from pathlib import Path

import yaml
from prefect.flows import Flow

from tasks.shared.events import COMPLETED

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_entrypoint_and_parameters_resolve():
    from datetime import datetime

    from cronsim import CronSim

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert spec["deployments"]
    for dep in spec["deployments"]:
        path, name = dep["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert isinstance(flow, Flow), dep["name"]
        assert set(dep.get("parameters", {})) <= set(flow.parameters.properties), dep["name"]
        for sched in dep.get("schedules") or []:
            next(CronSim(sched["cron"], datetime(2026, 1, 1)))
        assert dep["work_pool"]["name"]
        assert dep.get("schedules") or dep.get("triggers"), f"{dep['name']} never runs"
        if "training" in dep["entrypoint"]:
            assert dep["concurrency_limit"]["limit"] == 1, dep["name"]
        for trigger in dep.get("triggers") or []:
            assert trigger["expect"] == [COMPLETED]
            kind = dep["parameters"]["kind"]
            assert trigger["match"]["prefect.resource.id"] == f"lstm-pipeline.{kind}.*"
            assert trigger["parameters"] == {"registry": "{{ event.payload.registry }}"}
            # only runs of the retraining deployments (tagged so) trigger it, not a plain CLI run
            assert trigger["match_related"] == {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.retraining"}
    retraining = [d for d in spec["deployments"] if "training" in d["entrypoint"]]
    assert retraining and all("retraining" in d["tags"] for d in retraining)


def test_training_flows_carry_timeouts():
    from flows.forecast import forecast_training
    from flows.predict import batch_prediction
    from flows.sentiment import sentiment_training

    assert all(f.timeout_seconds for f in (sentiment_training, forecast_training, batch_prediction))
