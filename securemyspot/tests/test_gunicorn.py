"""Gunicorn as the Procfile starts it (two workers, access log on stdout), with
gunicorn.conf.py: request counts summed over its processes, every line JSON and masked."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-gunicorn"
STARTUP_DEADLINE_SECONDS = 60
# The service's own settings for a laptop, in a folder of this test's: not the test database.
OUTSIDE_SETTINGS = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def gunicorn(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in OUTSIDE_SETTINGS}
    env.update(DATA_DIR=str(tmp_path / "data"), METRICS_TOKEN=TOKEN, LOG_FORMAT="json")
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True
    )
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                *(bin_dir / "gunicorn", "securemyspot.wsgi", "--bind", f"127.0.0.1:{port}"),
                *("--workers", "2", "--access-logfile", "-"),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while _get(f"{base}/metrics")[0] != 401:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base, log_path
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_counts_requests_across_its_workers_and_logs_masked_json(gunicorn):
    base, log_path = gunicorn
    for _ in range(20):
        assert _get(f"{base}/healthz")[0] == 200
    assert _get(f"{base}/reservation-unauth/1/jane.doe@example.com/?token=abc123")[0] == 404

    status, body = _get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})

    assert status == 200
    assert 'securemyspot_http_requests_total{method="GET",route="healthz",status="200"} 20.0' in (
        body
    )
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    paths = [line["path"] for line in lines if line["logger"] == "gunicorn.access"]
    assert "/reservation-unauth/1/j***@example.com/?token=[redacted]" in paths
    assert "jane.doe" not in log_path.read_text()
    assert "abc123" not in log_path.read_text()
