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
