"""Claiming rows for work done outside any transaction, such as a call to Stripe or to the mail
server, which can take seconds: a lease (``claimed_until``) instead of a row lock held
meanwhile (on SQLite an open write transaction blocks every other writer). Charges
(payments) and emails (notifications) are worked this way; see docs/tasks.md.

A model claimed with these helpers has a nullable ``claimed_until`` and a counter of claims
(``tries``, ``attempts``) that ``release`` takes back when the work was never started.
"""

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import models, transaction
from django.db.models import F, Q, QuerySet

Row = TypeVar("Row", bound=models.Model)
Item = TypeVar("Item")


def lease_free(now: datetime) -> Q:
    """Rows nobody holds: never claimed, released, or their holder's lease lapsed (it died)."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def claim(
    rows: QuerySet[Row], *, now: datetime, lease: timedelta, counter: str, **changes: object
) -> list[Row]:
    """The rows of ``rows`` that nobody holds, each now held until ``now + lease`` with its
    ``counter`` counted up and ``changes`` set, in id order. Rows another claimer is locking
    at this moment are skipped (SKIP LOCKED), not waited for. In the caller's transaction if
    there is one, which must commit before the work starts. Returns the rows as they were
    before the claim, but for the counter."""
    with transaction.atomic():
        claimed = list(
            rows.select_for_update(skip_locked=True, of=("self",))
            .filter(lease_free(now))
            .order_by("pk")
        )
        rows.model.objects.filter(pk__in=[row.pk for row in claimed]).update(
            claimed_until=now + lease, **{counter: F(counter) + 1}, **changes
        )
    for row in claimed:
        setattr(row, counter, getattr(row, counter) + 1)
    return claimed


def release(rows: QuerySet[Row], *, counter: str, **changes: object) -> None:
    """Claimed rows whose work never started: free for the next claimer at once, the claim
    not counted, ``changes`` set."""
    rows.update(claimed_until=None, **{counter: F(counter) - 1}, **changes)


def backoff(failures: int, *, start: timedelta, maximum: timedelta) -> timedelta:
    """How long to wait after the ``failures``-th failure in a row: start, twice that, ...,
    at most ``maximum``."""
    return min(start * 2 ** max(failures - 1, 0), maximum)


def time_boxed(pending: list[Item], *, seconds: float) -> Iterator[Item]:
    """Take items off the front of ``pending`` until it is empty or, once an item's work is
    done, ``seconds`` have passed since this call; what is left stays in ``pending`` (for the
    caller to release and queue as a task of its own, so that a slow service never holds a
    worker's process, or a lease, for long)."""
    deadline = time.monotonic() + seconds
    return _until(pending, deadline)


def _until(pending: list[Item], deadline: float) -> Iterator[Item]:
    while pending:
        yield pending.pop(0)
        if time.monotonic() >= deadline:
            return
