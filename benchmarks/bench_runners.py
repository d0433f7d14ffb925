"""The task runners against each other, each ratio measured in this one run:

- tokenization of N distinct-looking reviews (the bundled ones, perturbed: benchmarks/
  bench_batch_predict.py makes them) in shards of 20,000: the private pool with 1 and 2
  processes, a local Dask cluster of 1 and 2 workers, Prefect's process pool of 2;
- ingest and validation of the 40 price histories (../shared/data/stocks/history): one after
  another (local), Dask with 1 and 2 workers.

Each runs inside a Prefect flow (an ephemeral API server), as in the pipeline.

    .venv/bin/python benchmarks/bench_runners.py [--reviews 200000] [--history ../shared/data/stocks/history]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pandas as pd  # noqa: E402
from prefect import flow  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch_predict import perturbed_reviews  # noqa: E402

from tasks.forecast.config import PriceValidationConfig  # noqa: E402
from tasks.forecast.ingest import ingest_prices_task  # noqa: E402
from tasks.forecast.prices import list_price_files  # noqa: E402
from tasks.forecast.validate import validate_prices_task  # noqa: E402
from tasks.sentiment.config import PreprocessConfig, SplitConfig  # noqa: E402
from tasks.sentiment.tokenize import tokenize_reviews  # noqa: E402
from tasks.shared.caching import run_stages  # noqa: E402
from tasks.shared.hashing import file_sha256  # noqa: E402
from tasks.shared.runners import execution  # noqa: E402


@flow(name="bench-tokenize")
def tokenize_on(valid: str, out: str, runner: str, workers: int) -> float:
    with execution(runner, workers):
        t0 = time.perf_counter()
        tokenize_reviews(valid, out, PreprocessConfig(processes=workers, shard_rows=20_000), SplitConfig())
        return time.perf_counter() - t0


@flow(name="bench-prices")
def prices_on(files: list[str], out: str, runner: str, workers: int) -> float:
    with execution(runner, workers):
        t0 = time.perf_counter()
        ingested = run_stages(ingest_prices_task, out, [{"source": f, "source_sha256": file_sha256(f)} for f in files])
        run_stages(validate_prices_task, out, [{"prices": i.result.prices, "source": f,
                                                "validation": PriceValidationConfig()} for i, f in zip(ingested, files)])
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=int, default=200_000)
    ap.add_argument("--history", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "stocks" / "history"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        texts = perturbed_reviews(args.reviews).read_text(encoding="utf-8").splitlines()
        valid = tmp / "valid.parquet"
        pd.DataFrame({"row": range(1, len(texts) + 1), "label": [i % 2 for i in range(len(texts))],
                      "text": texts}).to_parquet(valid)
        print(f"tokenization of {len(texts)} reviews (shards of 20,000), {os.cpu_count()} cores")
        base = None
        for name, runner, workers in [("private pool, 1 process", "local", 1), ("private pool, 2 processes", "local", 2),
                                      ("Dask, 1 worker", "dask", 1), ("Dask, 2 workers", "dask", 2),
                                      ("Prefect process pool, 2", "processes", 2)]:
            seconds = tokenize_on(str(valid), str(tmp / f"tok-{runner}-{workers}"), runner, workers)
            base = base or seconds
            print(f"  {name:<28} {seconds:7.1f} s  {len(texts) / seconds:8.0f} reviews/s  x{base / seconds:.2f}", flush=True)
        files = [str(f) for f in list_price_files(args.history)]
        print(f"ingest + validation of {len(files)} price histories")
        base = None
        for name, runner, workers in [("one after another (local)", "local", 1), ("Dask, 1 worker", "dask", 1),
                                      ("Dask, 2 workers", "dask", 2)]:
            seconds = prices_on(files, str(tmp / f"prices-{runner}-{workers}"), runner, workers)
            base = base or seconds
            print(f"  {name:<28} {seconds:7.1f} s  x{base / seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()
