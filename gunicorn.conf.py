"""Gunicorn reads this file from the working directory, whatever starts it (Procfile, image).

- Its log lines, the access log's included, are masked and formatted as the application's.
- Request metrics are counted by every worker process: prometheus-client's multiprocess mode
  keeps them in files in PROMETHEUS_MULTIPROC_DIR (a fresh temporary folder unless set), which
  /metrics sums; a worker's files are marked dead when it exits.
"""

import glob
import os
import shutil
import tempfile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemyspot.settings")

logger_class = "securemyspot.gunicorn_logging.MaskingGunicornLogger"

_own_metrics_folder = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_metrics_folder:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="securemyspot-metrics-")


def on_starting(server) -> None:
    # Counts left in a folder set from outside by an earlier run would be summed with ours.
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for stale in glob.glob(os.path.join(folder, "*.db")):
        os.remove(stale)


def on_exit(server) -> None:
    if _own_metrics_folder:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
