"""The README's "Scheduled retraining on a real Prefect server" steps, end to end:

    prefect server start --host 127.0.0.1 --port <free port>     (own PREFECT_HOME, SQLite file)
    prefect work-pool create lstm-pool --type process
    prefect deploy --all                                          (reads prefect.yaml)
    prefect worker start --pool lstm-pool
    prefect deployment run 'sentiment-training/sentiment-nightly' --params '{...}'
    prefect deployment run 'forecast-training/forecast-nightly' --params '{...}'

then the runs' states, parameters, outputs and UI artifacts are read back through the REST API.
The runs are overridden to be small (600 reviews, 1 epoch, tiny models) so the module takes
about 1.5 minutes on 2 cores; the deployments themselves are deployed exactly as prefect.yaml declares them.
"""
from __future__ import annotations

import bz2
import contextlib
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from prefect_stack import ROOT, Postgres, PrefectStack  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POOL = "lstm-pool"
SENTIMENT = "sentiment-training/sentiment-nightly"
FORECAST = "forecast-training/forecast-nightly"
SENTIMENT_CONFIG = {
    "name": "e2e-tiny",
    "preprocess": {"seq_len": 60, "min_count": 2, "processes": 1},
    "model": {"embedding_dim": 16, "hidden_size": 16},
    "train": {"epochs": 1, "batch_size": 64},
    "validation": {"min_rows_per_class": 5},
}
FORECAST_CONFIG = {
    "name": "e2e-tiny",
    "prepare": {"lookback": 10, "horizon": 3},
    "model": {"hidden_size": 8, "fc_size": 16},
    "train": {"epochs": 2, "batch_size": 64, "patience": 1, "min_samples": 1},
    "evaluate": {"max_plots": 2},
}
SENTIMENT_ARTIFACTS = {"sentiment-validation", "sentiment-metrics", "sentiment-model-card", "sentiment-bundle",
                       "sentiment-loss-curves", "sentiment-confusion-matrix"}
FORECAST_ARTIFACTS = {"forecast-validation", "forecast-metrics", "forecast-metrics-per-ticker",
                      "forecast-model-card", "forecast-bundle"}


