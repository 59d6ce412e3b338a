"""The image's HEALTHCHECK, for whichever role the container runs (docker/entrypoint).

web: GET /healthz answers 200 (the database is reachable). worker: the worker answers a
Celery ping through the broker. Any other role (beat, a one-off command) is healthy while it
runs.
"""

import os
import socket
import subprocess
import sys
import urllib.request


def _main_process_args() -> list[str]:
    with open("/proc/1/cmdline", "rb") as cmdline:
        return [arg.decode() for arg in cmdline.read().split(b"\0") if arg]


def _a_host_the_web_server_accepts() -> str:
    # ALLOWED_HOSTS may hold only the public name (or ".example.com", or "*").
    first = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    return first.lstrip(".").replace("*", "localhost") or "localhost"


def web_is_healthy() -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
        # Behind TLS in production (SECURE_SSL_REDIRECT): say so, or the check gets a redirect.
        headers={"Host": _a_host_the_web_server_accepts(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except OSError as error:
        print(f"healthz: {error}")
        return False


def worker_is_healthy() -> bool:
    ping = subprocess.run(
        [
            "celery",
            "--app",
            "securemyspot",
            "inspect",
            "ping",
            "--timeout",
            "10",
            "--destination",
            f"celery@{socket.gethostname()}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    print(ping.stdout or ping.stderr)
    return ping.returncode == 0


if __name__ == "__main__":
    args = _main_process_args()
    if any(arg.endswith("gunicorn") for arg in args):
        sys.exit(0 if web_is_healthy() else 1)
    if "worker" in args and any(arg.endswith("celery") for arg in args):
        sys.exit(0 if worker_is_healthy() else 1)
    sys.exit(0)
