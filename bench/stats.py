"""Latency figures and the way the report prints them."""

import importlib.metadata
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

_STARTED = time.monotonic()


def say(message: str) -> None:
    """A progress line, stamped with the time since the run started, so a slow phase shows."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {message}", flush=True)


def machine_load() -> str:
    """The load average, printed because anything else running on the machine competes with
    the server, PostgreSQL and the clients for its CPUs, and makes every figure noisier."""
    one, five, fifteen = os.getloadavg()
    return (
        f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) "
        f"on {os.cpu_count()} CPUs"
    )


def software(*packages: str) -> str:
    """The machine's CPUs and the versions of Python and of ``packages``, for the report."""
    versions = ", ".join(f"{package} {importlib.metadata.version(package)}" for package in packages)
    return f"CPUs: {os.cpu_count()}   Python {platform.python_version()}   {versions}"


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: a value that was really observed, never an interpolation."""
    if not sorted_values:
        return math.nan
    rank = math.ceil(share / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


@dataclass(frozen=True)
class Summary:
    """What one measured run did: how many answers, how fast, and how big they were."""

    completed: int
    errors: int
    wall_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rows: int

    @property
    def per_second(self) -> float:
        return self.completed / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def rows_per_answer(self) -> float:
        return self.rows / self.completed if self.completed else math.nan


def summarize(latencies_s: Sequence[float], *, errors: int, rows: int, wall_s: float) -> Summary:
    ordered = sorted(latencies_s)
    return Summary(
        completed=len(ordered),
        errors=errors,
        wall_s=wall_s,
        p50_ms=percentile(ordered, 50) * 1000,
        p95_ms=percentile(ordered, 95) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
        rows=rows,
    )


SUMMARY_HEADERS = ("", "req/s", "p50 ms", "p95 ms", "p99 ms", "answers", "errors", "rows/answer")


def summary_row(label: str, summary: Summary) -> tuple[str, ...]:
    return (
        label,
        f"{summary.per_second:,.1f}",
        f"{summary.p50_ms:,.2f}",
        f"{summary.p95_ms:,.2f}",
        f"{summary.p99_ms:,.2f}",
        f"{summary.completed:,}",
        f"{summary.errors:,}",
        f"{summary.rows_per_answer:,.0f}",
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned (labels), the others right (numbers)."""
    widths = [max(len(row[column]) for row in (headers, *rows)) for column in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *others = (
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  " + "   ".join([first, *others])

    rule = "  " + "-" * (sum(widths) + 3 * (len(widths) - 1))
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


@dataclass(frozen=True)
class Check:
    """One target of the issue, what was measured against it, and whether it was met."""

    name: str
    measured: str
    target: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def checks_table(checks: Sequence[Check]) -> str:
    return table(
        ("target", "measured", "needed", "verdict"),
        [(check.name, check.measured, check.target, check.verdict) for check in checks],
    )


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 96 - len(title)), flush=True)
