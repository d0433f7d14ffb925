"""Great Expectations (GX Core 1.x) over a batch: row-level failures become quarantine reasons,
every expectation becomes a row of the validation table shown in the Prefect UI, and GX Data
Docs render one validation as static HTML for people."""
from __future__ import annotations

import copy
import datetime
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROW_ID = "_row_id"


@dataclass
class Rule:
    """One expectation and the plain-words rule a quarantined row is tagged with."""

    rule: str
    expectation: object  # a great_expectations.expectations.Expectation


@dataclass
class SuiteOutcome:
    reasons: pd.Series  # indexed like the input frame; "" for rows that pass
    table: list[dict] = field(default_factory=list)
    examples: list[list[str]] = field(default_factory=list)  # each rule's examples, unjoined (for merging)
    suite: object = None  # the GX ExpectationSuite and its result: what Data Docs render
    result: object = None  # (of the first chunk only, when validated in chunks)

    @property
    def failed(self) -> pd.Series:
        return self.reasons != ""


_CONTEXT = None


def _context():
    """One ephemeral GX context per process (creating one costs about a second)."""
    global _CONTEXT
    if _CONTEXT is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # GX announces its temporary docs folder at INFO on every context: not news for a user.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
        _CONTEXT = gx.get_context(mode="ephemeral")
        _CONTEXT.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return _CONTEXT


def run_suite(df: pd.DataFrame, suite_name: str, rules: list[Rule]) -> SuiteOutcome:
    """Validate df against the rules; return a reason string per row and the result table.
    Callers that stream a big input validate it chunk by chunk and merge the outcomes
    (merge_outcomes); only row-level rules allow that."""
    return _run_once(df, suite_name, rules)


def _plain(value) -> str:
    """An unexpected value as a reader wants it: (4.0, 4.0078) rather than numpy reprs."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    return str(value.item() if hasattr(value, "item") else value)


def merge_tables(tables: list[list[dict]], examples: list[list[list[str]]]) -> tuple[list[dict], list[list[str]]]:
    """One validation table from the tables of consecutive chunks of a batch (same rules):
    counts add up, a rule succeeds only if it held in every chunk, examples are the first three."""
    merged = [dict(row) for row in tables[0]]
    firsts = [list(ex) for ex in examples[0]]
    for table, more_examples in zip(tables[1:], examples[1:]):
        for row, first, more, ex in zip(merged, firsts, table, more_examples, strict=True):
            row["success"] = row["success"] and more["success"]
            row["unexpected_count"] += more["unexpected_count"]
            first.extend(ex[: 3 - len(first)])
    for row, first in zip(merged, firsts):
        row["examples"] = ", ".join(first)
    return merged, firsts


def merge_outcomes(outcomes: list[SuiteOutcome]) -> SuiteOutcome:
    table, examples = merge_tables([o.table for o in outcomes], [o.examples for o in outcomes])
    return SuiteOutcome(pd.concat([o.reasons for o in outcomes]), table, examples, outcomes[0].suite, outcomes[0].result)


def _run_once(df: pd.DataFrame, suite_name: str, rules: list[Rule]) -> SuiteOutcome:
    import great_expectations as gx

    ctx = _context()
    frame = df.reset_index(drop=True).assign(**{ROW_ID: range(len(df))})
    source = ctx.data_sources.add_or_update_pandas(f"{suite_name}_source")
    asset = source.add_dataframe_asset(f"{suite_name}_{id(frame)}")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    # GX returns results grouped its own way, not in suite order: tag each expectation (a copy)
    # with its rule's position and pair results back by that tag.
    expectations = []
    for i, r in enumerate(rules):
        exp = copy.copy(r.expectation)
        exp.meta = {**(exp.meta or {}), "rule_index": i, "rule": r.rule}
        expectations.append(exp)
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    result = batch.validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID]},
    )
    reasons = [[] for _ in range(len(frame))]
    table, example_lists = [], []
    ordered = sorted(result.results, key=lambda res: res.expectation_config.meta["rule_index"])
    for res in ordered:
        rule = rules[res.expectation_config.meta["rule_index"]]
        info = res.result or {}
        idx = [int(d[ROW_ID]) for d in info.get("unexpected_index_list") or [] if ROW_ID in d]
        for i in idx:
            reasons[i].append(rule.rule)
        examples = [_plain(v)[:60] for v in (info.get("partial_unexpected_list") or [])[:3]]
        table.append({
            "expectation": res.expectation_config.type,
            "column": res.expectation_config.kwargs.get("column", ""),
            "rule": rule.rule,
            "success": bool(res.success),
            "unexpected_count": int(info.get("unexpected_count") or 0),
            "examples": ", ".join(examples),
        })
        example_lists.append(examples)
    source.delete_asset(asset.name)
    return SuiteOutcome(pd.Series(["; ".join(r) for r in reasons], index=df.index, dtype="string"), table, example_lists,
                        suite, result)


def split_quarantine(df: pd.DataFrame, outcome: SuiteOutcome, extra_reasons: pd.Series | None = None):
    """(accepted rows, quarantined rows with a `reason` column). Extra reasons (rules checked
    in pandas) are merged with GX's."""
    reasons = outcome.reasons
    if extra_reasons is not None:
        reasons = (reasons.str.cat(extra_reasons, sep="; ")).str.strip("; ")
    bad = reasons != ""
    return df[~bad].copy(), df[bad].assign(reason=reasons[bad])


