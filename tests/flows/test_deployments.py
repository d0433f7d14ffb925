"""prefect.yaml stays in step with the code: every deployment points at a real flow, its
parameters are ones the flow accepts, and its schedules are valid cron."""
import importlib
from pathlib import Path

import yaml
from prefect.flows import Flow

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
        for sched in dep["schedules"]:
            next(CronSim(sched["cron"], datetime(2026, 1, 1)))
        assert dep["work_pool"]["name"]
