"""The registry and the gate: versions are complete or invisible, runs that publish at the same
time get distinct versions, and the champion pointer always names a complete version."""
import json
import multiprocessing as mp
from pathlib import Path

import pytest

from tasks.shared.gate import decide, run_gate
from tasks.shared.registry import COMPLETE, Registry, RegistryError


def make_bundle(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "weights.safetensors").write_bytes(b"w" * 1000)
    (folder / "config.json").write_text(json.dumps({"kind": "sentiment", "tag": tag}))
    (folder / "sub").mkdir()
    (folder / "sub" / "plot.png").write_bytes(b"png")
    return folder


def test_publish_numbers_versions_and_copies_the_whole_bundle(tmp_path):
    reg = Registry(tmp_path / "reg")
    assert reg.versions("sentiment") == [] and reg.champion("sentiment") is None
    v1 = reg.publish("sentiment", make_bundle(tmp_path / "a", "a"), key="k1")
    v2 = reg.publish("sentiment", make_bundle(tmp_path / "b", "b"), key="k2", extra={"lineage": {"rows": 3}})
    assert (v1, v2) == ("v0001", "v0002") and reg.versions("sentiment") == [v1, v2]
    path = reg.local_path("sentiment", v2)
    assert json.loads((path / "config.json").read_text())["tag"] == "b" and (path / "sub" / "plot.png").is_file()
    assert reg.info("sentiment", v2)["lineage"] == {"rows": 3} and reg.find_key("sentiment", "k1") == v1
    assert reg.find_key("sentiment", "nope") is None


def test_partial_versions_and_staging_folders_are_never_listed(tmp_path):
    reg = Registry(tmp_path)
    reg.publish("sentiment", make_bundle(tmp_path / "a", "a"), key="k1")
    versions = tmp_path / "sentiment" / "versions"
    (versions / ".staging-x").mkdir()              # a run killed while copying
    (versions / "v0009").mkdir()                    # a version without its completion marker
    (versions / "v0009" / "weights.safetensors").write_bytes(b"half")
    assert reg.versions("sentiment") == ["v0001"]
    with pytest.raises(RegistryError, match="v0009"):
        reg.set_champion("sentiment", "v0009", {})
    with pytest.raises(RegistryError, match="no complete sentiment version 'v0009'"):
        reg.local_path("sentiment", "v0009")


def test_champion_pointer_naming_a_missing_version_is_a_clear_error(tmp_path):
    reg = Registry(tmp_path)
    (tmp_path / "sentiment").mkdir()
    (tmp_path / "sentiment" / "champion.json").write_text('{"version": "v0042"}')
    with pytest.raises(RegistryError, match="v0042"):
        reg.champion("sentiment")


def test_fsspec_registry_publishes_and_downloads(tmp_path):
    reg = Registry("memory://registry-test")
    v = reg.publish("forecast", make_bundle(tmp_path / "a", "a"), key="k")
    assert reg.versions("forecast") == [v] == ["v0001"]  # named as on a local disk
    assert reg.fs.exists(f"/registry-test/forecast/versions/{v}/{COMPLETE}")
    reg.set_champion("forecast", v, {"reasons": ["test"]})
    assert reg.champion("forecast")["version"] == v
    local = reg.local_path("forecast", v, cache_dir=tmp_path / "cache")
    assert (local / "sub" / "plot.png").read_bytes() == b"png" and reg.uri("forecast", v).startswith("memory://")


def _publish_and_gate(root: str, i: int, value: float) -> tuple[str, bool]:
    reg = Registry(root)
    bundle = make_bundle(Path(root).parent / f"bundle{i}", str(i))
    version = reg.publish("sentiment", bundle, key=f"k{i}")
    d = run_gate(root, "sentiment", version, metric="accuracy", higher_is_better=True, margin=0.0,
                 candidate_value=value, baseline="majority", baseline_value=0.5,
                 score_champion=lambda path: (SCORES[json.loads((path / "config.json").read_text())["tag"]], None, None))
    return version, d["promoted"]


SCORES = {str(i): 0.6 + 0.01 * i for i in range(8)}


def test_concurrent_publishers_get_distinct_versions_and_a_valid_champion(tmp_path):
    root = str(tmp_path / "reg")
    with mp.get_context("spawn").Pool(8) as pool:
        results = pool.starmap(_publish_and_gate, [(root, i, SCORES[str(i)]) for i in range(8)])
    versions = [v for v, _ in results]
    assert len(set(versions)) == 8
    reg = Registry(root)
    assert sorted(reg.versions("sentiment")) == sorted(versions)
    champion = reg.champion("sentiment")["version"]
    # decisions were serialised by the lock: the best model (tag 7) is champion, whatever the order
    assert json.loads((reg.local_path("sentiment", champion) / "config.json").read_text())["tag"] == "7"
    assert len(list((tmp_path / "reg" / "sentiment" / "decisions").iterdir())) == 8
    assert not list((tmp_path / "reg" / "sentiment" / "versions").glob(".staging*"))


def gate(**kw):
    args = dict(kind="sentiment", metric="accuracy", higher_is_better=True, margin=0.01, candidate="v2",
                candidate_value=0.80, baseline="majority", baseline_value=0.50, champion="v1", champion_value=0.78)
    return decide(**{**args, **kw})


