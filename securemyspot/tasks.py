"""Queueing Celery tasks from a service."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def enqueue_after_commit(task_path: str, *args: object, eta: datetime | None = None) -> None:
    """Queue the task at dotted ``task_path`` with ``args`` once the current transaction
    commits (never if it rolls back), to run at ``eta`` if given. By path, imported when
    queued, so a service need not import the tasks module that imports it.

    The database is the source of truth: what the task does is recorded in the committed rows
    and a periodic sweep finds any work whose task never ran. So a broker outage here is logged,
    never raised into the request that already succeeded.
    """

    def enqueue() -> None:
        try:
            import_string(task_path).apply_async(args=args, eta=eta)
        except Exception:
            logger.exception("Could not queue %s%r; its sweep will take it up", task_path, args)

    transaction.on_commit(enqueue)
