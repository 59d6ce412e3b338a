"""Reads about paying for a reservation that are more than one line."""

from collections.abc import Collection
from dataclasses import dataclass

from payments import links
from payments.models import Charge
from reservations.models import Reservation
from securemyspot.formatting import format_card, format_local_time, format_money

# A charge's failure_code when there was no saved card to try: the reservation names none, or
# Stripe no longer has the customer or card.
SAVED_CARD_UNAVAILABLE = "saved_card_unavailable"

# What a driver reads on the payment page and in the "Payment Failed" email.
AUTHENTICATION_NEEDED = "Your bank asks you to confirm this payment."
NOT_CHARGED = "Your card could not be charged."
NO_SAVED_CARD = "The card saved for this reservation is no longer available."


def failure_reason(charge: Charge) -> str:
    """Why the card could not be charged, in the driver's words."""
    if charge.status == Charge.Status.REQUIRES_ACTION:
        return AUTHENTICATION_NEEDED
    if charge.failure_code == SAVED_CARD_UNAVAILABLE:
        return NO_SAVED_CARD
    # Stripe's own message for a declined card ("Your card was declined.") is meant for them.
    return charge.failure_message or NOT_CHARGED


@dataclass(frozen=True)
class PaymentDue:
    reservation: Reservation
    charge: Charge | None

    @property
    def state(self) -> str:
        """``due`` (the driver should pay), ``paid``, ``waived``, or ``charging`` (the saved card
        is being charged, or the reservation has not been charged yet)."""
        if self.charge is None or self.charge.is_open:
            return "charging"
        if self.charge.status == Charge.Status.SUCCEEDED:
            return "paid"
        if self.charge.status == Charge.Status.WAIVED:
            return "waived"
        return "due"

    @property
    def failure_reason(self) -> str:
        return failure_reason(self.charge) if self.state == "due" else ""

    # As the driver reads them: New York time, dollars, "Visa ending 4242".

    @property
    def starts(self) -> str:
        return format_local_time(self.reservation.start_time)

    @property
    def ends(self) -> str:
        return format_local_time(self.reservation.end_time)

    @property
    def amount(self) -> str:
        if self.charge is not None:
            return format_money(self.charge.amount_cents, self.charge.currency)
        return format_money(self.reservation.amount_cents or 0, self.reservation.currency)

    @property
    def paid_with(self) -> str:
        return format_card(self.charge.card_brand, self.charge.card_last4) if self.charge else ""


def payment_due(*, reservation_id: int) -> PaymentDue | None:
    """The reservation and its charge, for the payment page; None if there is no such
    reservation."""
    reservation = Reservation.objects.select_related("spot").filter(pk=reservation_id).first()
    if reservation is None:
        return None
    return PaymentDue(
        reservation=reservation, charge=Charge.objects.filter(pk=reservation_id).first()
    )


def charge_outcomes(*, reservation_ids: Collection[int]) -> dict[int, dict]:
    """What became of each reservation's fee, as its owner's own views show it (additive
    fields of the reservation JSON on /ws/reservations/): ``charge_status`` (null before the
    charge, else the charge's status), ``amount_charged_cents`` (what the card paid, 0 when
    waived, null otherwise) and ``pay_url``, the link to pay a failed charge (null unless one
    awaits the driver). One query."""
    charges = {
        charge.pk: charge
        for charge in Charge.objects.filter(pk__in=reservation_ids).only(
            "reservation_id", "status", "amount_cents"
        )
    }
    return {
        reservation_id: _charge_outcome(charges.get(reservation_id))
        for reservation_id in reservation_ids
    }


def _charge_outcome(charge: Charge | None) -> dict:
    if charge is None:
        return {"charge_status": None, "amount_charged_cents": None, "pay_url": None}
    charged = {Charge.Status.SUCCEEDED: charge.amount_cents, Charge.Status.WAIVED: 0}
    return {
        "charge_status": str(charge.status),
        "amount_charged_cents": charged.get(charge.status),
        "pay_url": links.pay_url(charge.pk) if charge.awaits_driver else None,
    }
