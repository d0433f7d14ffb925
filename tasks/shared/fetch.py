"""Inputs given as URLs: downloaded once into the run's output folder (kept as the raw input of
record), with Prefect retries and exponential backoff for transient failures (connection
errors, timeouts, HTTP 5xx/429). A permanent failure (404, bad scheme) fails at once with a
clear DataError: retrying cannot fix it."""
from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from prefect import task
from prefect.tasks import exponential_backoff

from lstm_models.atomic import atomic_file

from .errors import DataError

TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


def is_url(source: str) -> bool:
    return "://" in str(source) and not str(source).startswith("file://")


def download(url: str, dest_dir: str | Path, timeout: float = 60) -> Path:
    """The URL's bytes as a local file under dest_dir/<hash of url>/<name>; written to a
    temporary name and renamed, so a broken download never looks complete."""
    name = Path(urlparse(url).path).name or "download"
    target = Path(dest_dir) / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    with atomic_file(target) as tmp, open(tmp, "wb") as out:
        if urlparse(url).scheme in ("http", "https"):
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    shutil.copyfileobj(resp, out, 1 << 20)
            except urllib.error.HTTPError as exc:
                if exc.code in TRANSIENT_HTTP:
                    raise ConnectionError(f"{url}: HTTP {exc.code} (transient, will retry)") from None
                raise DataError(url, "download failed", f"HTTP {exc.code} {exc.reason}") from None
        else:  # s3://, gs://, memory:// ...: whatever fsspec has a driver for
            import fsspec

            try:
                with fsspec.open(url, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            except (ValueError, ImportError) as exc:
                raise DataError(url, "unsupported URL", str(exc)) from None
            except FileNotFoundError:
                raise DataError(url, "download failed", "not found") from None
    return target


def _transient(task, task_run, state) -> bool:
    """Retry network trouble, not a DataError (a missing file stays missing)."""
    try:
        state.result()
    except DataError:
        return False
    except Exception:  # noqa: BLE001 - anything else (connection reset, timeout) is worth a retry
        return True
    return False


@task(name="fetch-input", retries=4, retry_delay_seconds=exponential_backoff(backoff_factor=5),
      retry_jitter_factor=0.5, retry_condition_fn=_transient)
def fetch_input(url: str, output: str) -> str:
    return str(download(url, Path(output) / "downloads"))
