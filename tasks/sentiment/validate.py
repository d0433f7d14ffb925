"""Validate reviews with the GX suite `reviews-v1`: raw.parquet -> valid.parquet (int labels) +
quarantine.parquet (each rejected row with its reason and source), streamed chunk by chunk, and
a report that says whether the batch as a whole can be trained on."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.shared.caching import cached_task, staging
from tasks.shared.gx import Rule, SuiteOutcome, build_data_docs, merge_outcomes, run_suite, split_quarantine
from tasks.shared.results import Validation

from .config import ReviewValidationConfig
from .ingest import CHUNK_ROWS, RAW_SCHEMA

# The review expectation suite. Bump the version when a rule is added, dropped or changes
# meaning: reports and Data Docs name it, so results of different rule sets are told apart.
SUITE_NAME = "reviews"
SUITE_VERSION = "reviews-v1"


def review_rules(label_map: dict[str, int], max_text_chars: int):
    """The suite SUITE_VERSION: all row-level, so chunks can be validated one at a time."""
    import great_expectations as gx

    E = gx.expectations
    allowed = sorted(label_map)
    return [
        Rule("undecodable bytes", E.ExpectColumnValuesToBeNull(column="parse_error")),
        Rule("missing label", E.ExpectColumnValuesToNotBeNull(column="label_raw")),
        Rule(f"label not in {{{', '.join(allowed)}}}", E.ExpectColumnValuesToBeInSet(column="label_raw", value_set=allowed)),
        Rule("missing text", E.ExpectColumnValuesToNotBeNull(column="text")),
        Rule("empty text", E.ExpectColumnValuesToNotMatchRegex(column="text", regex=r"^\s*$")),
        # a line of megabytes is a file without line breaks or binary junk, not a review
        Rule(f"text longer than {max_text_chars} characters",
             E.ExpectColumnValueLengthsToBeBetween(column="text", max_value=max_text_chars)),
    ]


VALID_SCHEMA = pa.schema([("row", pa.int64()), ("label_raw", pa.string()), ("text", pa.string()), ("label", pa.int8())])


QUARANTINE_SCHEMA = pa.schema([*RAW_SCHEMA, ("reason", pa.string()), ("source", pa.string())])


class ReviewValidation:
    """Validates a batch chunk by chunk (GX sees one chunk at a time) and adds up the report;
    the result does not depend on the chunk size (the review rules are all row-level)."""

    def __init__(self, label_map: dict[str, int], source: str, validation: ReviewValidationConfig):
        self.label_map, self.source, self.validation = label_map, source, validation
        self.rules = review_rules(label_map, validation.max_text_chars)
        self.read = self.accepted = self.quarantined = 0
        self.per_class: Counter = Counter()
        self.reasons: Counter = Counter()
        self.first_row: dict[str, int] = {}  # reason -> first quarantined row with it
        self.outcomes = []
        self.docs_outcome: SuiteOutcome | None = None  # the first chunk's GX result, for Data Docs

    def add(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(accepted with int label, quarantined with reason) for one chunk."""
        outcome = run_suite(raw, SUITE_VERSION, self.rules)
        if self.docs_outcome is None:
            self.docs_outcome = outcome
        accepted, quarantined = split_quarantine(raw, outcome)
        accepted = accepted.drop(columns=["parse_error"]).assign(label=accepted["label_raw"].map(self.label_map).astype("int8"))
        quarantined = quarantined.assign(source=self.source)
        self.outcomes.append(SuiteOutcome(pd.Series(dtype="string"), outcome.table, outcome.examples))
        self.read += len(raw)
        self.accepted += len(accepted)
        self.quarantined += len(quarantined)
        self.per_class.update(accepted["label"].value_counts().to_dict())
        for row, reason in zip(quarantined["row"], quarantined["reason"]):
            for r in reason.split("; "):
                self.reasons[r] += 1
                self.first_row.setdefault(r, int(row))
        return accepted, quarantined

    def report(self) -> dict:
        """The report says whether the batch as a whole is usable and, if not, why."""
        assert self.read == self.accepted + self.quarantined, "rows read must equal accepted + quarantined"
        report = {
            "source": self.source,
            "suite": {"name": SUITE_NAME, "version": SUITE_VERSION},
            "rows": {"read": self.read, "accepted": self.accepted, "quarantined": self.quarantined},
            "per_class": {str(k): int(self.per_class[k]) for k in sorted(self.per_class)},
            "quarantine_reasons": dict(self.reasons.most_common()),
            "expectations": merge_outcomes(self.outcomes).table if self.outcomes else [],
            "rejected": None,
        }
        report["rejected"] = batch_problem(report, self.first_row, self.validation)
        return report


