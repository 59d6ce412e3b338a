"""What the booking rules refuse, each naming the field the contract reports it on."""

import math
from datetime import timedelta

from reservations.models import Reservation
from securemyspot.errors import Conflict, DomainError, TooManyRequests


class SpotUnavailable(DomainError):
    field = "parking_spot"

    def __init__(self) -> None:
        super().__init__("This parking spot is already reserved")


class SpotNotOffered(DomainError):
    field = "parking_spot"

    def __init__(self) -> None:
        super().__init__("This parking spot is currently not commercially available")


class ReservationEnded(DomainError):
    def __init__(self, *, field: str = "non_field_errors") -> None:
        super().__init__("This reservation has already ended and cannot be changed.", field=field)


class EmailUnverified(DomainError):
    """With ``EMAIL_VERIFICATION=mandatory`` an account books only once its address is
    confirmed (docs/accounts.md). 403: signed in, but not allowed yet."""

    status_code = 403
    field = "email_unverified"

    def __init__(self) -> None:
        super().__init__(
            "Confirm your email address before booking: open the link we emailed you, or ask "
            "for a new one from your account page."
        )


class NotCancellable(DomainError):
    """Only a live booking that has not started may be cancelled for free: one that started
    is ended instead (for the time used), one that ended or was cancelled stays so. 409."""

    status_code = 409
    field = "reservation"


class ReservationStarted(NotCancellable):
    def __init__(self) -> None:
        super().__init__("It has already started: end it instead.")


class ReservationNotLive(NotCancellable):
    def __init__(self, reservation: Reservation) -> None:
        super().__init__(f"It is {reservation.get_status_display()}: there is nothing to cancel.")


class ReservationNotPending(Conflict):
    def __init__(self, reservation: Reservation) -> None:
        super().__init__(
            f"This reservation is {reservation.get_status_display()} and awaits no payment.",
            reservation_status=reservation.status,
        )


class TooManyUnpaidHolds(TooManyRequests):
    def __init__(self, *, holder: str, limit: int, lapse: timedelta) -> None:
        super().__init__(
            f"{holder.capitalize()} already holds {limit} unpaid reservation(s): pay for or "
            "cancel one, or retry once the oldest hold lapses.",
            retry_after_seconds=max(1, math.ceil(lapse.total_seconds())),
        )
