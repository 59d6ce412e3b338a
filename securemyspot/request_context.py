"""The request id, and the task a log line was written in, for every log record.

A request takes its id from an ``X-Request-ID`` header when that is a sane one, else makes one,
and answers with it. Tasks queued while it runs carry the id in their message headers, so the
worker's log lines for them name the request that caused them (docs/operations.md).
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from celery import Task
from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from clients and proxies: bounded and plain, so one cannot forge log lines or flood them.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TASK_HEADER = "request_id"

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
current_task_id: ContextVar[str | None] = ContextVar("task_id", default=None)
current_task_name: ContextVar[str | None] = ContextVar("task_name", default=None)
_TASK_CONTEXT = (current_request_id, current_task_id, current_task_name)


def _incoming_or_new_request_id(meta: dict) -> str:
    incoming = meta.get("HTTP_X_REQUEST_ID", "")
    if _ACCEPTED_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


# The id is set when Django starts on a request and cleared when the response is closed, not by
# the middleware alone: Django logs a 4xx or 5xx ("Not Found: /path") after the middleware
# has returned.
def _begin_request(sender: object, environ: dict | None = None, **kwargs: object) -> None:
    current_request_id.set(None if environ is None else _incoming_or_new_request_id(environ))


def _end_request(sender: object, **kwargs: object) -> None:
    current_request_id.set(None)


request_started.connect(_begin_request, dispatch_uid="securemyspot.request_id.begin")
request_finished.connect(_end_request, dispatch_uid="securemyspot.request_id.end")


class RequestIdMiddleware:
    """Answers with the request's id. (A server that sends no ``request_started`` with the
    WSGI environ gets the id here.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if current_request_id.get() is None:
            current_request_id.set(_incoming_or_new_request_id(request.META))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = current_request_id.get()
        return response


def add_request_id_to_task_headers(headers: dict, **kwargs: object) -> None:
    """Celery's ``before_task_publish``: a task queued during a request (or by a task that
    carries one) carries the request id on."""
    current = current_request_id.get()
    if current is not None:
        headers.setdefault(_TASK_HEADER, current)


def enter_task(task: Task, task_id: str, **kwargs: object) -> None:
    """Celery's ``task_prerun``. A task run eagerly, inside a request, keeps that request's id."""
    carried = getattr(task.request, _TASK_HEADER, None) or current_request_id.get()
    values = (carried, task_id, task.name)
    task.request.log_context_tokens = [
        variable.set(value) for variable, value in zip(_TASK_CONTEXT, values, strict=True)
    ]


def leave_task(task: Task, **kwargs: object) -> None:
    """Celery's ``task_postrun``: the next task in this thread starts with a clean context."""
    tokens = getattr(task.request, "log_context_tokens", None)
    if tokens is None:
        return
    for variable, token in zip(_TASK_CONTEXT, tokens, strict=True):
        variable.reset(token)
    task.request.log_context_tokens = None
