"""Notifications' answers to the accounts app's signals, connected in
NotificationsConfig.ready(): thin, like tasks."""

from datetime import datetime

from accounts import signals
from notifications.services import queue_email_verification


def email_verification_link(
    *, user_id: int, email: str, verify_url: str, expires_at: datetime, now: datetime, **_: object
) -> None:
    queue_email_verification(
        user_id=user_id, email=email, verify_url=verify_url, expires_at=expires_at, now=now
    )


def connect() -> None:
    signals.email_verification_requested.connect(
        email_verification_link, dispatch_uid="notifications.email_verification"
    )
