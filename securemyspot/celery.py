import os

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemyspot.settings")

app = Celery("securemyspot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(sender: Task, **kwargs: object) -> None:
    """Around each task a worker runs, as Django does around each request: a connection older
    than CONN_MAX_AGE, or one an error left unusable, is closed; a healthy one is kept.
    (Celery's own closing after every task is turned off by CELERY_DB_REUSE_MAX.) A task run
    in the caller's process (eagerly) shares the caller's connection and transaction."""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()
