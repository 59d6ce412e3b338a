"""Payments' answers to the reservations app's signals, connected in PaymentsConfig.ready():
thin, like tasks. Each queues its task after the reservation's change commits; the charge sweep
(``retry_due_charges``) charges any ended reservation whose task was lost."""

from reservations import signals
from securemyspot.tasks import enqueue_after_commit

# A task per reservation would cost more than the charge itself (docs/tasks.md).
CHARGES_PER_TASK = 50


def charge_ended_reservation(*, reservation_id: int, **_: object) -> None:
    enqueue_after_commit("payments.tasks.charge_reservation", reservation_id)


def charge_ended_reservations(*, reservation_ids: list[int], **_: object) -> None:
    for start in range(0, len(reservation_ids), CHARGES_PER_TASK):
        enqueue_after_commit(
            "payments.tasks.charge_reservations", reservation_ids[start : start + CHARGES_PER_TASK]
        )


def release_card_setup(*, reservation_id: int, **_: object) -> None:
    enqueue_after_commit("payments.tasks.release_card_setup", reservation_id)


def connect() -> None:
    signals.reservation_ended.connect(charge_ended_reservation, dispatch_uid="payments.charge")
    signals.reservations_ended.connect(
        charge_ended_reservations, dispatch_uid="payments.charge_batch"
    )
    signals.unpaid_reservation_cancelled.connect(
        release_card_setup, dispatch_uid="payments.release_card_setup"
    )
