"""The link in a "Payment Failed" email to the payment page of one reservation."""

from datetime import timedelta

from securemyspot import links

PURPOSE = "pay-reservation"
# Long enough for a driver back from a trip; the page tells them nothing the email did not.
MAX_AGE = timedelta(days=90)


def pay_token(reservation_id: int) -> str:
    return links.signed_token(reservation_id, purpose=PURPOSE)


def reservation_id_from(token: str) -> int:
    return links.reservation_id_from(token, purpose=PURPOSE, max_age=MAX_AGE)


def pay_url(reservation_id: int) -> str:
    return links.site_url(f"pay/{pay_token(reservation_id)}/")
