"""localstripe, the fake Stripe server the payments tests use, as a subprocess on a free
loopback port, starting empty.

localstripe writes its whole state to /tmp/localstripe.pickle after every change, so each call
that creates an object costs time in proportion to everything stored before: its rate falls as
a run goes on, and two figures compare only at the same number of stored objects.
"""

import os
import sys
from types import TracebackType
from typing import Self

from bench.processes import HOST, BackgroundProcess, accepts_connections, free_port


class Localstripe:
    def __init__(self, label: str) -> None:
        self.port = free_port()
        self._process = BackgroundProcess(
            f"localstripe-{label}",
            [sys.executable, "-m", "localstripe", "--port", str(self.port), "--from-scratch"],
            env=dict(os.environ),
            ready=lambda: accepts_connections(self.port),
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Self:
        self._process.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._process.stop()

    def pids(self) -> list[int]:
        return [self._process.pid]