def test_gate_promotes_only_over_baseline_and_champion_by_the_margin():
    assert gate()["promoted"]
    kept = gate(champion_value=0.795)
    assert not kept["promoted"] and kept["champion_after"] == "v1" and "does not beat champion v1" in kept["reasons"][1]
    assert not gate(baseline_value=0.795)["promoted"]
    assert gate(champion=None, champion_value=None)["promoted"]
    same = gate(candidate="v1", champion="v1")
    assert not same["promoted"] and "already the champion" in same["reasons"][1]
    forced = gate(champion_value=0.9, force=True)
    assert forced["promoted"] and forced["forced"] and "--force" in forced["reasons"][-1]
    lower = gate(metric="MASE", higher_is_better=False, candidate_value=0.9, baseline_value=1.0, champion_value=0.95)
    assert lower["promoted"] and not gate(metric="MASE", higher_is_better=False, candidate_value=0.9,
                                          baseline_value=1.0, champion_value=0.905)["promoted"]


def test_the_gate_compares_with_the_strongest_baseline_unless_told_to_be_lenient():
    from tasks.shared.gate import decision_markdown, pick_baseline

    accuracy = {"TF-IDF + LR": 0.88, "majority-class": 0.51}
    assert pick_baseline(accuracy, "majority-class", "strongest", higher_is_better=True) == ("TF-IDF + LR", 0.88)
    assert pick_baseline(accuracy, "majority-class", "naive", higher_is_better=True) == ("majority-class", 0.51)
    mase = {"persistence": 4.0, "ridge on lags": 3.2, "moving average": 3.7}
    assert pick_baseline(mase, "persistence", "strongest", higher_is_better=False) == ("ridge on lags", 3.2)
    d = decide(kind="sentiment", metric="accuracy", higher_is_better=True, margin=0.005, candidate="v0001",
               candidate_value=0.83, baseline="TF-IDF + LR", baseline_value=0.88, champion=None, champion_value=None,
               baseline_rule="strongest")
    assert not d["promoted"] and d["reasons"][0].startswith("does not beat the TF-IDF + LR baseline on accuracy: 0.8300")
    assert "strongest baseline of the run (config gate.baseline: strongest)" in decision_markdown(d)


@pytest.mark.parametrize("root", ["local", "memory://registry-verify"])
def test_verify_names_each_damaged_file_and_promote_repairs_a_damaged_pointer(tmp_path, root):
    from tasks.shared.registry_checks import verify, version_problems

    reg = Registry(tmp_path / "reg" if root == "local" else root)
    v1 = reg.publish("sentiment", make_bundle(tmp_path / "a", "a"), key="a")
    v2 = reg.publish("sentiment", make_bundle(tmp_path / "b", "b"), key="b")
    v3 = reg.publish("sentiment", make_bundle(tmp_path / "c", "c"), key="c")
    reg.promote("sentiment", v1, "first")
    reg.promote("sentiment", v2, "second")
    assert verify(reg, "sentiment")["sound"] and version_problems(reg, "sentiment", v2) == []

    reg.fs.pipe_file(f"{reg.version_dir('sentiment', v1)}/weights.safetensors", b"w" * 10)  # truncated
    reg.fs.rm(f"{reg.version_dir('sentiment', v2)}/sub/plot.png")
    reg.fs.pipe_file(f"{reg.kind_dir('sentiment')}/champion.json", b"{garbage")
    problems = [p["problem"] for p in verify(reg, "sentiment")["problems"]]
    assert any(f"{v1}/weights.safetensors: changed since publishing" in p for p in problems), problems
    assert any(f"{v2}/sub/plot.png: missing" in p for p in problems), problems
    assert any("champion.json: damaged" in p and f"registry promote {v2}" in p for p in problems), problems
    with pytest.raises(RegistryError, match="set it again with"):
        reg.champion("sentiment")
    with pytest.raises(RegistryError, match=f"cannot promote sentiment {v1}: it is damaged"):
        reg.promote("sentiment", v1, "repair")  # not onto a damaged version
    reg.promote("sentiment", v3, "repair")  # the repair: a damaged pointer is replaced, and the reason says so
    assert reg.champion("sentiment")["version"] == v3
    assert "replaced a damaged pointer" in reg.champion("sentiment")["reasons"][0]


def _publish_only(root: str, folder: str, i: int) -> str:
    return Registry(root).publish("sentiment", make_bundle(Path(folder) / f"b{i}", str(i)), key=f"k{i}")


def test_object_storage_versions_are_one_sequence_as_on_a_local_disk(tmp_path, monkeypatch):
    """Six publishers at once on S3 (a real moto server): the conditional write of version.json
    gives each its own number, v0001 to v0006, as the rename does on a local disk."""
    import sys

    import s3fs

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
    from prefect_stack import ObjectStore

    with ObjectStore(buckets=("models",)) as store:
        for k, v in store.env.items():
            monkeypatch.setenv(k, v)
        s3fs.S3FileSystem.clear_instance_cache()
        root = f"s3://models/reg-{tmp_path.name}"
        with mp.get_context("spawn").Pool(6) as pool:
            versions = pool.starmap(_publish_only, [(root, str(tmp_path), i) for i in range(6)])
        assert sorted(versions) == [f"v{n:04d}" for n in range(1, 7)]
        assert Registry(root).versions("sentiment") == sorted(versions)
        local = Registry(tmp_path / "local")
        assert [local.publish("sentiment", make_bundle(tmp_path / f"l{i}", str(i)), key=f"l{i}") for i in range(2)] \
            == ["v0001", "v0002"]
    s3fs.S3FileSystem.clear_instance_cache()
