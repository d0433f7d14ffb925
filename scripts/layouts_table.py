"""The price-layout table: each fixture of tests/tasks/forecast/layout_fixtures.py (real SBUX,
KO and MCD rows in the layouts teams have) read and validated as the forecast pipeline does,
printed as Markdown (rows read = accepted + quarantined, checked), then the one-line errors
of the files it cannot read. Prints what tests/tasks/forecast/test_layouts.py asserts.

    .venv/bin/python scripts/layouts_table.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "tasks" / "forecast")]

from layout_fixtures import READABLE, UNREADABLE  # noqa: E402

from tasks.forecast.config import PriceIngestConfig  # noqa: E402
from tasks.forecast.layouts import layout_note  # noqa: E402
from tasks.forecast.prices import read_prices  # noqa: E402
from tasks.forecast.validate import validate_prices  # noqa: E402
from tasks.shared.errors import DataError  # noqa: E402


def config_text(ingest: dict) -> str:
    """`{columns: {Date: Datetime}}`: the section as one writes it in YAML."""
    return "`ingest: " + json.dumps(ingest).replace('"', "") + "`"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("| fixture | layout | rows read | accepted | quarantined | notes |")
        print("|---|---|---|---|---|---|")
        for fx in READABLE:
            path = fx.build(folder)
            df = read_prices(path, PriceIngestConfig(**fx.ingest))
            _, quarantined, report = validate_prices(df, raise_on_reject=False)
            assert report["rows"] == len(df) == report["accepted"] + report["quarantined"], fx.name
            layout = report["layout"][path.name]
            tickers = ", ".join(f"{t} {c['accepted']}" for t, c in report["per_ticker"].items())
            notes = [layout_note(layout) or "our own layout", f"rows {layout['order']}", f"tickers: {tickers}"]
            notes += [f"quarantined: {r}" for r in sorted(set(quarantined.get("reason", [])))]
            ingest = f" ({config_text(fx.ingest)})" if fx.ingest else ""
            print(f"| `{path.relative_to(folder)}` | {fx.layout}{ingest} | {report['rows']} | {report['accepted']} | "
                  f"{report['quarantined']} | {'; '.join(notes)} |")
        print("\nFiles it cannot read (one line each):\n")
        for fx in UNREADABLE:
            path = fx.build(folder)
            try:
                read_prices(path, PriceIngestConfig(**fx.ingest))
            except DataError as exc:
                ingest = f" with {config_text(fx.ingest)}" if fx.ingest else ""
                print(f"- {fx.layout}{ingest}: `{str(exc).replace(str(folder) + '/', '')}`")
            else:
                raise AssertionError(f"{fx.name} was read")


if __name__ == "__main__":
    main()
