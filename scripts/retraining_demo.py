#!/usr/bin/env python3
"""Four nights of scheduled retraining, compressed: a real Prefect server (UI included), the
process work pool, `prefect deploy --all`, a worker, then `sentiment-nightly` triggered four
times on one registry, as the schedule would:

  1. the bundled reviews                         -> v0001, champion (nothing to beat but the baseline)
  2. the same data again                         -> all cache hits, the gate keeps v0001
  3. a deliberately worse config (tiny model)    -> v0002, not promoted, with reasons
  4. the 459 held-back reviews arrive            -> only the new shard is tokenized

and a batch prediction with the champion. Prints each run's story (cached stages, gate,
drift) from the API and leaves the server up for a screenshot with --keep.

    .venv/bin/python scripts/retraining_demo.py [--keep] [--screenshot docs/ui-run-artifacts.png]
"""
from __future__ import annotations

import argparse
import bz2
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from prefect_stack import PrefectStack  # noqa: E402

# 6,000 reviews = 3 full shards; the 459 new ones make a 4th. The gate compares with the majority class
# (the lenient setting): on 6 k reviews the LSTM loses to TF-IDF + LR, and the demo is about the champion's life
SHARDS = {"preprocess": {"shard_rows": 2000}, "gate": {"baseline": "naive"}}
WORSE = {**SHARDS, "model": {"embedding_dim": 4, "hidden_size": 4}, "train": {"epochs": 1}}


def story(stack: PrefectStack, fid: str) -> str:
    logs = stack.logs(fid, limit=200)
    keep = [m.group(1) for m in re.finditer(r"(?m)^\S+ +\d+ [\w.]+: (rows read .*|tokenized .*|LSTM test .*|v\d{4} .*)$", logs)]
    return "\n".join("    " + line for line in keep)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep", action="store_true", help="leave the server running at the end (Ctrl-C stops it)")
    p.add_argument("--screenshot", type=Path, help="PNG of the last training run's Artifacts tab")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="retraining-demo-"))
    out = ROOT / "outputs" / "retraining-demo"
    shutil.rmtree(out, ignore_errors=True)
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    data = work / "reviews.ft.txt"
    data.write_text("\n".join(lines[:6000]) + "\n")  # the last 459 reviews arrive on night 4
    base = {"data": str(data), "output": str(out)}

    with PrefectStack(work / "stack", ui=True) as stack:
        print(f"server {stack.ui_url} (PREFECT_API_URL={stack.api_url})", flush=True)
        stack.cli("work-pool", "create", "lstm-pool", "--type", "process")
        stack.cli("deploy", "--all", "--no-prompt")
        stack.start_worker("lstm-pool", "demo-worker")
        nights = [("1. first night", {**base, "config": SHARDS}),
                  ("2. nothing new", {**base, "config": SHARDS}),
                  ("3. worse config", {**base, "config": WORSE}),
                  ("4. 459 new reviews appended", {**base, "config": SHARDS})]
        last = None
        for title, params in nights:
            if title.startswith("4."):
                with data.open("a") as fh:
                    fh.write("\n".join(lines[6000:]) + "\n")
            fid = stack.run_deployment("sentiment-training/sentiment-nightly", params)
            run = stack.wait_for([fid], timeout=1200)[fid]
            print(f"{title}: {run['state_name']} in {run.get('total_run_time', 0):.0f} s (flow run {fid})")
            print(story(stack, fid), flush=True)
            if run["state_type"] != "COMPLETED":
                print(stack.logs(fid)[-3000:])
                sys.exit(1)
            last = fid
        fid = stack.run_deployment("batch-prediction/sentiment-batch-predict",
                                   {"data": str(data), "registry": str(out / "registry"),
                                    "output": str(out / "predictions")})
        run = stack.wait_for([fid], timeout=600)[fid]
        print(f"5. batch prediction: {run['state_name']}")
        print("\n".join("    " + a["description"] for a in stack.artifacts(fid) if a.get("description")))
        if args.screenshot:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "ui_screenshot.py"), "--api-url", stack.api_url,
                            "--flow-run-id", last, "--output", str(args.screenshot)], check=True)
        if args.keep:
            print(f"UI: {stack.ui_url}  (Ctrl-C to stop)", flush=True)
            try:
                stack.server.wait()
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
