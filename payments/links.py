"""The link in a "Payment Failed" email: signed, so that it opens the payment page of one
reservation and nothing else, with no account or password."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import Http404

SALT = "pay-reservation"
# Long enough for a driver back from a trip; the page tells them nothing the email did not.
MAX_AGE = timedelta(days=90)
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


def pay_token(reservation_id: int) -> str:
    return signing.dumps(reservation_id, salt=SALT)


def reservation_id_from(token: str) -> int:
    """The reservation a token was signed for; 404 for a forged, altered or expired one."""
    try:
        reservation_id = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(reservation_id, int):
        raise Http404
    return reservation_id


def pay_url(reservation_id: int) -> str:
    site = getattr(settings, "SITE_URL", DEFAULT_SITE_URL).rstrip("/")
    return f"{site}/pay/{pay_token(reservation_id)}/"
