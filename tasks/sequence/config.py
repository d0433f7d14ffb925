"""The sequence-classification path's one typed config."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tasks.shared.config import Section, TrainSettings


class SequenceSplitConfig(Section):
    test_fraction: float = Field(0.2, gt=0, lt=0.5)
    val_fraction: float = Field(0.1, gt=0, lt=0.5)
    seed: int = 13


class SequenceModelConfig(Section):
    cell: Literal["lstm", "gru"] = "lstm"
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    fc_size: int = Field(64, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)


class SequenceConfig(Section):
    name: str = "sequence-default"
    split: SequenceSplitConfig = SequenceSplitConfig()
    model: SequenceModelConfig = SequenceModelConfig()
    train: TrainSettings = TrainSettings(epochs=60, batch_size=64, lr=3e-3, patience=8)
