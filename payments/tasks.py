from collections import Counter

from celery import shared_task

from payments.services import card_setup, charging
from securemyspot.errors import ServiceUnavailable


@shared_task
def resolve_lapsed_holds() -> dict[str, int]:
    """Settle unpaid reservations whose hold lapsed. Runs every few seconds from beat; safe to
    run late or twice at once (each reservation is claimed with a row lock)."""
    return card_setup.resolve_lapsed_holds()


@shared_task
def confirm_saved_cards() -> dict[str, int]:
    """Confirm held reservations whose card was saved though neither the client nor a webhook
    said so. Runs every 15 s from beat; each SetupIntent is asked about once a minute."""
    return card_setup.confirm_saved_cards()


@shared_task(
    autoretry_for=(ServiceUnavailable,), retry_backoff=True, retry_backoff_max=600, max_retries=10
)
def release_card_setup(reservation_id: int) -> None:
    """Cancel the SetupIntent of a reservation cancelled unpaid; queued after that commit."""
    card_setup.release_card_setup(reservation_id=reservation_id)


# Acknowledged only once they have run, so a worker shutting down mid-charge leaves the message
# for another; the charges' leases keep the two from both calling Stripe. About an hour of
# retries; the sweep (retry_due_charges) takes over after that.
_CHARGE_RETRIES = {
    "acks_late": True,
    "autoretry_for": (ServiceUnavailable,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**_CHARGE_RETRIES)
def charge_reservation(reservation_id: int) -> str | None:
    """Charge an ended reservation's fee to its saved card; queued when it ends early or by its
    end-time task. Returns the charge's status."""
    charge = charging.charge_for_reservation(reservation_id=reservation_id)
    return None if charge is None else charge.status


@shared_task(ignore_result=True, **_CHARGE_RETRIES)
def charge_reservations(reservation_ids: list[int]) -> dict[str, int]:
    """Charge a batch of ended reservations' fees; queued by the sweep that ended them, or by
    a batch for what it had no time to send. Returns how many charges stand in each status."""
    charges = charging.charge_for_reservations(reservation_ids=reservation_ids)
    return dict(Counter(charge.status for charge in charges))


@shared_task
def retry_due_charges() -> int:
    """Charge what Stripe could not take before, and ended reservations whose charge task was
    lost. Runs every minute from beat; safe to run late or twice at once."""
    return charging.retry_due_charges()
