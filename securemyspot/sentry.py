"""Error reports to Sentry, on only when ``SENTRY_DSN`` is set.

Sentry is sent no personal data of its own accord: ``send_default_pii`` stays at its default,
off (no cookies, headers or user; newer SDKs deprecate setting it at all). Every string of an
event, the request URL of a guest route and the log lines gathered as breadcrumbs included,
goes through the same masking as the logs.
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from securemyspot.log_masking import mask


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _masked_event(event: dict, hint: dict) -> dict:
    return _masked(event)


def init_sentry(*, dsn: str, environment: str, **options: Any) -> None:
    """``options`` are passed on to ``sentry_sdk.init`` (tests give a transport that sends
    nothing)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_masked_event,
        before_breadcrumb=_masked_event,
        **options,
    )
