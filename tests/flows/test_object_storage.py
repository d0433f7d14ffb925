"""A registry on S3-compatible object storage (a real moto server on loopback) shared by two
"hosts": two training runs started at once from different working directories, each with its
own output folder, both against the session's Prefect server. They publish distinct versions,
their gate decisions are taken one after the other under a lock held on the Prefect server
(a global concurrency limit, not a local file lock), and prediction reads the champion back
from the bucket."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from prefect_stack import ObjectStore  # noqa: E402

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "flows.cli"]


@pytest.fixture(scope="module")
def s3(monkeypatch_module):
    """moto's S3 server in its own process (an empty store, whatever else the session started)."""
    import s3fs

    with ObjectStore(buckets=("models",)) as store:
        s3fs.S3FileSystem.clear_instance_cache()  # fsspec caches filesystems: one made for another endpoint would be reused
        for k, v in store.env.items():
            monkeypatch_module.setenv(k, v)
        yield store.env
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_two_hosts_share_one_registry_on_object_storage(prefect_api, s3, review_lines, tmp_path):
    data = tmp_path / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:300]) + "\n")
    registry = "s3://models/registry"
    procs = []
    t0 = time.perf_counter()
    for host in ("host-a", "host-b"):
        workdir = tmp_path / host
        workdir.mkdir()
        (workdir / "cfg.yaml").write_text("preprocess: {seq_len: 40, processes: 1}\nmodel: {embedding_dim: 8, hidden_size: 8}\n"
                                          f"train: {{epochs: 1, seed: {len(procs) + 1}}}\nvalidation: {{min_rows_per_class: 5}}\n")
        procs.append(subprocess.Popen(
            CLI + ["sentiment", "train", "--data", str(data), "--config", "cfg.yaml", "--output", "out",
                   "--registry", registry, "--force", "--json"],
            cwd=workdir, env={**os.environ, **s3, "PREFECT_API_URL": prefect_api, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = time.perf_counter() - t0

    from tasks.shared.registry import Registry

    reg = Registry(registry)
    versions = reg.versions("sentiment")
    assert len(versions) == 2 and {r["version"] for r in results} == set(versions)  # distinct versions
    # decided one after the other: the second decision saw the first one's champion
    decisions = sorted(reg.decisions("sentiment"), key=lambda d: d["decided_at"])
    assert [d["promoted"] for d in decisions] == [True, True]
    assert {decisions[0]["champion_before"], decisions[1]["champion_before"]} == {None, decisions[0]["candidate"]}
    champion = reg.champion("sentiment")
    assert champion["version"] == decisions[-1]["candidate"] and champion["previous"] == [decisions[0]["candidate"]]
    # the lock was a Prefect global concurrency limit of one slot, now free again
    from prefect.client.orchestration import get_client
    with get_client(sync_client=True) as client:
        limits = [g for g in client.read_global_concurrency_limits(limit=100) if g.name.startswith("lstm-registry-sentiment-")]
    assert len(limits) == 1 and limits[0].limit == 1 and limits[0].active_slots == 0
    # each host wrote its stage outputs in its own working directory; the registry holds the shared models
    assert all((tmp_path / h / "out" / "work").is_dir() for h in ("host-a", "host-b"))

    # a third place predicts with the champion straight from the bucket
    proc = subprocess.run(CLI + ["sentiment", "predict", "--registry", registry, "--input", "-"], input="great value\n",
                          capture_output=True, text=True, env={**os.environ, **s3}, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(json.loads(proc.stdout.strip().splitlines()[-1])) >= {"label", "probability"}
    print(f"two hosts, one S3 registry: {seconds:.1f} s")


def test_a_version_another_host_publishes_is_seen_after_this_host_listed_the_registry(s3, tmp_path):
    """fsspec caches S3 listings by default: a host that listed versions/ before another host
    published would not see the new version (and failed once on a champion.json naming it)."""
    from tasks.shared.registry import Registry

    root = "s3://models/listing"
    here = Registry(root)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text('{"kind": "sentiment"}')
    first = here.publish("sentiment", bundle, "k0")
    assert here.versions("sentiment") == [first]  # this host has listed versions/
    other = subprocess.run([sys.executable, "-c", "import sys; from tasks.shared.registry import Registry; "
                            "print(Registry(sys.argv[1]).publish('sentiment', sys.argv[2], 'k1'))", root, str(bundle)],
                           capture_output=True, text=True, env={**os.environ, **s3}, timeout=120)
    assert other.returncode == 0, other.stderr[-2000:]
    assert here.versions("sentiment") == [first, other.stdout.strip()]


def test_data_docs_are_published_where_a_browser_on_another_machine_opens_them(prefect_api, s3, review_lines, tmp_path):
    """docs.publish_to copies the run's GX Data Docs to the bucket; the validation's link artifact
    points at docs.base_url, and that address serves the site over HTTP."""
    import asyncio
    import urllib.request

    import boto3
    from prefect.client.orchestration import get_client

    from flows.config import SentimentConfig
    from flows.sentiment import sentiment_training

    # the docs prefix is world-readable, as a team's docs bucket (or a static website) would be
    boto3.client("s3").put_bucket_policy(Bucket="models", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/data-docs/*"}]}))
    data = tmp_path / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:200]) + "\n")
    base_url = f"{s3['AWS_ENDPOINT_URL']}/models/data-docs"  # the bucket over HTTP, as a browser reaches it
    cfg = SentimentConfig.model_validate({
        "preprocess": {"seq_len": 40, "processes": 1}, "model": {"embedding_dim": 8, "hidden_size": 8},
        "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5}, "gate": {"baseline": "naive"},
        "docs": {"publish_to": "s3://models/data-docs", "base_url": base_url}})
    sentiment_training(data=str(data), config=cfg, output=str(tmp_path / "out"))

    async def newest_link():
        async with get_client() as client:
            found = (await client._client.post("/artifacts/filter", json={
                "artifacts": {"key": {"any_": ["sentiment-data-docs"]}}, "limit": 1, "offset": 0,
                "sort": "CREATED_DESC"})).json()
            return found[0]["data"]
    link = asyncio.run(newest_link())
    assert base_url in link
    url = link[link.index(base_url):].split(")")[0]
    with urllib.request.urlopen(url, timeout=30) as resp:
        page = resp.read().decode("utf-8", "replace")
    assert resp.status == 200 and "Data Docs" in page
