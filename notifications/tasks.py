from celery import shared_task

from notifications import services


@shared_task(
    # Acknowledged only once it has run, so a worker shutting down mid-send leaves the message
    # for another worker; the email's own claim keeps the two from both sending it.
    acks_late=True,
    # smtplib's errors and unreachable servers are all OSErrors.
    autoretry_for=(OSError,),
    max_retries=5,
    retry_backoff=60,
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver_email(email_id: int) -> bool:
    """Send one queued email; the periodic sweep takes over once these retries run out."""
    return services.deliver_email(email_id=email_id)


@shared_task
def deliver_pending_emails() -> int:
    """Send queued emails whose task never ran or failed (broker down, mail server down)."""
    return services.deliver_pending_emails()