# ---- GX Data Docs: static HTML of one validation, for people (the report is for programs) ----

_DOCS_LOCK = threading.Lock()  # the docs site, suite and result pass through the one shared context


_PER_ROW_KEYS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query", "partial_unexpected_index_list")


_DOCS_EXAMPLE_CHARS = 200


def _short(value):
    return value[:_DOCS_EXAMPLE_CHARS] + "..." if isinstance(value, str) and len(value) > _DOCS_EXAMPLE_CHARS else value


def _for_docs(result, run_id):
    """A copy of a suite result without the per-row lists (COMPLETE results hold one entry per
    failing row: megabytes on a bad batch) and with examples cut short (one review can be
    megabytes long). The pages show counts and examples only."""
    out = copy.copy(result)
    out.meta = {**result.meta, "run_id": run_id, "validation_time": run_id.run_time}  # shown on the page
    out.results = []
    for evr in result.results:
        info = {k: v for k, v in (evr.result or {}).items() if k not in _PER_ROW_KEYS}
        if "partial_unexpected_list" in info:
            info["partial_unexpected_list"] = [_short(v) for v in info["partial_unexpected_list"]]
        if "partial_unexpected_counts" in info:
            info["partial_unexpected_counts"] = [{**c, "value": _short(c.get("value"))}
                                                 for c in info["partial_unexpected_counts"]]
        evr = copy.copy(evr)
        evr.result = info
        out.results.append(evr)
    return out


def build_data_docs(outcome: SuiteOutcome, docs_dir: str | Path, run_name: str) -> Path:
    """Write GX Data Docs (index.html, the suite's page, the validation's page) for one outcome
    into docs_dir; return the index.html path.

    GX renders docs from its stores: the suite and the result are put into the shared ephemeral
    context only for the build and taken out after it, so each folder shows its own run."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    docs_dir = Path(docs_dir).resolve()  # GX wants an absolute base_directory (outputs are often relative)
    ctx = _context()
    site = f"docs-{uuid.uuid4().hex[:12]}"
    run_name = re.sub(r"[^\w.,+-]+", "_", run_name)[:100]  # a folder name in the docs
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.UTC))
    key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=outcome.suite.name), run_id, "batch")
    with _DOCS_LOCK:
        ctx.add_data_docs_site(site, {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        })
        ctx.suites.add_or_update(outcome.suite)
        ctx.validation_results_store.set(key, _for_docs(outcome.result, run_id))
        try:
            ctx.build_data_docs(site_names=[site])
        finally:  # out of the shared context again, even when the build fails
            ctx.validation_results_store.remove_key(key)
            ctx.suites.delete(outcome.suite.name)
            ctx.delete_data_docs_site(site)
    # GX copies 3.4 MB of tutorial animations along with its styles; no page links to them
    for gif in (docs_dir / "static" / "images").glob("*.gif"):
        gif.unlink()
    return docs_dir / "index.html"
