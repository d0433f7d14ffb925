#!/usr/bin/env python3
"""Screenshot of a flow run's Artifacts tab in the Prefect UI, taken with headless Chromium.

    .venv/bin/python scripts/ui_screenshot.py                        # latest completed run on :4200
    .venv/bin/python scripts/ui_screenshot.py --api-url http://127.0.0.1:4200/api --flow-run-id <id>
    .venv/bin/python scripts/ui_screenshot.py --demo                 # own temporary server + small run
    .venv/bin/python scripts/ui_screenshot.py --demo --artifact sentiment-loss-curves   # the plot's page

`./dev.sh screenshot [options]` installs Chromium (apt) when it is missing, then runs this.
The page is the UI route /v2/runs/flow-run/<id>?tab=Artifacts of the server behind --api-url
(the v2 UI's base is read from the server's /ui-settings).
--demo starts a throwaway Prefect server with the UI (scripts/prefect_stack.py), trains the
sentiment flow on 600 bundled reviews with a tiny config against it, screenshots that run, and
stops the server.
"""
from __future__ import annotations

import argparse
import bz2
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "ui-run-artifacts.png"
DEMO_CONFIG = """\
name: ui-demo
preprocess: {seq_len: 80, min_count: 2, processes: 1}
model: {embedding_dim: 32, hidden_size: 32}
train: {epochs: 3, batch_size: 64, patience: 2}
validation: {min_rows_per_class: 5}
"""


def api(api_url: str, path: str, body: dict | None = None):
    req = urllib.request.Request(api_url.rstrip("/") + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def latest_completed_run(api_url: str) -> str:
    runs = api(api_url, "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                                              "sort": "END_TIME_DESC", "limit": 1, "offset": 0})
    if not runs:
        sys.exit(f"no completed flow run on {api_url}: run a flow first or pass --flow-run-id")
    return runs[0]["id"]


def find_chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    sys.exit("chromium not found: `./dev.sh screenshot` installs it (apt-get install chromium), or set CHROMIUM")


def ui_prefix(api_url: str) -> str:
    """The new (v2, React) UI's base where the server has it, else the v1 UI's."""
    ui = api_url.rstrip("/").removesuffix("/api")
    try:
        with urllib.request.urlopen(f"{ui}/ui-settings", timeout=30) as resp:
            base = json.loads(resp.read()).get("v2_base_url")
    except (OSError, ValueError):
        base = None
    return f"{ui}{base.rstrip('/')}" if base else ui


def flow_run_page(api_url: str, flow_run_id: str, tab: str) -> str:
    """The flow run's page: the v2 UI honours ?tab= on load (v1 resets it to Logs while loading)."""
    return f"{ui_prefix(api_url)}/runs/flow-run/{flow_run_id}?tab={tab.replace(' ', '')}"


def artifact_page(api_url: str, flow_run_id: str, key: str) -> str:
    """The page of the run's artifact with this key (an image artifact shows its picture there)."""
    found = api(api_url, "/artifacts/filter", {"artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [flow_run_id]}},
                                              "limit": 1, "offset": 0, "sort": "CREATED_DESC"})
    if not found:
        sys.exit(f"flow run {flow_run_id} has no artifact {key!r}")
    return f"{ui_prefix(api_url)}/artifacts/artifact/{found[0]['id']}"


def task_run_page(api_url: str, flow_run_id: str, name: str) -> str:
    """The page of the run's first task run whose name starts with `name`, on its Task Inputs tab
    (a stage's inputs as the UI shows them)."""
    found = [t for t in api(api_url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}},
                                                            "limit": 200, "offset": 0}) if t["name"].startswith(name)]
    if not found:
        sys.exit(f"flow run {flow_run_id} has no task run named {name}*")
    return f"{ui_prefix(api_url)}/runs/task-run/{found[0]['id']}?tab=TaskInputs"


