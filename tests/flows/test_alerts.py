"""Alerts: a refused model and drifted data emit Prefect events, and the automations in
automations/alerts.yaml (created with the README's command) fire on them and call a webhook
(a real HTTP server on loopback), against the session's real Prefect server."""
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.config import SentimentConfig
from flows.sentiment import sentiment_training

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
# the LSTM alone (no bag of words beside it), so that a tiny model loses to TF-IDF + LR
TINY = {"preprocess": {"seq_len": 60, "processes": 1}, "model": {"embedding_dim": 8, "hidden_size": 8, "bag_buckets": 0},
        "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5}}


@pytest.fixture(scope="module")
def webhook():
    """A loopback HTTP server recording every POST body."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/alerts", received
    httpd.shutdown()


@pytest.fixture(scope="module")
def automations(prefect_api, webhook, tmp_path_factory):
    """The shipped automations file with a Webhook block's id filled in, created with the CLI."""
    from prefect.blocks.webhook import Webhook

    block_id = Webhook(url=webhook[0], allow_private_urls=True).save("lstm-alerts-test", overwrite=True)
    path = tmp_path_factory.mktemp("auto") / "alerts.yaml"
    path.write_text((ROOT / "automations" / "alerts.yaml").read_text().replace("WEBHOOK_BLOCK_ID", str(block_id)))
    proc = subprocess.run([sys.executable, "-m", "prefect", "automation", "create", "--from-file", str(path)],
                          capture_output=True, text=True, env={**os.environ, "PREFECT_API_URL": prefect_api}, timeout=120)
    assert proc.returncode == 0 and "Created" in proc.stdout, proc.stdout + proc.stderr
    time.sleep(2)  # the triggers service loads new automations


def events(prefix: str) -> list[dict]:
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            r = await client._client.post("/events/filter", json={"filter": {"event": {"prefix": [prefix]}},
                                                                  "limit": 50})
            return r.json()["events"]
    return asyncio.run(read())


def wait_for(fn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if found := fn():
            return found
        time.sleep(1)
    return None


def test_a_refused_model_and_drifted_data_emit_events_that_fire_the_automations(
        automations, webhook, review_lines, tmp_path):
    url, received = webhook
    reviews, titles = tmp_path / "reviews.ft.txt", tmp_path / "titles.ft.txt"
    reviews.write_text("\n".join(review_lines[:300]) + "\n")
    titles.write_text("\n".join(l.split(":", 1)[0] for l in review_lines[300:600]) + "\n")  # the same labels, 3-word texts
    out = tmp_path / "out"
    # a tiny model loses to TF-IDF + LR: refused (forced to champion so the next run has a reference profile)
    first = sentiment_training(data=str(reviews), config=SentimentConfig.model_validate(TINY), output=str(out), force=True)
    second = sentiment_training(data=str(titles), config=SentimentConfig.model_validate(TINY), output=str(out))
    assert second["drift"]["flagged"]

    refused = wait_for(lambda: [e for e in events("lstm-pipeline.model.refused")
                                if e["payload"]["candidate"] == second["version"]])
    assert refused, "no refused-model event"
    event = refused[0]
    assert event["resource"]["prefect.resource.id"] == f"lstm-pipeline.sentiment.{second['version']}"
    assert event["payload"]["kind"] == "sentiment" and event["payload"]["reasons"] == second["gate"]
    assert any(r["prefect.resource.role"] == "flow-run" for r in event["related"])  # tied to the run in the UI
    assert wait_for(lambda: [e for e in events("lstm-pipeline.data.drifted") if e["payload"]["against"] == first["version"]])

    # both automations fired and called the webhook with the rendered payloads
    got = wait_for(lambda: {m["alert"] for m in received} >= {"model refused", "data drifted"} and received)
    assert got, f"webhook received {received}"
    refused_call = next(m for m in received if m["alert"] == "model refused")
    assert refused_call["kind"] == "sentiment" and refused_call["reasons"]
    assert any(e["event"] == "prefect.automation.triggered" for e in events("prefect.automation"))
