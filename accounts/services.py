"""Every change to accounts and their sign-in tokens happens here."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors
from accounts.models import AuthToken, User, normalize_email

EMAIL_TAKEN = "A user with this email already exists."
BAD_CREDENTIALS = "Unable to log in with provided credentials."
WRONG_CURRENT_PASSWORD = "Your current password is incorrect."

# A token's last use is recorded at this granularity, so a burst of requests costs one write,
# not one per request. The idle timeout is hours, so a minute of slack is immaterial.
TOKEN_RENEWAL_INTERVAL = timedelta(minutes=1)


class TokenRejected(Exception):
    """The key does not sign anyone in; the message says why."""


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sign_up(*, email: str, password: str) -> tuple[User, str]:
    """Create an account and sign it in; returns the user and the new token's key."""
    user = User(email=normalize_email(email), last_login=timezone.now())
    errors: dict[str, list[str]] = {}
    if selectors.email_is_registered(email=user.email):
        errors["email"] = [EMAIL_TAKEN]
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            key = issue_token(user=user)
    except IntegrityError:
        # Another sign-up for the same email committed after the check above.
        raise ValidationError({"email": [EMAIL_TAKEN]}) from None
    return user, key


def sign_in(*, email: str, password: str) -> tuple[User, str]:
    """Sign in on one more device; the user's other devices stay signed in."""
    # Django's authenticate() spends the time of a password check even for an unknown email,
    # so response times do not reveal which emails have accounts.
    user = authenticate(email=email, password=password)
    if user is None:
        raise ValidationError(BAD_CREDENTIALS)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        key = issue_token(user=user)
    return user, key


def sign_out(*, token: AuthToken) -> None:
    with transaction.atomic():
        token.delete()


def change_password(
    *, user: User, current_password: str, new_password: str, keep_token: AuthToken
) -> None:
    """Set a new password and sign out every other device of the user."""
    if not user.check_password(current_password):
        raise ValidationError({"password": [WRONG_CURRENT_PASSWORD]})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user.auth_tokens.exclude(pk=keep_token.pk).delete()


def issue_token(*, user: User) -> str:
    """A new token for the user; returns its key, which is stored only as a digest."""
    key = secrets.token_hex(20)
    with transaction.atomic():
        AuthToken.objects.create(user=user, digest=token_digest(key))
    return key


def authenticate_token(*, key: str, now: datetime | None = None) -> tuple[User, AuthToken]:
    """The user and token a key signs in, renewing the token; raises TokenRejected otherwise.

    An expired token is deleted on sight.
    """
    now = now or timezone.now()
    token = check_token(key=key, now=now)
    if now - token.last_used_at >= TOKEN_RENEWAL_INTERVAL:
        with transaction.atomic():
            # Conditional, so concurrent requests never move last_used_at backwards.
            AuthToken.objects.filter(pk=token.pk, last_used_at__lt=now).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def check_token(*, key: str, now: datetime | None = None) -> AuthToken:
    """The token a key signs in (with its user), without renewing it: what a socket that
    signed in with it asks again before sending more, so that an open socket alone does not
    keep a token alive. Raises TokenRejected as ``authenticate_token`` does; an expired token
    is deleted on sight."""
    now = now or timezone.now()
    token = AuthToken.objects.select_related("user").filter(digest=token_digest(key)).first()
    if token is None:
        raise TokenRejected("Invalid token.")
    if token.last_used_at < _expiry_cutoff(now):
        with transaction.atomic():
            token.delete()
        raise TokenRejected("Token has expired.")
    if not token.user.is_active:
        raise TokenRejected("User inactive or deleted.")
    return token


def purge_expired_tokens(*, now: datetime | None = None) -> int:
    """Delete every token idle for longer than the timeout; returns how many went."""
    with transaction.atomic():
        deleted, _ = AuthToken.objects.filter(
            last_used_at__lt=_expiry_cutoff(now or timezone.now())
        ).delete()
    return deleted


def _expiry_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS)
