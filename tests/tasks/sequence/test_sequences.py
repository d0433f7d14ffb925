"""Sequence classification: the articles' MNIST example on scikit-learn's 8x8 digits, read one
row per step, and any .npz of sequences."""
import re
import shutil

import numpy as np
import pytest

from flows.config import load_config
from tasks.sequence.config import SequenceConfig, SequenceSplitConfig
from tasks.sequence.load import read_sequences, split_sequences
from tasks.shared.errors import DataError


def test_digits_are_read_one_image_row_a_step():
    x, y = read_sequences("digits")
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert sorted(np.unique(y)) == list(range(10))


def test_the_split_is_stratified_and_seeded():
    _, y = read_sequences("digits")
    a, b = split_sequences(y, SequenceSplitConfig()), split_sequences(y, SequenceSplitConfig())
    assert (a == b).all() and (a != split_sequences(y, SequenceSplitConfig(seed=1))).any()
    for cls in range(10):
        parts = a[y == cls]
        assert abs((parts == "test").mean() - 0.2) < 0.03 and (parts == "val").any()


def test_an_npz_of_sequences_is_read_and_bad_ones_refused(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ok.npz", x=rng.normal(size=(30, 5, 3)), y=np.repeat([7, 9, 11], 10))
    x, y = read_sequences(str(tmp_path / "ok.npz"))
    assert x.shape == (30, 5, 3) and sorted(set(y)) == [0, 1, 2]  # classes renumbered 0..K-1
    np.savez(tmp_path / "flat.npz", x=rng.normal(size=(30, 5)), y=np.zeros(30))
    with pytest.raises(DataError, match="flat.npz: wrong shapes"):
        read_sequences(str(tmp_path / "flat.npz"))
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match="pickled.npz: not a sequences file"):
        read_sequences(str(tmp_path / "pickled.npz"))  # object arrays would need unpickling: refused
    with pytest.raises(DataError, match="input not found"):
        read_sequences(str(tmp_path / "missing.npz"))


@pytest.mark.slow
def test_the_digits_config_reaches_95_percent_on_held_out_digits(prefect_api, tmp_path):
    from flows.sequence import sequence_training

    cfg = load_config(SequenceConfig, "digits", "sequence")
    summary = sequence_training(data="digits", config=cfg, output=str(tmp_path / "out"))
    assert summary["accuracy"] >= 0.95 and summary["test_sequences"] == 359 and summary["classes"] == 10
    again = sequence_training(data="digits", config=cfg, output=str(tmp_path / "out"))
    assert again["cached"] == ["load", "train", "evaluate"] and again["accuracy"] == summary["accuracy"]
    # a copied output folder: Prefect has no record of these folders, the stages reuse them from
    # disk, and each shows as Cached (not Completed), as a Prefect cache hit does
    shutil.copytree(tmp_path / "out", tmp_path / "moved")
    moved = sequence_training(data="digits", config=cfg, output=str(tmp_path / "moved"))
    assert moved["cached"] == ["load", "train", "evaluate"] and moved["accuracy"] == summary["accuracy"]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:  # runs are named for the UI's list: pipeline, data, date, id
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["sequence-classification"])))
        names = [run.name for run in runs if run.parameters.get("output", "").startswith(str(tmp_path))]
        ours = [run.id for run in runs if run.parameters.get("output", "").startswith(str(tmp_path))]
        stage_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ours)))
    # the stage tasks' inputs are the stage's own and the output folder: no cache key, no stage folder
    trains = [tr for tr in stage_runs if tr.name.startswith("train-sequence-classifier")]
    assert len(trains) == 3 and all({"sequences", "model", "train", "output"} == set(tr.task_inputs) for tr in trains)
    assert len(names) == 3 and all(re.fullmatch(r"sequence-digits-\d{8}-\d{4}-[0-9a-f]{6}", n) for n in names), names
