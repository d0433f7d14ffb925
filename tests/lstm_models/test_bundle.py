import pickle

import pytest
import torch

from lstm_models.bundle import (
    WEIGHTS,
    BundleError,
    read_json,
    read_weights,
    write_bundle,
)


def test_round_trip_and_refuses_existing_target(tmp_path):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    b = write_bundle(tmp_path / "b1", state, {"config.json": {"kind": "x"}}, {"card.md": "# hi"})
    assert read_json(b, "config.json") == {"kind": "x"}
    torch.testing.assert_close(read_weights(b)["w"], state["w"])
    assert [p.name for p in tmp_path.iterdir()] == ["b1"]  # no temporary folder left behind
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(tmp_path / "b1", state, {})


def test_pickled_weights_are_refused(tmp_path):
    b = write_bundle(tmp_path / "b", {"w": torch.zeros(2)}, {"config.json": {}})
    (b / WEIGHTS).write_bytes(pickle.dumps({"w": torch.zeros(2)}))
    with pytest.raises(BundleError, match="not a safetensors file"):
        read_weights(b)
