from celery import shared_task

from notifications import services

# Acknowledged only once they have run, so a worker shutting down mid-send leaves the message
# for another worker; each email's own claim keeps the two from both sending it. smtplib's
# errors and unreachable servers are all OSErrors.
_RETRIED = {
    "acks_late": True,
    "autoretry_for": (OSError,),
    "max_retries": 5,
    "retry_backoff": 60,
    "retry_backoff_max": 600,
    "retry_jitter": True,
}


@shared_task(**_RETRIED)
def deliver_email(email_id: int) -> bool:
    """Send one queued email; the periodic sweep takes over once these retries run out."""
    return services.deliver_email(email_id=email_id)


@shared_task(ignore_result=True, **_RETRIED)
def deliver_emails(email_ids: list[int]) -> int:
    """Send a batch of queued emails over one connection (queued together by the engine);
    the periodic sweep takes over once these retries run out."""
    return services.deliver_emails(email_ids=email_ids)


@shared_task
def deliver_pending_emails() -> int:
    """Send queued emails whose task never ran or failed (broker down, mail server down)."""
    return services.deliver_pending_emails()
