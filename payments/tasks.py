from celery import shared_task

from payments import services
from securemyspot.errors import ServiceUnavailable


@shared_task
def resolve_lapsed_holds() -> dict[str, int]:
    """Settle unpaid reservations whose hold lapsed. Runs every few seconds from beat; safe to
    run late or twice at once (each reservation is claimed with a row lock)."""
    return services.resolve_lapsed_holds()


@shared_task(
    autoretry_for=(ServiceUnavailable,), retry_backoff=True, retry_backoff_max=600, max_retries=10
)
def release_card_setup(reservation_id: int) -> None:
    """Cancel the SetupIntent of a reservation cancelled unpaid; queued after that commit."""
    services.release_card_setup(reservation_id=reservation_id)