def declared_deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The server runs on PostgreSQL, as in production (compose.yaml), when the server binaries are
    # installed; otherwise on SQLite. One thread per flow run: the sentiment and forecast runs
    # share the machine's cores. The scheduler service is off so a test run near 01:30/02:00 UTC
    # does not also start the real nightly runs on the full data; the schedules are still checked.
    env = {"OMP_NUM_THREADS": "1", "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
    work = tmp_path_factory.mktemp("prefect-stack")
    with contextlib.ExitStack() as cleanup:
        if Postgres.find_bindir():
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = cleanup.enter_context(Postgres()).url
        st = cleanup.enter_context(PrefectStack(work, extra_env=env))  # started here, stopped first
        st.database = "postgresql" if "postgresql" in env.get("PREFECT_API_DATABASE_CONNECTION_URL", "") else "sqlite"
        yield st


def test_the_server_runs_on_postgresql_where_it_is_installed(stack):
    if Postgres.find_bindir() is None:  # nothing to check: the fixture fell back to SQLite, as it says
        pytest.skip("PostgreSQL server binaries not installed: the stack ran on SQLite")
    assert stack.database == "postgresql"
    assert "postgresql" in stack.server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert stack.get("/health") is True


@pytest.fixture(scope="module")
def deployed(stack):
    stack.cli("work-pool", "create", POOL, "--type", "process")
    done = stack.cli("deploy", "--all", "--no-prompt", check=False)
    if done.returncode != 0:
        hint = ""
        if "'input': None" in done.stdout + done.stderr:
            hint = ("\nHint: a 422 on null limit/offset means FastAPI >= 0.151 is installed: it no longer "
                    "replaces explicit nulls with defaults, and the Prefect 3.8.8 client sends them (pin fastapi<0.151).")
        pytest.fail(f"`prefect deploy --all` exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}{hint}")
    stack.start_worker(POOL)
    return stack


@pytest.fixture(scope="module")
def runs(deployed, tmp_path_factory):
    """Both training deployments triggered at once with small overrides, waited for together."""
    work = tmp_path_factory.mktemp("e2e-data")
    reviews = work / "reviews-600.ft.txt"
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    reviews.write_text("\n".join(lines[:600]) + "\n", encoding="utf-8")

    triggered = {
        # force: these tiny models lose to the baselines, and the batch predictions they trigger need a champion
        "sentiment": deployed.run_deployment(SENTIMENT, {
            "data": str(reviews), "output": str(work / "sentiment"), "config": SENTIMENT_CONFIG, "force": True}),
        "forecast": deployed.run_deployment(FORECAST, {
            "data": str(ROOT / "data" / "SBUX.csv"), "output": str(work / "forecast"), "config": FORECAST_CONFIG,
            "force": True}),
    }
    finished = deployed.wait_for(list(triggered.values()), timeout=360)
    return {name: finished[fid] for name, fid in triggered.items()}, work


def assert_completed(stack: PrefectStack, run: dict) -> None:
    if run["state_type"] != "COMPLETED":
        pytest.fail(f"flow run {run['name']} ({run['id']}) ended {run['state_type']}: "
                    f"{(run.get('state') or {}).get('message')}\n--- run logs\n{stack.logs(run['id'])}\n"
                    f"{stack.worker_logs()}")


def test_deploy_all_registers_every_declared_deployment_on_the_pool(deployed):
    declared = declared_deployments()
    found = {d["name"]: d for d in deployed.post("/deployments/filter", {"limit": 200, "offset": 0})}
    assert set(found) == set(declared)
    for name, spec in declared.items():
        dep = found[name]
        assert dep["work_pool_name"] == spec["work_pool"]["name"] == POOL, name
        assert dep["entrypoint"] == spec["entrypoint"], name
        assert dep["parameters"] == spec.get("parameters", {}), name
        crons = sorted(s["schedule"].get("cron") or "" for s in dep["schedules"] if s["active"])
        assert crons == sorted(s.get("cron") or "" for s in spec.get("schedules") or []), name
        if "concurrency_limit" in spec:  # retraining of one kind never overlaps itself
            limit = (dep.get("global_concurrency_limit") or {}).get("limit", dep.get("concurrency_limit"))
            assert limit == 1, (name, dep.get("global_concurrency_limit"), dep.get("concurrency_limit"))


def test_sentiment_deployment_run_completes_on_the_worker_with_its_artifacts(deployed, runs):
    finished, work = runs
    run = finished["sentiment"]
    assert_completed(deployed, run)
    assert run["work_pool_name"] == POOL and run["deployment_id"]
    # --params reached the typed config (merged over the deployment's own data/output defaults)
    assert run["parameters"]["config"]["train"]["epochs"] == 1
    assert run["parameters"]["output"] == str(work / "sentiment")

    artifacts = deployed.artifacts(run["id"])
    by_key = {a["key"]: a for a in artifacts if a["key"]}
    assert SENTIMENT_ARTIFACTS <= set(by_key), sorted(by_key)
    assert "read 600" in by_key["sentiment-validation"]["description"]
    assert by_key["sentiment-metrics"]["type"] == "table" and "tfidf_logreg" in str(by_key["sentiment-metrics"]["data"])
    assert "Model card" in str(by_key["sentiment-model-card"]["data"])
    # the worker wrote the published model under the output the run was given, and the UI links to it
    assert list((work / "sentiment").rglob("weights.safetensors"))
    assert (work / "sentiment").resolve().as_uri() in by_key["sentiment-bundle"]["data"]


def test_forecast_deployment_run_completes_on_the_worker_with_its_artifacts(deployed, runs):
    finished, work = runs
    run = finished["forecast"]
    assert_completed(deployed, run)
    assert run["parameters"]["config"]["prepare"]["lookback"] == 10
    by_key = {a["key"]: a for a in deployed.artifacts(run["id"]) if a["key"]}
    assert FORECAST_ARTIFACTS <= set(by_key), sorted(by_key)
    assert "persistence" in str(by_key["forecast-metrics"]["data"])
    assert list((work / "forecast").rglob("weights.safetensors"))


def test_out_of_range_config_is_rejected_before_a_run_is_created(deployed, runs):
    # runs of this deployment only: batch predictions triggered by the earlier runs may still be starting
    not_scheduled = {"flow_runs": {"state": {"type": {"not_any_": ["SCHEDULED"]}}},
                     "deployments": {"name": {"any_": [SENTIMENT.split("/")[1]]}}}
    before = deployed.post("/flow_runs/count", not_scheduled)
    done = deployed.cli("deployment", "run", SENTIMENT, "--params", json.dumps({"config": {"train": {"epochs": 0}}}),
                        check=False)
    assert done.returncode != 0
    assert "epochs" in done.stdout + done.stderr
    assert deployed.post("/flow_runs/count", not_scheduled) == before


@pytest.mark.parametrize("kind", ["sentiment", "forecast"])
def test_batch_prediction_runs_when_training_completes_with_that_runs_registry(deployed, runs, kind):
    """No cron: the batch-predict deployment's trigger fires on the training run's
    lstm-pipeline.training.completed event, and its registry parameter comes from the event."""
    finished, work = runs
    assert_completed(deployed, finished[kind])
    flt = {"deployments": {"name": {"any_": [f"{kind}-batch-predict"]}}, "limit": 10, "offset": 0}
    deadline = time.monotonic() + 120
    while not (triggered := deployed.post("/flow_runs/filter", flt)) and time.monotonic() < deadline:
        time.sleep(2)
    assert triggered, f"no {kind}-batch-predict run was triggered\n{deployed.worker_logs()}"
    run = deployed.wait_for([triggered[0]["id"]], timeout=240)[triggered[0]["id"]]
    assert_completed(deployed, run)
    registry = str((work / kind / "registry").resolve())
    assert run["parameters"]["registry"] == registry
    by_key = {a["key"]: a for a in deployed.artifacts(run["id"]) if a["key"]}
    assert f"{kind}-batch-prediction" in by_key, sorted(by_key)


def test_a_plain_run_against_the_same_server_triggers_no_batch_prediction(deployed, runs, tmp_path):
    """A developer's `lstm-pipeline forecast train` with PREFECT_API_URL set to the team's server:
    its training.completed event reaches the server (sent once the run is Completed) but carries
    no `retraining` tag, so the batch-predict trigger does not fire; the deployment run's did."""
    import subprocess

    flt = {"deployments": {"name": {"any_": ["forecast-batch-predict"]}}, "limit": 50, "offset": 0}
    deadline = time.monotonic() + 120
    while not (before := deployed.post("/flow_runs/filter", flt)) and time.monotonic() < deadline:
        time.sleep(2)
    assert len(before) == 1, before  # the deployment run's trigger fired once
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(FORECAST_CONFIG))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "lstm-pipeline"), "forecast", "train", "--data",
                           str(ROOT / "data" / "SBUX.csv"), "--output", str(tmp_path / "plain"), "--config", str(cfg),
                           "--force", "--json"], env=deployed.env, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    events = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not events:
        page = deployed.post("/events/filter", {"filter": {"event": {"name": ["lstm-pipeline.training.completed"]}},
                                                "limit": 50})
        events = [e for e in page["events"] if e["payload"]["registry"] == str((tmp_path / "plain" / "registry").resolve())]
        time.sleep(2)
    assert len(events) == 1, "the plain run's event did not reach the server"
    related = {(r["prefect.resource.role"], r["prefect.resource.id"]) for r in events[0]["related"]}
    assert ("tag", "prefect.tag.retraining") not in related
    run_id = next(r["prefect.resource.id"].removeprefix("prefect.flow-run.") for r in events[0]["related"]
                  if r["prefect.resource.role"] == "flow-run")
    run = deployed.flow_run(run_id)
    assert run["state_type"] == "COMPLETED" and events[0]["occurred"] >= run["end_time"].replace("+00:00", "Z")[:19]
    time.sleep(15)  # time for a trigger to act, were it to
    assert len(deployed.post("/flow_runs/filter", flt)) == 1

