"""The sweep carries the engine's load in batches: the reservations it ends are charged by one
task per batch, not one per reservation, from a queue the sweep does not share."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from payments import receivers as payment_receivers
from payments import tasks as payment_tasks
from reservations import services
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

SWEEP = "reservations.tasks.end_due_reservations"


def test_the_sweep_queues_one_charge_task_per_batch_of_ended_reservations(
    monkeypatch, django_capture_on_commit_callbacks
):
    now = timezone.now()
    due = [
        ReservationFactory(
            confirmed=True, start_time=now - timedelta(hours=1), end_time=now - timedelta(minutes=1)
        ).pk
        for _ in range(7)
    ]
    queued: list[list[int]] = []
    monkeypatch.setattr(payment_receivers, "CHARGES_PER_TASK", 3)
    monkeypatch.setattr(
        payment_tasks.charge_reservations,
        "apply_async",
        lambda args, **options: queued.append(args[0]),
    )

    with django_capture_on_commit_callbacks(execute=True):
        ended = services.end_due_reservations(now=now)

    assert [len(batch) for batch in queued] == [3, 3, 1]
    assert sorted(pk for batch in queued for pk in batch) == sorted(ended) == sorted(due)


def test_the_sweep_has_a_queue_of_its_own_that_every_worker_consumes():
    assert settings.CELERY_TASK_ROUTES[SWEEP] == {"queue": "engine"}
    assert set(settings.CELERY_TASK_QUEUES) == {"celery", "engine"}
    for procfile in ("Procfile", "Procfile.dev"):
        [worker] = [
            line
            for line in (Path(settings.BASE_DIR) / procfile).read_text().splitlines()
            if line.startswith("worker:")
        ]
        assert "--queues celery,engine" in worker, procfile
