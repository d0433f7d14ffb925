"""What a stage hands on: one frozen dataclass per stage result, so the flow reads fields that
are declared here rather than keys learnt by reading the task.

A result travels as JSON (Prefect's persisted result, `_result.json` in the stage folder), so
each is built from plain values: paths, counts, and the stage's own JSON report where there is
one (a validation or training report is a document with its own keys, kept whole). `from_json`
is strict: a key on one side only is an error, not a silent gap.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass


@dataclass(frozen=True)
class StageResult:
    """Base of the stage results: a strict round trip through JSON."""

    @classmethod
    def from_json(cls, value: dict) -> "StageResult":
        names = {f.name for f in fields(cls)}
        if set(value) - names:
            raise TypeError(f"{cls.__name__}: unexpected fields {sorted(set(value) - names)}")
        return cls(**value)

    def to_json(self) -> dict:
        return asdict(self)


def as_json(value):
    """A stage result (or anything else) as plain JSON values."""
    return value.to_json() if isinstance(value, StageResult) else asdict(value) if is_dataclass(value) else value


@dataclass(frozen=True)
class Validation(StageResult):
    """A validated batch (validate-reviews, validate-prices, combine-validated)."""

    valid: str  # valid.parquet: the accepted rows
    quarantine: str  # quarantine.parquet: the rejected rows, each with its reason
    rows: dict  # read = accepted + quarantined
    rejected: str | None  # why the batch as a whole is unusable; None when it is usable
    report: dict  # validation.json: suite, GX expectations table, per-class or per-ticker counts, Data Docs

    @classmethod
    def of(cls, report: dict, out_dir) -> "Validation":
        """The result of a validation stage whose folder holds valid/quarantine.parquet and report."""
        return cls(valid=f"{out_dir}/valid.parquet", quarantine=f"{out_dir}/quarantine.parquet", rows=report["rows"],
                   rejected=report["rejected"], report=report)


@dataclass(frozen=True)
class Trained(StageResult):
    """A trained model (train-lstm, train-regressor, train-sequence-classifier)."""

    weights: str  # model.safetensors
    summary: str  # training.json
    training: dict  # its content: history, best epoch, device, samples/s, early stop, resumed-from

    @property
    def device(self) -> str:
        return self.training["device"]
