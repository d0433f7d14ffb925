"""The config types both pipelines' configs are made of. Each pipeline has one typed config
(tasks/sentiment/config.py, tasks/forecast/config.py): it is the flow's parameter, so the
Prefect UI renders it as a form and rejects bad values with clear messages, and every stage
takes its own section of it as it is (no dict copies, no mirrors with defaults of their own)."""
from __future__ import annotations

from dataclasses import fields
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lstm_models.training import TrainConfig


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


REQUIRED_IN_LOOP = ("epochs", "batch_size", "lr", "patience")  # settings a pipeline may leave to its rules


class TrainSettings(Section):
    """The training loop's settings as a config section: the fields of lstm_models' TrainConfig
    that a user sets, with its defaults; `loop_config()` builds the loop's TrainConfig from it
    (the one conversion, used by every pipeline)."""

    epochs: int = Field(TrainConfig.epochs, ge=1)
    batch_size: int = Field(TrainConfig.batch_size, ge=1)
    lr: float = Field(TrainConfig.lr, gt=0)
    weight_decay: float = Field(TrainConfig.weight_decay, ge=0)
    clip: float = Field(TrainConfig.clip, ge=0)
    patience: int = Field(TrainConfig.patience, ge=1)
    eval_every_steps: int | None = Field(TrainConfig.eval_every_steps, ge=1)
    max_minutes: float | None = Field(TrainConfig.max_minutes, gt=0,
                                      description="Time cap on training: past it, one last validation and the best "
                                                  "weights so far; empty: none")
    seed: int = TrainConfig.seed
    device: Literal["auto", "cpu", "cuda", "mps"] = TrainConfig.device
    amp: bool = TrainConfig.amp

    def loop_config(self, **overrides) -> TrainConfig:
        """The training loop's TrainConfig: every field this section shares with it, then the
        overrides (values a pipeline derives from the data: a samples budget, a cadence)."""
        values = {f.name: getattr(self, f.name) for f in fields(TrainConfig) if f.name in type(self).model_fields}
        values.update(overrides)
        unset = sorted(k for k, v in values.items() if v is None and k in REQUIRED_IN_LOOP)
        if unset:
            raise ValueError(f"train settings not resolved before training: {', '.join(unset)}")
        return TrainConfig(**values)


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


class RetentionConfig(Section):
    """What a run removes after it completes (off unless set; the nightly deployments set it).
    Never the champion or its rollback history, never a stage folder the last runs used. Not
    part of any cache key."""

    keep_versions: int | None = Field(None, ge=1, description="Registry versions to keep, newest first (the champion "
                                                              "and its rollback history are kept besides); empty: all")
    keep_runs: int | None = Field(None, ge=1, description="Stage folders and token shards the last N runs used are "
                                                          "kept, the rest removed; empty: all")
    max_age_days: float | None = Field(None, gt=0, description="Also remove stage folders and shards last used longer "
                                                               "ago than this; empty: no age limit")
