"""Two Prefect workers, in different working directories, on one real server, sharing one model
registry on S3-compatible storage (a moto server on loopback): they run two training runs
started at once, and the gate's lock on the Prefect server makes the decisions one after the
other."""
from __future__ import annotations

import bz2
import re
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from prefect_stack import ROOT, PrefectStack  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TINY = {"preprocess": {"seq_len": 60, "workers": 1}, "model": {"embedding_dim": 8, "hidden_size": 8},
        "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5}}


@pytest.fixture(scope="module")
def s3():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # fsspec caches filesystems: one made for another endpoint would be reused
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    import boto3

    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket="team-models")
    yield env
    server.stop()
    s3fs.S3FileSystem.clear_instance_cache()


def test_two_workers_share_one_registry_on_object_storage(s3, tmp_path, monkeypatch):
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    data = tmp_path / "reviews.ft.txt"
    data.write_text("\n".join(lines[:400]) + "\n")
    registry = "s3://team-models/registry"  # moto keeps one store per process: a bucket of its own
    with PrefectStack(tmp_path / "stack", extra_env={**s3, "OMP_NUM_THREADS": "1",
                                                     "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}) as stack:
        stack.cli("work-pool", "create", "lstm-pool", "--type", "process")
        stack.cli("deploy", "--all", "--no-prompt")
        for name in ("worker-a", "worker-b"):
            (tmp_path / name).mkdir()
            stack.start_worker("lstm-pool", name=name, cwd=tmp_path / name, limit=1)  # one run at a time each
        deadline = time.monotonic() + 120  # both workers polling before the runs exist, or the first takes both
        while len(stack.post("/work_pools/lstm-pool/workers/filter", {})) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        runs = [stack.run_deployment("sentiment-training/sentiment-nightly", {
            "data": str(data), "output": str(tmp_path / f"out-{i}"), "registry": registry, "force": True,
            "config": {**TINY, "train": {"epochs": 1, "seed": i}}}) for i in (1, 2)]
        done = stack.wait_for(runs, timeout=480)
        for fid in runs:
            assert done[fid]["state_type"] == "COMPLETED", stack.logs(fid) + stack.worker_logs()
        # the two workers ran the two runs (a worker's log names the runs it submitted to infrastructure)
        names = {done[fid]["name"]: fid for fid in runs}
        ran = {w: {names[n] for n in re.findall(r"Flow run '([\w-]+)' submitted to infrastructure",
                                                 stack.log(f"worker-{w}.log", tail=500_000)) if n in names}
               for w in ("worker-a", "worker-b")}
        # which worker takes which run is Prefect's choice (both poll the pool; with one slot each they
        # usually split the two runs, but a worker free again before the other polls may take both)
        assert ran["worker-a"] | ran["worker-b"] == set(runs), ran
        limits = stack.post("/v2/concurrency_limits/filter", {"limit": 50, "offset": 0})
        assert any(g["name"].startswith("lstm-registry-sentiment-") and g["limit"] == 1 for g in limits), limits

    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    from tasks.shared.registry import Registry

    reg = Registry(registry)
    assert len(reg.versions("sentiment")) == 2
    decisions = sorted(reg.decisions("sentiment"), key=lambda d: d["decided_at"])
    assert decisions[1]["champion_before"] == decisions[0]["candidate"]  # the second decided after the first
    assert reg.champion("sentiment")["previous"] == [decisions[0]["candidate"]]
