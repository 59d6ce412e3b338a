"""How log records are written: masked, stamped with the request and task they belong to, and
rendered as one JSON object per line (or a readable line for a terminal).

``LOG_FORMAT`` chooses (settings.py); docs/operations.md lists the fields.
"""

import json
import logging
from datetime import UTC, datetime

from securemyspot.log_masking import mask
from securemyspot.request_context import current_request_id, current_task_id, current_task_name

_traceback_formatter = logging.Formatter()


class MaskAndStampFilter(logging.Filter):
    """On every handler, so that no record reaches an output unmasked, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "masked", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # logging would print the raw arguments to stderr, unmasked: keep the template.
            message = f"{record.msg} [arguments did not fit the message]"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        record.task_id = current_task_id.get()
        record.task_name = current_task_name.get()
        record.masked = True
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line. ``extra={"log_fields": {...}}`` adds fields of a record's own
    (the access log's method, path, status, duration)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for context in ("request_id", "task_id", "task_name"):
            value = getattr(record, context, None)
            if value is not None:
                line[context] = value
        line.update(getattr(record, "log_fields", {}))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    """For `make run` in a terminal: the same facts, for eyes rather than a log pipeline."""

    def format(self, record: logging.LogRecord) -> str:
        context = getattr(record, "task_name", None) or ""
        if getattr(record, "request_id", None):
            context = f"{context} req={record.request_id}".strip()
        line = (
            f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
            + (f" [{context}]" if context else "")
        )
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


FORMATTERS = {"json": JsonFormatter, "console": ConsoleFormatter}


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting: every record, Django's, Celery's and ours, through one masking
    handler. Django's own handlers on its loggers are replaced, since they would print
    unmasked request lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_and_stamp": {"()": MaskAndStampFilter}},
        "formatters": {"default": {"()": FORMATTERS[log_format]}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["mask_and_stamp"],
                "formatter": "default",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "INFO"},
        },
    }
