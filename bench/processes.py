"""Long-running subprocesses a benchmark starts (gunicorn, Celery, localstripe): started in a
session of their own with their output in a log, waited for until ready, and stopped, with
everything they started, on leaving the ``with`` block however it is left."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.project import PROJECT_DIR, scratch_dir
from bench.stats import say, table

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 30.0
READY_POLL_S = 0.2
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class BackgroundProcess:
    """``command`` run from the project folder with ``env``; ready once ``ready()`` is true.

    Stopped with SIGTERM (a graceful stop: gunicorn's and Celery's workers finish what they
    are doing), then SIGKILL after ``SHUTDOWN_TIMEOUT_S``; either goes to the process group, so
    no worker it forked outlives it.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str],
        ready: Callable[[], bool],
    ) -> None:
        self.name = name
        self._command = list(command)
        self._env = env
        self._ready = ready
        self.log_path = scratch_dir() / f"{name}.log"

    def __enter__(self) -> Self:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self._command,
                cwd=PROJECT_DIR,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            say(f"{self.name} still running {SHUTDOWN_TIMEOUT_S:.0f} s after SIGTERM: SIGKILL")
            self._signal_group(signal.SIGKILL)
            self.process.wait()
        # Children that ignored the stop (a worker stuck in a task) go with the group.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signal_number: int) -> None:
        # ProcessLookupError: every process of the group has ended.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal_number)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            if self._ready():
                return
            time.sleep(READY_POLL_S)
        raise RuntimeError(
            f"{self.name} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )


def children_of(parent_pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in parentheses may hold spaces: the fields after it are fixed.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent_pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time used so far by the process and by those of its children that
    have ended and been waited for (0 once the process itself has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime and cstime: the 14th to 17th fields of stat, 12th to 15th after
    # the name.
    return sum(int(field) for field in fields[11:15]) / CLOCK_TICKS_PER_S


def pids_named(command_name: str) -> list[int]:
    """Every process whose command name (``ps -o comm``) is ``command_name``."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == command_name:
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


class CpuAccount:
    """The CPU time groups of processes use while the ``with`` block runs, and what the rest of
    the machine used meanwhile. Each group is a function naming its processes, asked at the
    start and at the end; a process's children that ended meanwhile count with it (a server's
    short-lived workers, PostgreSQL's backends), so a group should name a parent with its
    children."""

    OTHERS = "everything else on the machine"

    def __init__(self, groups: dict[str, Callable[[], Sequence[int]]]) -> None:
        self._groups = groups
        self.used_s: dict[str, float] = {}
        self.wall_s = 0.0

    def __enter__(self) -> Self:
        self._before = self._totals()
        self._machine_before = _machine_busy_seconds()
        self._started = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.wall_s = time.monotonic() - self._started
        after = self._totals()
        self.used_s = {label: after[label] - self._before[label] for label in self._groups}
        machine = _machine_busy_seconds() - self._machine_before
        self.used_s[self.OTHERS] = max(machine - sum(self.used_s.values()), 0.0)

    def _totals(self) -> dict[str, float]:
        return {
            label: sum(cpu_seconds(pid) for pid in set(pids()))
            for label, pids in self._groups.items()
        }


def _machine_busy_seconds() -> float:
    """CPU time every CPU of the machine has spent busy since boot, together."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(ticks) for ticks in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S


def cpu_table(account: CpuAccount, items: int, item: str) -> str:
    """Where the CPUs' time went, by group, and per ``item``: no rate can exceed the CPUs'
    seconds over the CPU seconds one item takes."""
    cpus = os.cpu_count() or 1
    rows = [
        (
            label,
            f"{used:,.1f}",
            f"{used / (account.wall_s * cpus):.0%}",
            f"{used * 1000 / items:,.2f}",
        )
        for label, used in account.used_s.items()
    ]
    headers = ("process", "CPU s", f"of {cpus} CPUs' time", f"CPU ms per {item}")
    return table(headers, rows)
