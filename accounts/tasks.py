from celery import shared_task

from accounts import services


@shared_task
def purge_expired_tokens() -> int:
    """Delete tokens idle past their timeout; expired ones are already refused at use, this
    only keeps the table small."""
    return services.purge_expired_tokens()
