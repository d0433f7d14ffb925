"""A real Prefect stack in subprocesses, driven the way the README tells a user to drive it:
`prefect server start`, `prefect work-pool create`, `prefect deploy --all`, `prefect worker start`,
`prefect deployment run`. Used by tests/e2e and by scripts/ui_screenshot.py (--demo).

Everything lives under one temporary folder: PREFECT_HOME, the SQLite database and the logs of
the server and the worker. `stop()` ends the worker, the server and every process they started
(flow runs may sit in their own sessions, so the process tree is walked, not only the group).
Only the standard library is used for HTTP; REST is called directly because Prefect 3.8.8's
client sends filter fields that its own server rejects (422).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent          # the project's .venv/bin when run with .venv/bin/python
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RETRY_CODES = {429, 502, 503}  # what Prefect's client retries (PREFECT_CLIENT_RETRY_EXTRA_CODES adds more)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every descendant of pid (Linux /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process, its group and all its descendants; SIGKILL what is left after grace."""
    if proc.poll() is not None and not descendants(proc.pid):
        return
    pids = [proc.pid, *descendants(proc.pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
            if proc.poll() is not None and not alive:
                return
            time.sleep(0.2)
    proc.wait(timeout=5)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


class PrefectStack:
    """A Prefect API server (own PREFECT_HOME and SQLite file) plus, on request, workers."""

    def __init__(self, workdir: Path, port: int | None = None, ui: bool = False, extra_env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.ui_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update({
            "PREFECT_HOME": str(self.workdir / "prefect-home"),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.workdir / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "true" if ui else "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "2",      # the default 10 s poll only slows the test down
            **(extra_env or {}),
        })
        # The UI's API address defaults to PREFECT_SERVER_API_HOST/PORT (4200), not to --port.
        self.server_env = {**env, "PREFECT_UI_API_URL": self.api_url}
        self.env = {**env, "PREFECT_API_URL": self.api_url}
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    # -- processes ------------------------------------------------------------------------------

    def _spawn(self, args: list[str], log_name: str, env: dict, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.workdir / log_name, "wb")
        return subprocess.Popen(args, cwd=cwd or ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self, timeout: float = 180) -> "PrefectStack":
        self.server = self._spawn([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                   "--port", str(self.port)], "server.log", self.server_env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.server.returncode}:\n{self.log('server.log')}")
            try:
                if self.get("/health") is True:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"prefect server not healthy after {timeout} s:\n{self.log('server.log')}")

    def start_worker(self, pool: str, name: str = "e2e-worker", cwd: Path | None = None,
                     limit: int | None = None, queue: str | None = None) -> subprocess.Popen:
        """A worker on the pool; cwd: its working directory (default the project root);
        limit: the most flow runs it runs at once; queue: the only work queue it pulls from."""
        args = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--name", name]
        args += (["--limit", str(limit)] if limit else []) + (["--work-queue", queue] if queue else [])
        worker = self._spawn(args, f"worker-{name}.log", self.env, cwd)
        worker.log_name = f"worker-{name}.log"
        self.workers.append(worker)
        return worker

    def worker_logs(self) -> str:
        return "\n".join(f"--- {w.log_name}\n{self.log(w.log_name)}" for w in self.workers)

    def stop(self) -> None:
        for proc in [*self.workers, self.server]:
            if proc is not None:
                kill_tree(proc)
        self.workers = []
        self.server = None

    def __enter__(self) -> "PrefectStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self, name: str, tail: int = 6000) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    # -- CLI ------------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """`prefect <args>` from the project root, against this server."""
        done = subprocess.run([str(BIN / "prefect"), *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def run_deployment(self, name: str, params: dict | None = None) -> str:
        """`prefect deployment run NAME --params JSON`; returns the new flow run's id."""
        args = ["deployment", "run", name]
        if params:
            args += ["--params", json.dumps(params)]
        out = self.cli(*args).stdout
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
        if not match:
            raise RuntimeError(f"no flow run id in the output of prefect deployment run:\n{out}")
        return match.group(1)

    def run_on_queue(self, name: str, params: dict, queue: str) -> str:
        """A flow run of deployment NAME ('flow/deployment') on one work queue of its pool (so the
        worker pulling that queue runs it); returns the flow run's id."""
        deployment = self.get(f"/deployments/name/{name}")
        return self.post(f"/deployments/{deployment['id']}/create_flow_run",
                         {"parameters": params, "work_queue_name": queue})["id"]

    # -- REST -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30,
                attempts: int = 6):
        """One REST call. Like Prefect's own client, it retries 429/502/503: the server answers 503
        when its SQLite database is busy (two workers and a deploy writing at once) and rolls the
        transaction back, so the call is safe to repeat."""
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(attempts):
            req = urllib.request.Request(self.api_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as err:
                if err.code not in RETRY_CODES or attempt == attempts - 1:
                    raise
                time.sleep(min(2 ** attempt, 10))

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body)

    def flow_run(self, flow_run_id: str) -> dict:
        return self.get(f"/flow_runs/{flow_run_id}")

    def artifacts(self, flow_run_id: str) -> list[dict]:
        return self.post("/artifacts/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}},
                                               "limit": 200, "offset": 0, "sort": "KEY_ASC"})

    def logs(self, flow_run_id: str, limit: int = 200) -> str:
        rows = self.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}},
                                          "limit": limit, "offset": 0, "sort": "TIMESTAMP_ASC"})
        return "\n".join(f"{r['timestamp']} {r['level']:>2} {r['name']}: {r['message']}" for r in rows)

    def wait_for(self, flow_run_ids: list[str], timeout: float = 360, poll: float = 2.0) -> dict[str, dict]:
        """Poll until every flow run is terminal; returns id -> flow run. Raises if a worker died."""
        pending, done = set(flow_run_ids), {}
        deadline = time.monotonic() + timeout
        while pending:
            for fid in list(pending):
                run = self.flow_run(fid)
                if run.get("state_type") in TERMINAL:
                    done[fid] = run
                    pending.discard(fid)
            if not pending:
                break
            dead = [w for w in self.workers if w.poll() is not None]
            if dead:
                raise RuntimeError(f"worker exited with {dead[0].returncode}:\n{self.worker_logs()}")
            if time.monotonic() > deadline:
                states = {fid: self.flow_run(fid).get("state_type") for fid in pending}
                raise TimeoutError(f"flow runs not finished after {timeout} s: {states}\n"
                                   f"{self.worker_logs()}")
            time.sleep(poll)
        return done


