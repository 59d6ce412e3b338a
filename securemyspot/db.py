"""Database helpers shared by the services."""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected) or
# that cannot both be serialised (serialization_failure). Two bookings inserting into the same
# exclusion constraint while one extends can meet that way; run again, the loser sees the
# winner's row and gets its ordinary answer.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def retry_on_transaction_conflict(attempts: int = 3) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a service that opens its own transaction again when PostgreSQL aborted it for a
    deadlock or a serialisation failure. Inside an outer transaction there is nothing to
    retry (the outer one is aborted too), so the error passes through."""

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return service(*args, **kwargs)
                except OperationalError as error:
                    sqlstate = getattr(error.__cause__, "sqlstate", None)
                    if (
                        sqlstate not in RETRYABLE_SQLSTATES
                        or connection.in_atomic_block
                        or attempt == attempts
                    ):
                        raise
                    logger.info("%s: transaction conflict %s, retrying", service.__name__, sqlstate)
            raise AssertionError("unreachable")

        return run

    return decorate
