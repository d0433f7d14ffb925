"""Ingest daily OHLCV prices (tasks/forecast/prices.py reads them) -> prices.parquet, one row per
data line, source file and row kept. Validation (tasks/forecast/validate.py) decides which rows
a model may learn from.

How each file was read (its layout: columns mapped, extras ignored, Adj Close from Close) rides
in the frame's `attrs["layouts"]`, which pandas keeps in the Parquet file's metadata, so the
validation stage reads it with the rows and puts it in its report; `layout` of the result
holds it for the flow's log."""
from __future__ import annotations

import json
from pathlib import Path

from tasks.shared.caching import cached_task, staging

from .config import PriceIngestConfig
from .prices import read_prices
from .results import IngestedPrices


@cached_task(name="ingest-prices", stage="ingest", ignore=('source',))
def ingest_prices_task(source: str, source_sha256: str, out_dir: str,
                       ingest: PriceIngestConfig = PriceIngestConfig()) -> IngestedPrices:
    df = read_prices(source, ingest)
    # file names, not paths: the stage is keyed on content, so a hit may come from another folder
    df["source_file"] = df["source_file"].map(lambda p: Path(p).name)
    with staging(out_dir) as tmp:
        df.to_parquet(tmp / "prices.parquet", index=False)
        meta = {"source": str(source), "source_sha256": source_sha256, "rows": len(df),
                "files": int(df["source_file"].nunique()), "tickers": sorted(df["ticker"].unique().tolist()),
                "layout": df.attrs["layouts"]}
        (tmp / "ingest.json").write_text(json.dumps(meta, indent=2))
    return IngestedPrices(**meta, prices=str(Path(out_dir) / "prices.parquet"))
