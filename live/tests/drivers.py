"""A driver's reservation driven through the real services, as the API, the card step (the
sandbox gateway), the engine's tasks and the payment page change it: what the reservation
stream's tests watch."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from accounts.services import issue_token
from accounts.tests.factories import UserFactory
from payments.services.card_setup import start_card_setup
from payments.services.sandbox import complete_sandbox_card_step, complete_sandbox_payment
from payments.tests.charging import DECLINED_WHEN_CHARGED, GOOD_CARD
from payments.tests.fake_stripe import setup_intent_id_of
from reservations import services
from reservations.models import Reservation
from reservations.services import reserve_spot
from spots.models import ParkingSpot


@dataclass
class Driver:
    """A signed-in user (``token``) or a guest (``email``); the frame that authenticates them
    on /ws/reservations/."""

    email: str
    user: User | None = None
    token: str | None = None

    @classmethod
    def signed_in(cls) -> "Driver":
        user = UserFactory()
        return cls(email=user.email, user=user, token=issue_token(user=user))

    @classmethod
    def guest(cls, number: int) -> "Driver":
        return cls(email=f"stream-guest{number}@example.com")

    def authenticate_frame(self, reservation: Reservation | None = None, **extra) -> dict:
        if self.token is not None:
            return {"type": "authenticate", "token": self.token, **extra}
        return {
            "type": "authenticate",
            "reservation": reservation.pk,
            "email": self.email,
            **extra,
        }

    def book(self, spot: ParkingSpot, *, minutes: int = 60, starts_in_minutes: int = 0):
        start = timezone.now() + timedelta(minutes=starts_in_minutes)
        return reserve_spot(
            spot_id=spot.pk,
            user=self.user,
            email=None if self.user else self.email,
            minutes=minutes,
            start_time=start if starts_in_minutes else None,
        )


def save_card(reservation: Reservation, card: str = GOOD_CARD) -> None:
    """The card step in the sandbox, as the browser does it: the reservation is confirmed."""
    secret = start_card_setup(reservation_id=reservation.pk)
    complete_sandbox_card_step(
        setup_intent_id=setup_intent_id_of(secret), client_secret=secret, card_number=card
    )


def save_card_declined_when_charged(reservation: Reservation) -> None:
    save_card(reservation, DECLINED_WHEN_CHARGED)


def extend(reservation: Reservation, minutes: int = 30) -> None:
    reservation.refresh_from_db()
    services.change_end_time(
        reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=minutes)
    )


def remind(reservation: Reservation) -> None:
    """Beat's reminder sweep, as it runs a few minutes before the end."""
    reservation.refresh_from_db()
    services.send_due_reminders(now=reservation.end_time - timedelta(minutes=5))


def end_by_engine(reservation: Reservation) -> None:
    """The engine's sweep after the end time: it ends the reservation, and the charge it queues
    after the commit runs at once (tasks run inline in tests)."""
    reservation.refresh_from_db()
    services.end_due_reservations(now=reservation.end_time + timedelta(seconds=1))


def end_now(reservation: Reservation) -> None:
    """The driver's DELETE: an unpaid one is cancelled, a confirmed one ended and charged."""
    services.end_or_cancel(reservation_id=reservation.pk)


def pay_failed_charge(reservation: Reservation) -> None:
    """The driver pays on the payment page with another card."""
    complete_sandbox_payment(reservation_id=reservation.pk, card_number=GOOD_CARD)


def lapse_hold(reservation: Reservation) -> None:
    services.expire_unpaid_reservation(reservation_id=reservation.pk)