class ObjectStore:
    """An S3-compatible object store on a free loopback port: moto's server in its own process (so
    every test gets an empty store of its own), with the buckets asked for.

        with ObjectStore(buckets=["models"]) as s3:
            subprocess.run(..., env={**os.environ, **s3.env})   # s3://models/... reaches it
    """

    def __init__(self, buckets: tuple[str, ...] = ("models",)):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ENDPOINT_URL": self.endpoint}
        self.buckets = buckets
        self.proc: subprocess.Popen | None = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def __enter__(self) -> "ObjectStore":
        self.proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
                break
            except urllib.error.HTTPError:  # it answers: it is up
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {self.endpoint}") from None
                time.sleep(0.3)
        for bucket in self.buckets:
            self.client().create_bucket(Bucket=bucket)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            kill_tree(self.proc)


class Postgres:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl) on a free loopback port, for a Prefect server
    that runs on PostgreSQL as in production (compose.yaml). The server binaries are found under
    /usr/lib/postgresql/*/bin or with pg_config; as root, the cluster runs as the `postgres` user.

        with Postgres() as pg:
            PrefectStack(tmp, extra_env={"PREFECT_API_DATABASE_CONNECTION_URL": pg.url})
    """

    def __init__(self):
        self.workdir: Path | None = None  # a fresh folder under the system temp dir (reachable by `postgres`)
        self.started = False
        self.port = free_port()
        self.url = f"postgresql+asyncpg://prefect@127.0.0.1:{self.port}/prefect"
        self.bindir = self.find_bindir()

    @staticmethod
    def find_bindir() -> Path | None:
        import glob
        import shutil

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if found:
            return Path(found[-1]).parent
        pg_config = shutil.which("pg_config")
        if pg_config:
            bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
            return bindir if (bindir / "initdb").exists() else None
        return None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def __enter__(self) -> "Postgres":
        import tempfile

        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.workdir = Path(tempfile.mkdtemp(prefix="lstm-pg-"))
        if os.geteuid() == 0:
            import shutil
            shutil.chown(self.workdir, user="postgres")
        data = self.workdir / "data"
        self._run("initdb", "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.workdir / "postgres.log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1")
        self.started = True
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "prefect", "prefect")
        return self

    def __exit__(self, *exc) -> None:
        import shutil

        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.workdir / "data"), "-m", "fast", "-w", "stop")
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
