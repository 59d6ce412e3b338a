"""What the accounts app tells the apps above it, without naming them (notifications writes
the email, in its outbox, connected in NotificationsConfig.ready()).

Sent inside the transaction that made the change, so that the email is written with it and
sent after the commit, or never if it rolls back."""

from django.dispatch import Signal

# An account's owner is to confirm its email address: ``user_id``, ``email``, ``verify_url``
# (the signed link), ``expires_at`` (when that link stops working), ``now``.
email_verification_requested = Signal()
