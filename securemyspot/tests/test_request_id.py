"""Every log line of a request, and of the tasks it queued, names the request's id."""

import logging
import threading
import uuid

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker
from celery.signals import setup_logging, task_success
from django.db import connections

from securemyspot.celery import app
from securemyspot.log_format import MaskAndStampFilter
from securemyspot.request_context import (
    add_request_id_to_task_headers,
    current_request_id,
    current_task_name,
)
from securemyspot.tests.log_capture import capture_log_lines

pytestmark = pytest.mark.django_db


@shared_task
def _log_a_line() -> None:
    logging.getLogger("securemyspot.tests").info("a task's own log line")


@pytest.fixture
def log_lines():
    with capture_log_lines() as lines:
        yield lines


def test_a_request_is_answered_with_a_new_id(client):
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42:1"})

    assert response["X-Request-ID"] == "lb-7f3a.42:1"


@pytest.mark.parametrize("incoming", ["x" * 65, "two words", "new\nline", "{json}", ""])
def test_an_unfit_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


def test_a_log_line_written_during_a_request_names_its_id(client, log_lines):
    response = client.get(
        "/reservation-unauth/1/jane@example.com/", headers={"X-Request-ID": "r-1"}
    )

    assert response.status_code == 404
    [line] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == "r-1"
    assert line["message"] == "Not Found: /reservation-unauth/1/j***@example.com/"
    assert line["level"] == "WARNING"
    assert line["timestamp"].endswith("Z")


def test_a_task_queued_during_a_request_carries_its_id_in_its_headers():
    headers: dict = {}
    token = current_request_id.set("r-2")
    try:
        add_request_id_to_task_headers(headers=headers)
    finally:
        current_request_id.reset(token)

    assert headers == {"request_id": "r-2"}


def test_a_task_run_by_a_worker_logs_with_the_request_id_it_was_queued_with():
    app.conf.task_always_eager = False
    queue = f"test-{uuid.uuid4().hex}"
    finished = threading.Event()

    def on_success(sender=None, **kwargs):
        if sender.name == _log_a_line.name:
            connections.close_all()
            finished.set()

    task_success.connect(on_success, weak=False)
    try:
        # Capturing starts once the worker has set up logging, which replaces root's handlers.
        with (
            start_worker(
                app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=60
            ),
            capture_log_lines() as lines,
        ):
            token = current_request_id.set("r-3")
            _log_a_line.apply_async(queue=queue)
            current_request_id.reset(token)
            assert finished.wait(timeout=20), "the worker never ran the task"
    finally:
        task_success.disconnect(on_success)

    [line] = [line for line in lines() if line["message"] == "a task's own log line"]
    assert line["request_id"] == "r-3"
    assert line["task_name"] == _log_a_line.name
    assert line["task_id"]
    assert current_task_name.get() is None


def test_celery_logs_through_the_masking_handler_instead_of_its_own():
    root = logging.getLogger()
    previous = root.handlers[:]
    root.handlers.clear()
    try:
        # What a worker or beat sends while starting up.
        setup_logging.send(sender=None, loglevel="INFO", logfile=None, format="", colorize=False)

        filters = [type(f) for handler in root.handlers for f in handler.filters]
        assert filters == [MaskAndStampFilter]
    finally:
        root.handlers[:] = previous
