"""Settings read from the environment, checked as they are read.

A malformed value stops start-up with one line naming the variable, what it expects and what
it got (``ImproperlyConfigured``), instead of a ``KeyError`` from deep inside a library or, worse,
a silent fallback (django-environ reads ``DEBUG=ture`` as false).
"""

import os
import re
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

Number = TypeVar("Number", int, float)

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
BROKER_SCHEMES = frozenset(
    {"amqp", "amqps", "pyamqp", "redis", "rediss", "sqs", "filesystem", "memory"}
)
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
# DRF's throttle rates: a count per second, minute, hour or day ("10/min").
RATE = re.compile(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)")
# The password of a URL's user part, never echoed in an error.
URL_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def _raw(name: str) -> str | None:
    return os.environ.get(name)


def fail(name: str, expected: str, got: str) -> ImproperlyConfigured:
    """The error naming ``name``; ``got`` is shown with any URL password hidden."""
    shown = URL_PASSWORD.sub(r"\1***@", got)
    return ImproperlyConfigured(f"{name}: expected {expected}, got {shown!r}")


def boolean(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise fail(name, "true or false (also 1/0, yes/no, on/off)", value)


def integer(name: str, *, default: int, minimum: int = 0) -> int:
    return _number(name, default, minimum, int, f"a whole number of at least {minimum}")


def decimal_number(name: str, *, default: float, minimum: float = 0.0) -> float:
    return _number(name, default, minimum, float, f"a number of at least {minimum:g}")


def _number(
    name: str, default: Number, minimum: Number, parse: Callable[[str], Number], expected: str
) -> Number:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = parse(value.strip())
    except ValueError:
        raise fail(name, expected, value) from None
    # Also refuses nan (no comparison holds) and infinity.
    if not minimum <= number < float("inf"):
        raise fail(name, expected, value)
    return number


def choice(name: str, *, default: str, choices: Sequence[str]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value.strip() not in choices:
        raise fail(name, " or ".join(repr(option) for option in choices), value)
    return value.strip()


def throttle_rate(name: str, *, default: str) -> str | None:
    """A DRF throttle rate, or None for ``off`` (DRF then lets every request through without
    counting it: for a load test from one address, never for a public deploy)."""
    value = _raw(name)
    if value is None:
        return default
    if value.strip().lower() == "off":
        return None
    if not RATE.fullmatch(value.strip()):
        raise fail(name, "a rate such as 10/min (per s, min, hour or day), or off", value)
    return value.strip()


def database(name: str, *, default: str) -> dict:
    value = _raw(name)
    if value is None:
        value = default
    expected = "a database URL such as postgres://user:pass@host:5432/name"
    parts = urlsplit(value.strip())
    if parts.scheme not in environ.Env.DB_SCHEMES or not (parts.path.strip("/") or parts.netloc):
        raise fail(name, expected, value)
    try:
        return environ.Env.db_url_config(value.strip())
    except (ValueError, KeyError, ImproperlyConfigured):
        raise fail(name, expected, value) from None


def broker_url(name: str, *, default: str) -> str:
    value = _raw(name)
    if value is None:
        return default
    if _scheme(value) not in BROKER_SCHEMES:
        raise fail(
            name, "a Celery broker URL such as amqp://user:pass@host:5672// or filesystem://", value
        )
    return value.strip()


def redis_url(name: str) -> str:
    """A Redis URL, or "" when Redis is not configured (the variable unset or empty)."""
    value = (_raw(name) or "").strip()
    if value and _scheme(value) not in REDIS_SCHEMES:
        raise fail(name, "a Redis URL such as redis://host:6379/0, or nothing", value)
    return value


def email(name: str, *, default: str) -> dict:
    value = _raw(name)
    if value is None:
        value = default
    if _scheme(value) not in environ.Env.EMAIL_SCHEMES:
        raise fail(
            name, "an email URL such as smtp+tls://user:pass@host:587 or consolemail://", value
        )
    return environ.Env.email_url_config(value.strip())


def site_url(name: str, *, default: str) -> str:
    value = _raw(name)
    if value is None:
        return default
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(name, "the address people reach this service at, such as https://host", value)
    return value.strip()


def tile_url(name: str, *, default: str) -> str:
    """A map tile URL template: http(s), with Leaflet's {z}, {x} and {y} in it."""
    value = (_raw(name) or default).strip()
    parts = urlsplit(value.replace("{s}", "a"))
    placeholders = all(f"{{{part}}}" in value for part in "zxy")
    if parts.scheme not in ("http", "https") or not parts.netloc or not placeholders:
        raise fail(name, "a tile URL template such as https://host/{z}/{x}/{y}.png", value)
    return value


def _scheme(url: str) -> str:
    return urlsplit(url.strip()).scheme


def header_and_value(name: str) -> tuple[str, str] | None:
    """A request header and the value that marks a request as HTTPS, as Django's
    SECURE_PROXY_SSL_HEADER wants it ("HTTP_X_FORWARDED_PROTO,https"), or None when unset."""
    value = (_raw(name) or "").strip()
    if not value:
        return None
    header, _, marker = (part.strip() for part in value.partition(","))
    if not header.startswith("HTTP_") or not marker:
        raise fail(name, "a header and its value such as HTTP_X_FORWARDED_PROTO,https", value)
    return header, marker
