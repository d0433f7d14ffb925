#!/usr/bin/env python3
"""Operating the pipeline as a team, as a terminal transcript: a real Prefect server on
PostgreSQL (when installed), the process work pool, `prefect deploy --all`, a worker, then

  1. sentiment-nightly three times (small runs: the first two forced to champion, the third
     refused by the gate against TF-IDF + LR): the refusal's event, read back from the server;
  2. `registry list`, `registry rollback`, `registry list` again;
  3. the batch predictions the three training runs triggered (deployment triggers on
     lstm-pipeline.training.completed), with the registry each was given.

    .venv/bin/python scripts/team_demo.py > transcript.txt
"""
from __future__ import annotations

import bz2
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from prefect_stack import Postgres, PrefectStack  # noqa: E402

CONFIG = {"preprocess": {"seq_len": 60, "processes": 1}, "model": {"embedding_dim": 16, "hidden_size": 16},
          "train": {"epochs": 2}, "validation": {"min_rows_per_class": 5}}


def sh(stack: PrefectStack, *args: str) -> str:
    """Run the project's CLI as a user would and echo the command and its output."""
    print(f"$ lstm-pipeline {shlex.join(args)}", flush=True)
    done = subprocess.run([str(Path(sys.executable).parent / "lstm-pipeline"), *args], capture_output=True, text=True,
                          env=stack.env, cwd=ROOT, timeout=600)
    print(done.stdout.rstrip() + (f"\n[exit {done.returncode}] {done.stderr.strip()}" if done.returncode else ""))
    print(flush=True)
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="team-demo-") as tmp:
        tmp = Path(tmp)
        lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
        (tmp / "reviews.ft.txt").write_text("\n".join(lines[:800]) + "\n")
        registry = tmp / "registry"
        pg = Postgres() if Postgres.find_bindir() else None
        if pg:
            pg.__enter__()
        try:
            env = {"OMP_NUM_THREADS": "1", "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
                   **({"PREFECT_API_DATABASE_CONNECTION_URL": pg.url} if pg else {})}
            with PrefectStack(tmp / "stack", extra_env=env) as stack:
                print(f"# Prefect server {stack.api_url} on {'PostgreSQL' if pg else 'SQLite'}; "
                      "work pool lstm-pool; prefect deploy --all; one worker\n", flush=True)
                stack.cli("work-pool", "create", "lstm-pool", "--type", "process")
                stack.cli("deploy", "--all", "--no-prompt")
                stack.start_worker("lstm-pool")
                trained = []
                for night, force in ((1, True), (2, True), (3, False)):
                    params = {"data": str(tmp / "reviews.ft.txt"), "output": str(tmp / "out"), "registry": str(registry),
                              "config": {**CONFIG, "train": {"epochs": 2, "seed": night}}, "force": force}
                    print(f"$ prefect deployment run sentiment-training/sentiment-nightly --params '{json.dumps(params)}'")
                    fid = stack.run_deployment("sentiment-training/sentiment-nightly", params)
                    run = stack.wait_for([fid], timeout=600)[fid]
                    trained.append(fid)
                    print(f"  flow run {run['name']}: {run['state_type']}")
                    time.sleep(3)  # the run's last log lines reach the server shortly after its state
                    for line in stack.logs(fid).splitlines():
                        if " promoted;" in line or "LSTM test accuracy" in line:
                            print("  " + line.split(": ", 1)[-1])
                    print(flush=True)

                time.sleep(3)
                refused = stack.post("/events/filter", {"filter": {"event": {"name": ["lstm-pipeline.model.refused"]}},
                                                        "limit": 10})["events"]
                print("# the refused model's event, from the server's event feed (POST /api/events/filter)")
                for e in refused:
                    print(json.dumps({k: e[k] for k in ("event", "occurred")} | {"resource": e["resource"]["prefect.resource.id"],
                                     "payload": e["payload"]}, indent=2))
                print(flush=True)

                sh(stack, "registry", "list", "--kind", "sentiment", "--registry", str(registry))
                sh(stack, "registry", "rollback", "--kind", "sentiment", "--registry", str(registry),
                   "--reason", "v0002 flags refunds as positive", "--json")
                sh(stack, "registry", "list", "--kind", "sentiment", "--registry", str(registry))

                print("# batch predictions triggered by the training runs' completion (no cron)")
                deadline = time.monotonic() + 300
                flt = {"deployments": {"name": {"any_": ["sentiment-batch-predict"]}}, "limit": 10, "offset": 0}
                while len(batch := stack.post("/flow_runs/filter", flt)) < 3 and time.monotonic() < deadline:
                    time.sleep(2)
                done = stack.wait_for([b["id"] for b in batch], timeout=300)
                for b in sorted(done.values(), key=lambda r: r["created"]):
                    arts = {a["key"]: a for a in stack.artifacts(b["id"]) if a["key"]}
                    desc = (arts.get("sentiment-batch-prediction") or {}).get("description")
                    print(f"  {b['name']}: {b['state_type']}, registry={b['parameters']['registry']}: {desc}")
        finally:
            if pg:
                pg.__exit__(None, None, None)


if __name__ == "__main__":
    main()
