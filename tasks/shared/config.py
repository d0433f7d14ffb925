"""The config types both pipelines' configs are made of. Each pipeline has one typed config
(tasks/sentiment/config.py, tasks/forecast/config.py): it is the flow's parameter, so the
Prefect UI renders it as a form and rejects bad values with clear messages, and every stage
takes its own section of it as it is (no dict copies, no mirrors with defaults of their own)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainSettings(Section):
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    clip: float = Field(5.0, ge=0)
    patience: int = Field(2, ge=1)
    eval_every_steps: int | None = Field(None, ge=1)
    max_minutes: float | None = Field(None, gt=0, description="Time cap on training: past it, one last validation "
                                                              "and the best weights so far; empty: none")
    seed: int = 13
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: bool = True


class GateConfig(Section):
    """The champion/challenger gate: a candidate is promoted only if it beats a baseline and the
    current champion, on the candidate's test data, by this margin."""

    margin: float = Field(0.005, ge=0, description="Required improvement of the gate metric "
                                                   "(sentiment: accuracy, higher; forecast: MASE, lower)")
    baseline: Literal["strongest", "naive"] = Field(
        "strongest", description="strongest: the best baseline of the run (sentiment: TF-IDF + LR or the majority "
                                 "class; forecast: the best of four); naive: the lenient choice (majority class, "
                                 "persistence)")


class DataDocsConfig(Section):
    """Where the GX Data Docs of each run are published so the UI's readers can open them from
    their own machines (the validation artifact links there). Not part of any cache key."""

    publish_to: str | None = Field(None, description="A folder or fsspec URL (e.g. s3://bucket/data-docs) the site is "
                                                     "copied to; empty: the link points at the local file")
    base_url: str | None = Field(None, description="How a browser reaches publish_to (e.g. https://bucket.s3.amazonaws"
                                                   ".com/data-docs or a static web server); empty: publish_to itself")


class SharedCacheConfig(Section):
    """Stage outputs shared between hosts: every completed stage folder is mirrored to `shared`,
    and a run on another host that needs the same stage (same inputs, config and code) copies it
    from there instead of computing it. Not part of any cache key."""

    shared: str | None = Field(None, description="An fsspec URL (e.g. s3://bucket/lstm-cache) every worker can reach; "
                                                 "empty: stage outputs stay in this host's output folder")
