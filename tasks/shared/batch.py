"""Where batch predictions go and how a batch run is summarised (both pipelines)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def prediction_path(output: str | Path, kind: str, version: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(output) / f"{kind}-{version}-{stamp}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def summary_markdown(result: dict, registry: str) -> str:
    return "\n".join([f"# Batch prediction ({result['kind']})", "",
                      f"- Model: `{result['version']}` from `{registry}`",
                      f"- Rows written: {result['rows']}", f"- Output: `{result['predictions']}`",
                      "", "```json", json.dumps(result, indent=2), "```"])
