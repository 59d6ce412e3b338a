"""Links in reservation emails, each to a page acting on one reservation with no sign-in: the
manage page (extend or end it), and the payment page of a reservation whose charge failed
(payments' recovery page; made here so that the reservation JSON can carry it)."""

from datetime import timedelta

from securemyspot import links

PURPOSE = "manage-reservation"
# A reservation lasts at most a day and can be booked a week ahead; the link outlives both.
MAX_AGE = timedelta(days=30)

PAY_PURPOSE = "pay-reservation"
# Long enough for a driver back from a trip; the page tells them nothing the email did not.
PAY_MAX_AGE = timedelta(days=90)


def manage_token(reservation_id: int) -> str:
    return links.signed_token(reservation_id, purpose=PURPOSE)


def reservation_id_from(token: str) -> int:
    return links.reservation_id_from(token, purpose=PURPOSE, max_age=MAX_AGE)


def manage_url(reservation_id: int) -> str:
    return links.site_url(f"manage/{manage_token(reservation_id)}/")


def pay_token(reservation_id: int) -> str:
    return links.signed_token(reservation_id, purpose=PAY_PURPOSE)


def paying_reservation_id_from(token: str) -> int:
    return links.reservation_id_from(token, purpose=PAY_PURPOSE, max_age=PAY_MAX_AGE)


def pay_url(reservation_id: int) -> str:
    return links.site_url(f"pay/{pay_token(reservation_id)}/")
