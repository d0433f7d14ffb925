"""Two Prefect workers, each pulling its own work queue from its own working directory, on one
real Prefect server, with everything they share on S3-compatible storage (moto's server on
loopback, in its own process): the model registry, the stage cache (`cache.shared`) and Prefect's
task results (a RemoteFileSystem block set as PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK). The first
worker trains; the second, asked for the same training, copies every stage from the shared cache
instead of computing it and finds the model already in the registry."""
from __future__ import annotations

import bz2
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from prefect_stack import BIN, ROOT, ObjectStore, PrefectStack  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
POOL = "lstm-pool"
STAGES = ["ingest", "validate", "tokenize", "profile", "train", "baseline", "evaluate"]
TINY = {"preprocess": {"seq_len": 60, "workers": 1}, "model": {"embedding_dim": 8, "hidden_size": 8},
        "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5},
        "cache": {"shared": "s3://models/stage-cache"}}


def test_two_workers_share_the_registry_the_stage_cache_and_results_on_object_storage(tmp_path):
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    data = tmp_path / "reviews.ft.txt"
    data.write_text("\n".join(lines[:400]) + "\n")
    t0 = time.perf_counter()
    with ObjectStore(buckets=("models",)) as s3, PrefectStack(tmp_path / "stack", extra_env={
            **s3.env, "OMP_NUM_THREADS": "1", "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK": "remote-file-system/lstm-results"}) as stack:
        subprocess.run([str(BIN / "python"), "-c", "from prefect.filesystems import RemoteFileSystem; "
                        "RemoteFileSystem(basepath='s3://models/prefect-results').save('lstm-results')"],
                       env=stack.env, check=True, timeout=120, cwd=ROOT)
        stack.cli("work-pool", "create", POOL, "--type", "process")
        stack.cli("deploy", "--all", "--no-prompt")
        for host in ("host-a", "host-b"):
            stack.post(f"/work_pools/{POOL}/queues", {"name": host})
            (tmp_path / host).mkdir()
            stack.start_worker(POOL, name=host, cwd=tmp_path / host, queue=host)
        runs, names = {}, {}
        for host in ("host-a", "host-b"):  # one after the other: the second finds the first one's stages
            runs[host] = stack.run_on_queue("sentiment-training/sentiment-nightly", {
                "data": str(data), "output": str(tmp_path / host / "out"), "registry": "s3://models/registry",
                "force": True, "config": TINY}, queue=host)
            done = stack.wait_for([runs[host]], timeout=420)[runs[host]]
            assert done["state_type"] == "COMPLETED", stack.logs(runs[host]) + stack.worker_logs()
            names[host] = done["name"]
        logs = {host: logs_with(stack, fid, "cached stages:") for host, fid in runs.items()}
        worker_logs = {host: stack.log(f"worker-{host}.log", tail=500_000) for host in runs}
        keys = s3.keys("models")
    seconds = time.perf_counter() - t0

    # each worker ran the run sent to its queue (a worker's log names the runs it started)
    assert f"'{names['host-a']}'" in worker_logs["host-a"] and f"'{names['host-a']}'" not in worker_logs["host-b"]
    assert f"'{names['host-b']}'" in worker_logs["host-b"] and f"'{names['host-b']}'" not in worker_logs["host-a"]
    # the first computed every stage and mirrored it; the second copied every stage from the bucket
    assert "cached stages: none" in logs["host-a"], logs["host-a"]
    assert f"cached stages: {', '.join(STAGES)}" in logs["host-b"], logs["host-b"]
    assert "reused the complete stage folder" in logs["host-b"]
    shared = {k.split("/")[2] for k in keys if k.startswith("stage-cache/work/") and k.endswith("/_result.json")}
    assert shared >= set(STAGES)
    for stage in STAGES:  # host-b's folders are host-a's files
        a = sorted((tmp_path / "host-a" / "out" / "work" / stage).glob("*/*"))
        b = sorted((tmp_path / "host-b" / "out" / "work" / stage).glob("*/*"))
        assert [p.relative_to(tmp_path / "host-a") for p in a] == [p.relative_to(tmp_path / "host-b") for p in b]
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b) if x.is_file() and x.name != "_result.json")
    # one registry: the same data, config and code published one version
    assert sum(k.startswith("registry/sentiment/versions/") and k.endswith("/_COMPLETE") for k in keys) == 1
    # Prefect's task results went to the bucket too (the results block), not to either worker's disk
    assert any(k.startswith("prefect-results/") for k in keys)
    print(f"two workers, one bucket (registry, stage cache, results): {seconds:.1f} s")



def logs_with(stack: PrefectStack, flow_run_id: str, text: str, timeout: float = 60) -> str:
    """The run's logs once they hold text (a run's last log lines reach the server after its final state)."""
    deadline = time.monotonic() + timeout
    while text not in (logs := stack.logs(flow_run_id)) and time.monotonic() < deadline:
        time.sleep(1)
    return logs
