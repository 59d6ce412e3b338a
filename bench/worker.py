"""The end-of-reservation engine as the Procfile runs it: a Celery worker (prefork, 2 worker
processes) and Celery beat, as subprocesses against a bench database and a scratch broker."""

import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from bench.processes import BackgroundProcess, children_of
from bench.project import scratch_dir
from bench.stats import say

WORKER_PROCESSES = 2
# What beat logs at INFO about each task it sends, and the worker about each it takes.
_SENT = re.compile(r"Sending due task [^(]*\(([\w.]+)\)")
_SUCCEEDED = re.compile(r"Task ([\w.]+)\[[^\]]+\] succeeded in ([\d.]+)s")
_DISCARDED = re.compile(r"Discarding revoked task: ([\w.]+)\[")
_NOT_DONE = re.compile(r"Task ([\w.]+)\[[^\]]+\] (?:retry|raised unexpected)")


@dataclass
class TaskRuns:
    """One task's runs as the worker logged them (and beat its sending)."""

    sent_by_beat: int = 0
    runtimes_s: list[float] = field(default_factory=list)
    discarded: int = 0  # expired (or revoked) before a worker process took it
    not_done: int = 0  # raised, or asked to be retried


class CeleryEngine:
    """``celery worker --concurrency 2`` and ``celery beat`` with ``env``; ready once the worker
    consumes and beat schedules; both stopped on leaving the ``with`` block."""

    def __init__(self, label: str, env: dict[str, str]) -> None:
        # The processes log through the project's LOGGING (securemyspot/celery.py), whose level
        # is LOG_LEVEL, not --loglevel: readiness is read from their INFO lines.
        env = {**env, "LOG_LEVEL": "INFO"}
        self._worker = BackgroundProcess(
            f"celery-worker-{label}",
            [
                *_celery(),
                "worker",
                "--concurrency",
                str(WORKER_PROCESSES),
                "--pool",
                "prefork",
                "--queues",
                "celery,engine",
                "--hostname",
                f"bench-{label}@%h",
                "--loglevel",
                "INFO",
            ],
            env=env,
            ready=lambda: " ready." in self._worker.log_text(),
        )
        self._beat = BackgroundProcess(
            f"celery-beat-{label}",
            [
                *_celery(),
                "beat",
                "--schedule",
                str(scratch_dir() / f"celery-beat-{label}-schedule"),
                "--pidfile",
                str(scratch_dir() / f"celery-beat-{label}.pid"),
                "--loglevel",
                "INFO",
            ],
            env=env,
            ready=lambda: "beat: Starting" in self._beat.log_text(),
        )

    def __enter__(self) -> Self:
        say(f"starting a Celery worker ({WORKER_PROCESSES} processes, prefork) and beat")
        self._worker.__enter__()
        try:
            self._beat.__enter__()
        except BaseException:
            self._worker.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        say("stopping the Celery worker and beat")
        self._beat.stop()
        self._worker.stop()

    def worker_pids(self) -> list[int]:
        """The worker's main process (the broker's consumer) and the processes running tasks."""
        return [self._worker.pid, *children_of(self._worker.pid)]

    def beat_pids(self) -> list[int]:
        return [self._beat.pid]

    def task_runs(self) -> dict[str, TaskRuns]:
        """Each task's runs so far, by name, from the worker's and beat's logs. A message that
        expired in the queue is dropped by RabbitMQ unseen: beat sent it, nobody ran it."""
        runs: dict[str, TaskRuns] = defaultdict(TaskRuns)
        for sent in _SENT.finditer(self._beat.log_text()):
            runs[sent[1]].sent_by_beat += 1
        for line in self._worker.log_text().splitlines():
            if succeeded := _SUCCEEDED.search(line):
                runs[succeeded[1]].runtimes_s.append(float(succeeded[2]))
            elif discarded := _DISCARDED.search(line):
                runs[discarded[1]].discarded += 1
            elif not_done := _NOT_DONE.search(line):
                runs[not_done[1]].not_done += 1
        return dict(runs)


def _celery() -> list[str]:
    return [sys.executable, "-m", "celery", "--app", "securemyspot"]
