import threading
import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from django.utils import timezone

from accounts.models import AuthToken, User
from accounts.services import issue_token
from accounts.tasks import purge_expired_tokens
from securemyspot.celery import app


@pytest.fixture
def private_queue():
    """A queue of this test's own on the configured broker, so no other worker (a local
    `make run` one shares the filesystem broker folder) takes its messages."""
    app.conf.task_always_eager = False
    return f"test-{uuid.uuid4().hex}"


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_the_configured_broker_runs_on_a_worker(private_queue):
    user = User.objects.create_user("idle@example.com", "kerb-side-42")
    issue_token(user=user)
    AuthToken.objects.update(last_used_at=timezone.now() - timedelta(days=2))
    finished = threading.Event()

    def on_finish(sender=None, **kwargs):
        if sender.name == purge_expired_tokens.name:
            # Runs in the worker's thread, which keeps its database connection between tasks
            # (CELERY_DB_REUSE_MAX): closed, so that the test database can be dropped at the end.
            connections.close_all()
            finished.set()

    task_postrun.connect(on_finish, weak=False)
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=[private_queue],
            shutdown_timeout=60,
        ):
            purge_expired_tokens.apply_async(queue=private_queue)
            assert finished.wait(timeout=20), "the worker never ran the task"
    finally:
        task_postrun.disconnect(on_finish)

    assert not AuthToken.objects.exists()