def screenshot(api_url: str, flow_run_id: str, output: Path, tab: str = "Artifacts", wait_ms: int = 20000,
               window: str = "1600,1350", artifact: str | None = None, task_run: str | None = None) -> Path:
    api(api_url, f"/flow_runs/{flow_run_id}")  # fails early and clearly on a wrong URL or id
    url = (artifact_page(api_url, flow_run_id, artifact) if artifact else
           task_run_page(api_url, flow_run_id, task_run) if task_run else flow_run_page(api_url, flow_run_id, tab))
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", f"--window-size={window}",
               f"--virtual-time-budget={wait_ms}", f"--screenshot={output}", url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + wait_ms / 1000)
    if done.returncode != 0 or not output.exists():
        sys.exit(f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"{url}\n-> {output} ({output.stat().st_size // 1024} KB)")
    return output


def demo(output: Path, wait_ms: int, window: str, artifact: str | None = None, tab: str = "Artifacts",
         runs: int = 1, task_run: str | None = None) -> Path:
    """runs: train this many times; from the second on, every stage is reused and shows as Cached."""
    from prefect_stack import PrefectStack  # beside this script

    with tempfile.TemporaryDirectory(prefix="ui-demo-") as tmp:
        tmp = Path(tmp)
        lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
        (tmp / "reviews-600.ft.txt").write_text("\n".join(lines[:600]) + "\n", encoding="utf-8")
        (tmp / "ui-demo.yaml").write_text(DEMO_CONFIG)
        with PrefectStack(tmp / "stack", ui=True) as stack:
            print(f"Prefect server with UI at {stack.ui_url}; training a small sentiment model...", flush=True)
            for _ in range(runs):
                t0 = time.monotonic()
                subprocess.run([str(Path(sys.executable).parent / "lstm-pipeline"), "sentiment", "train",
                                "--data", str(tmp / "reviews-600.ft.txt"), "--output", str(tmp / "out"),
                                "--config", str(tmp / "ui-demo.yaml")], cwd=ROOT, env=stack.env, check=True)
                print(f"trained in {time.monotonic() - t0:.0f} s", flush=True)
            return screenshot(stack.api_url, latest_completed_run(stack.api_url), output, tab=tab, wait_ms=wait_ms,
                              window=window, artifact=artifact, task_run=task_run)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--api-url", default=os.environ.get("PREFECT_API_URL", "http://127.0.0.1:4200/api"))
    p.add_argument("--flow-run-id", help="default: the latest completed flow run")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--tab", default="Artifacts", help="flow run page tab: Artifacts, Logs, TaskRuns, SubflowRuns, Parameters, Details")
    p.add_argument("--wait-ms", type=int, default=20000, help="Chromium --virtual-time-budget")
    p.add_argument("--window", default="1600,1350")
    p.add_argument("--artifact", help="screenshot this artifact's page instead (e.g. sentiment-loss-curves: the plot)")
    p.add_argument("--task-run", help="screenshot the Task Inputs tab of the run's task run named so (e.g. "
                                      "tokenize-reviews) instead")
    p.add_argument("--demo", action="store_true", help="temporary server + small sentiment run, then screenshot")
    p.add_argument("--runs", type=int, default=1, help="--demo: train this many times (2: the second run's stages "
                                                        "show as Cached; with --tab TaskRuns)")
    a = p.parse_args()
    if a.demo:
        find_chromium()
        demo(a.output, a.wait_ms, a.window, a.artifact, a.tab, a.runs, a.task_run)
        return
    try:
        screenshot(a.api_url, a.flow_run_id or latest_completed_run(a.api_url), a.output, a.tab, a.wait_ms, a.window,
                   a.artifact, a.task_run)
    except urllib.error.HTTPError as exc:
        sys.exit(f"{exc.url}: HTTP {exc.code} (wrong --flow-run-id?)")
    except urllib.error.URLError as exc:
        sys.exit(f"cannot reach the Prefect API at {a.api_url} ({exc.reason}): start `prefect server start`, "
                 "set --api-url, or use --demo")


if __name__ == "__main__":
    main()
