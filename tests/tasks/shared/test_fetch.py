"""Remote inputs: transient failures are retried with backoff by Prefect, permanent ones fail at
once with a clear error, and the downloaded copy is kept."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prefect import flow

from tasks.shared.errors import DataError
from tasks.shared.fetch import fetch_input, is_url


class Flaky(BaseHTTPRequestHandler):
    calls: dict = {}
    body = b"__label__2 Great product\n__label__1 Broke in a day\n"

    def do_GET(self):
        n = Flaky.calls[self.path] = Flaky.calls.get(self.path, 0) + 1
        if self.path == "/missing.txt":
            self.send_error(404)
        elif self.path == "/flaky.txt" and n <= 2:
            self.send_error(503)  # the first two attempts hit an overloaded server
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@flow
def fetch_flow(url: str, output: str) -> str:
    return fetch_input.with_options(retry_delay_seconds=0)(url, output)


def test_transient_errors_are_retried_and_the_download_is_kept(prefect_api, server, tmp_path):
    path = fetch_flow(f"{server}/flaky.txt", str(tmp_path))
    assert Flaky.calls["/flaky.txt"] == 3
    assert open(path, "rb").read() == Flaky.body and str(tmp_path / "downloads") in path
    assert not [p for p in (tmp_path / "downloads").rglob(".*") if p.is_file()]  # no temporary leftovers


def test_a_missing_file_fails_at_once_with_a_clear_error(prefect_api, server, tmp_path):
    with pytest.raises(DataError, match=r"missing.txt: download failed: HTTP 404"):
        fetch_flow(f"{server}/missing.txt", str(tmp_path))
    assert Flaky.calls["/missing.txt"] == 1  # not retried


def test_is_url():
    assert is_url("https://x/y.csv") and is_url("s3://b/k") and not is_url("data/SBUX.csv")
