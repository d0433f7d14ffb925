"""Retention on real folders: registry versions beyond --keep go, never the champion or its
rollback history; stage folders and token shards none of the last runs used go, a shard a kept
tokenize folder came from stays; --dry-run lists exactly what a real prune removes."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tasks.shared.registry import Registry
from tasks.shared.retention import prune_versions, prune_work, record_run

ROOT = Path(__file__).resolve().parents[3]


def bundle(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "weights.safetensors").write_bytes(b"w" * 100)
    (folder / "config.json").write_text(json.dumps({"tag": tag}))
    return folder


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_registry_prune_keeps_the_newest_the_champion_and_its_history(tmp_path):
    reg = Registry(tmp_path / "reg")
    versions = [reg.publish("sentiment", bundle(tmp_path / f"b{i}", str(i)), key=str(i)) for i in range(30)]
    for v in ("v0003", "v0010", "v0012"):  # champion v0012; v0003 and v0010 on its rollback history
        reg.promote("sentiment", v, "test")
    planned = json.loads(cli("registry", "prune", "--kind", "sentiment", "--registry", str(tmp_path / "reg"),
                             "--keep", "5", "--dry-run", "--json").stdout.strip().splitlines()[-1])
    assert planned["removed"] == [v for v in versions[:25] if v not in ("v0003", "v0010", "v0012")]
    assert reg.versions("sentiment") == versions  # a dry run removes nothing
    done = prune_versions(reg, "sentiment", keep=5)
    assert done["removed"] == planned["removed"]
    assert reg.versions("sentiment") == ["v0003", "v0010", "v0012", *versions[25:]]
    assert reg.champion("sentiment")["version"] == "v0012"
    assert reg.rollback("sentiment", "still works")["champion"] == "v0010"


def test_a_damaged_pointer_prunes_nothing(tmp_path):
    reg = Registry(tmp_path / "reg")
    for i in range(3):
        reg.publish("sentiment", bundle(tmp_path / f"b{i}", str(i)), key=str(i))
    (tmp_path / "reg" / "sentiment" / "champion.json").write_text("{")
    out = prune_versions(reg, "sentiment", keep=1)
    assert out["removed"] == [] and "repair the pointer" in out["skipped"] and len(reg.versions("sentiment")) == 3


def stage(work: Path, name: str, used: float, shards: list[str] | None = None) -> Path:
    folder = work / name
    folder.mkdir(parents=True)
    (folder / "out.bin").write_bytes(b"x" * 1000)
    if shards is not None:
        (folder / "shards.json").write_text(json.dumps(shards))
    os.utime(folder, (used, used))
    return folder


def test_work_prune_keeps_what_the_last_runs_used(tmp_path):
    out, now = tmp_path / "out", time.time()
    work = out / "work"
    day = 86400
    for age in (10, 5, 3, 1):  # four runs, 10, 5, 3 and 1 days ago
        record_run(out, f"run-{age}")
        lines = (work / "runs.jsonl").read_text().splitlines()
        lines[-1] = json.dumps({"started": now - age * day, "run": f"run-{age}"})
        (work / "runs.jsonl").write_text("\n".join(lines) + "\n")
    stage(work, "train/old", now - 9 * day)
    stage(work, "train/recent", now - 2 * day)
    stage(work, "train/last", now - 1 * day + 60)
    stage(work, "tokenize/old", now - 9 * day, shards=["s-old"])
    stage(work, "tokenize/recent", now - 1 * day + 60, shards=["s-kept", "s-shared"])
    stage(work, "token-shards/s-old", now - 9 * day)
    stage(work, "token-shards/s-kept", now - 9 * day)  # old, but a kept tokenize folder came from it
    stage(work, "token-shards/s-shared", now - 1 * day + 60)
    (work / "train" / "old.ckpt").write_bytes(b"c")
    os.utime(work / "train" / "old.ckpt", (now - 9 * day, now - 9 * day))
    stage(work, "train/.tmp-being-written", now - 9 * day)

    planned = prune_work(out, keep_runs=2, dry_run=True, now=now)  # runs 3 and 1 days ago
    assert sorted(planned["removed"]) == ["token-shards/s-old", "tokenize/old", "train/old", "train/old.ckpt"]
    assert (work / "train" / "old").exists() and planned["bytes"] >= 3000
    proc = cli("work", "prune", "--output", str(out), "--keep-runs", "2", "--dry-run", "--json")
    assert sorted(json.loads(proc.stdout.strip().splitlines()[-1])["removed"]) == sorted(planned["removed"])
    done = prune_work(out, keep_runs=2, now=now)
    assert sorted(done["removed"]) == sorted(planned["removed"])
    assert sorted(p.relative_to(work).as_posix() for p in work.glob("*/*")) == [
        "token-shards/s-kept", "token-shards/s-shared", "tokenize/recent", "train/.tmp-being-written",
        "train/last", "train/recent"]
    # an age limit on top: what was last used over 1.5 days ago goes too
    aged = prune_work(out, keep_runs=2, max_age_days=1.5, now=now)
    assert aged["removed"] == ["train/recent"]
    # fewer runs recorded than asked to keep: nothing is old enough to go
    assert prune_work(out, keep_runs=10, now=now)["removed"] == []
    assert cli("work", "prune", "--output", str(tmp_path / "nowhere"), "--keep-runs", "2").returncode == 2

