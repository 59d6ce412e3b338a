"""Gunicorn's access log line for a request, as the web process writes it, without a server."""

import io
from dataclasses import dataclass, field
from datetime import timedelta

from gunicorn.config import Config

from securemyspot.gunicorn_logging import MaskingGunicornLogger


@dataclass
class _Response:
    status: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    sent: int = 0


@dataclass
class _Request:
    headers: list[tuple[str, str]]


def access_log_lines(requests: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    """The access log lines of ``(method, raw URI with query, request headers)`` requests, in
    the Procfile's setup (``--access-logfile -``, the default combined format)."""
    config = Config()
    config.set("accesslog", "-")
    config.set("logger_class", "securemyspot.gunicorn_logging.MaskingGunicornLogger")
    logger = MaskingGunicornLogger(config)
    output = io.StringIO()
    [gunicorns_own] = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    gunicorns_own.setStream(output)
    for method, uri, headers in requests:
        path, _, query = uri.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "RAW_URI": uri,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_REFERER": headers.get("Referer", "-"),
        }
        request = _Request(headers=[(name.upper(), value) for name, value in headers.items()])
        logger.access(_Response(status="200 OK"), request, environ, timedelta(milliseconds=3))
    return output.getvalue().splitlines()
