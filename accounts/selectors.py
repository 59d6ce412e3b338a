"""Reads about accounts that other apps rely on."""

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User, normalize_email


def accounts_with_email(*, email: str) -> QuerySet:
    """The account using this email, in any letter case: none or one."""
    return User.objects.filter(email=normalize_email(email))


def email_is_registered(*, email: str) -> bool:
    """Whether an account uses this email, in any letter case."""
    return accounts_with_email(email=email).exists()


def email_is_verified(*, user: User) -> bool:
    """Whether the account's address counts as confirmed: opened the emailed link, or
    ``EMAIL_VERIFICATION`` is none, where no link is sent and nobody is asked to."""
    return settings.EMAIL_VERIFICATION == "none" or user.email_verified_at is not None
