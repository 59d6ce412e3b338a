import logging.config
import os

from celery import Celery, Task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections

from securemyspot import request_context

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


@setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    """Workers and beat log as the web does (LOGGING: JSON, masked), not in Celery's format."""
    logging.config.dictConfig(settings.LOGGING)


before_task_publish.connect(request_context.add_request_id_to_task_headers)
task_prerun.connect(request_context.enter_task)
task_postrun.connect(request_context.leave_task)
