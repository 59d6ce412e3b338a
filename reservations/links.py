"""The link in reservation emails to a page where the driver extends or ends it."""

from datetime import timedelta

from securemyspot import links

PURPOSE = "manage-reservation"
# A reservation lasts at most a day and can be booked a week ahead; the link outlives both.
MAX_AGE = timedelta(days=30)


def manage_token(reservation_id: int) -> str:
    return links.signed_token(reservation_id, purpose=PURPOSE)


def reservation_id_from(token: str) -> int:
    return links.reservation_id_from(token, purpose=PURPOSE, max_age=MAX_AGE)


def manage_url(reservation_id: int) -> str:
    return links.site_url(f"manage/{manage_token(reservation_id)}/")