def validate_raw(raw_path: str | Path, label_map: dict[str, int], source: str, validation: ReviewValidationConfig,
                 out_dir: str | Path,
                 chunk_rows: int = CHUNK_ROWS, docs_dir: str | Path | None = None) -> dict:
    """raw.parquet -> valid.parquet + quarantine.parquet, streamed chunk by chunk; the report.
    With docs_dir, GX Data Docs of the first chunk go there (rendering millions of rows' results
    is not cheap; the report's counts always cover every row)."""
    out_dir = Path(out_dir)
    check = ReviewValidation(label_map, source, validation)
    with pq.ParquetWriter(out_dir / "valid.parquet", VALID_SCHEMA) as valid, \
            pq.ParquetWriter(out_dir / "quarantine.parquet", QUARANTINE_SCHEMA) as quarantine:
        for batch in pq.ParquetFile(raw_path).iter_batches(batch_size=chunk_rows):
            accepted, quarantined = check.add(batch.to_pandas())
            valid.write_table(pa.Table.from_pandas(accepted, schema=VALID_SCHEMA, preserve_index=False))
            quarantine.write_table(pa.Table.from_pandas(quarantined, schema=QUARANTINE_SCHEMA, preserve_index=False))
    report = check.report()
    if docs_dir is not None and check.docs_outcome is not None:
        report["data_docs"] = str(build_data_docs(check.docs_outcome, docs_dir, source))
        shown = len(check.docs_outcome.reasons)
        report["data_docs_scope"] = (f"all {shown} rows" if shown == check.read else
                                     f"first {shown} of {check.read} rows (the first chunk)")
    return report


def batch_problem(report: dict, first_row: dict[str, int], validation: ReviewValidationConfig) -> str | None:
    """Why the batch as a whole cannot be trained on (None when it can)."""
    rows = report["rows"]
    if rows["quarantined"]:
        top, n = next(iter(report["quarantine_reasons"].items()))
        why = f"most common reason '{top}' ({n} rows, first at row {first_row[top]})"
    if rows["accepted"] == 0:
        return f"all {rows['read']} rows were quarantined: {why}"
    share = rows["quarantined"] / rows["read"]
    if share > validation.max_quarantine_fraction:
        return (f"{rows['quarantined']} of {rows['read']} rows quarantined ({share:.0%}, limit "
                f"{validation.max_quarantine_fraction:.0%}): {why}")
    for cls, name in ((0, "negative"), (1, "positive")):
        n = report["per_class"].get(str(cls), 0)
        if n < validation.min_rows_per_class:
            return (f"class {cls} ({name}) has {n} accepted rows, fewer than the minimum "
                    f"{validation.min_rows_per_class} (validation.min_rows_per_class)")
    return None


@cached_task(name="validate-reviews", stage="validate", ignore=('source',))
def validate_reviews_task(raw: str, label_map: dict, source: str, validation: ReviewValidationConfig,
                          out_dir: str) -> Validation:
    with staging(out_dir) as tmp:
        report = validate_raw(raw, label_map, Path(source).name, validation, tmp,
                              docs_dir=tmp / "data_docs")
        out = Path(out_dir)
        if "data_docs" in report:
            report["data_docs"] = str(out / "data_docs" / "index.html")  # where staging moves it
        (tmp / "validation.json").write_text(json.dumps(report, indent=2))
    return Validation.of(report, out)
