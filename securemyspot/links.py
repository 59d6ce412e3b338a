"""Links in emails that act on one reservation with no account or password: the reservation id,
signed for one purpose (the salt), so a link opens that page of that reservation and nothing
else, and cannot be forged or altered."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import Http404


def signed_token(reservation_id: int, *, purpose: str) -> str:
    return signing.dumps(reservation_id, salt=purpose)


def reservation_id_from(token: str, *, purpose: str, max_age: timedelta) -> int:
    """The reservation a token was signed for; 404 for a forged, altered or expired one."""
    try:
        reservation_id = signing.loads(token, salt=purpose, max_age=max_age)
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(reservation_id, int):
        raise Http404
    return reservation_id


def site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/{path.lstrip('/')}"
