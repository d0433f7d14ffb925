import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
REVIEWS = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"


@pytest.fixture(scope="session")
def review_lines() -> list[str]:
    """The bundled real reviews, one fastText line each."""
    import bz2

    return bz2.open(REVIEWS, "rt", encoding="utf-8").read().splitlines()


@pytest.fixture(scope="session")
def prefect_api():
    """One real Prefect API server (temporary database) for the whole test session."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def http_folder(tmp_path_factory):
    """(folder, base URL): a real HTTP server on loopback serving the folder, for inputs given as
    URLs."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    folder = tmp_path_factory.mktemp("served")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
