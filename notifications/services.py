"""The emails drivers receive, sent through a transactional outbox.

``queue_reservation_email`` renders an email and writes it as a row in the caller's transaction,
so it exists exactly when the change it reports was committed, and shows the reservation as it
was at that moment. After the commit a Celery task sends it (``deliver_email``); if the broker
was down or sending failed, the periodic sweep (``deliver_pending_emails``) sends it later. No
failure to queue or send an email ever reaches the booking that caused it.

Sending is at least once: a worker that dies after the mail server accepted an email but before
recording it leaves it to be sent again once its claim lapses.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.formatting import format_card, format_local_time, format_money
from notifications.models import EmailKind, OutboundEmail
from reservations.links import manage_url
from reservations.models import Reservation
from reservations.pricing import billable_minutes, fee_for_period
from securemyspot.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)

# Sent again each time the end time changes; every other kind goes once per reservation.
PER_END_TIME_KINDS = frozenset({EmailKind.AMENDMENT})

# The task queued at commit normally sends an email within seconds; the sweep waits this long
# before stepping in, so that the two rarely meet.
SWEEP_GRACE = timedelta(minutes=1)
# One sender holds an email this long: far longer than an SMTP exchange whose every socket
# operation times out after SEND_TIMEOUT_SECONDS, so two senders never hold it at once.
CLAIM_LEASE = timedelta(minutes=5)
SEND_TIMEOUT_SECONDS = 30
# Failed attempts wait 1, 2, 4, ... minutes, at most an hour, for the sweep; after
# MAX_ATTEMPTS (about six hours of failures) only an operator's "Send now" tries again.
RETRY_BACKOFF_START = timedelta(minutes=1)
RETRY_BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12
# The server refused this one message; the next one may well go through.
MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


@dataclass(frozen=True)
class PaymentSummary:
    """What the emails at the end of a reservation say about paying for it."""

    amount_cents: int
    currency: str
    waived: bool = False
    card_brand: str = ""  # of the card charged
    card_last4: str = ""
    failure_reason: str = ""  # why the card could not be charged
    pay_url: str = ""  # where the driver can pay instead


def queue_reservation_email(
    *,
    reservation: Reservation,
    kind: EmailKind,
    previous_end_time: datetime | None = None,
    payment: PaymentSummary | None = None,
    now: datetime | None = None,
) -> OutboundEmail | None:
    """Queue the ``kind`` email about ``reservation`` as it stands now, in the caller's
    transaction; it is sent once that transaction commits, and never if it rolls back.

    ``previous_end_time`` is the end time before an amendment, shown beside the new one;
    ``payment`` what was charged, or why not, for the emails at the end.
    Returns None when this email was queued before (a confirmation confirmed again, the same
    amendment repeated) or could not be queued: an email is never worth failing a booking
    for, so that is logged, not raised.
    """
    kind = EmailKind(kind)
    now = now or timezone.now()
    try:
        # A savepoint, so that whatever fails in here leaves the caller's transaction usable.
        with transaction.atomic():
            dedup_key = _dedup_key(reservation=reservation, kind=kind)
            if dedup_key is None or OutboundEmail.objects.filter(dedup_key=dedup_key).exists():
                return None
            context = {
                "subject": kind.label,
                **_reservation_context(
                    reservation=reservation, previous_end_time=previous_end_time, now=now
                ),
                **(_payment_context(reservation=reservation, payment=payment) if payment else {}),
            }
            email = OutboundEmail.objects.create(
                kind=kind,
                reservation=reservation,
                recipient=reservation.email,
                subject=kind.label,
                body_text=render_to_string(f"notifications/{kind.value}.txt", context),
                body_html=render_to_string(f"notifications/{kind.value}.html", context),
                dedup_key=dedup_key,
                created_at=now,
                next_attempt_at=now + SWEEP_GRACE,
            )
    except IntegrityError:
        # The same email was queued by a concurrent transaction that committed first.
        return None
    except Exception:
        logger.exception("Could not queue the %s email of reservation %s", kind, reservation.pk)
        return None
    enqueue_after_commit("notifications.tasks.deliver_email", email.pk)
    return email


def deliver_email(*, email_id: int, now: datetime | None = None) -> bool:
    """Send one queued email unless it is sent or another sender holds it; True if this call
    sent it. Safe to run twice, late, or concurrently.

    A failure is recorded on the row (attempts, last error, when the sweep may retry) and then
    raised, so that a task can retry sooner.
    """
    now = now or timezone.now()
    if not _claim(email_id=email_id, now=now):
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        _send(email)
    except Exception as exc:
        OutboundEmail.objects.filter(pk=email_id).update(
            claimed_until=None,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + _retry_backoff(attempts=email.attempts),
        )
        raise
    OutboundEmail.objects.filter(pk=email_id).update(sent_at=timezone.now(), claimed_until=None)
    return True


def deliver_pending_emails(*, batch: int = 100, now: datetime | None = None) -> int:
    """Send the unsent emails that are due: those whose task never ran (broker down, worker
    lost) or whose last attempt failed. Returns how many were sent."""
    now = now or timezone.now()
    due = (
        OutboundEmail.objects.filter(
            sent_at__isnull=True, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    sent = 0
    for email_id in list(due):
        try:
            sent += deliver_email(email_id=email_id, now=now)
        except MESSAGE_REFUSED:
            logger.warning("The mail server refused email %s; it stays queued", email_id)
        except Exception:
            # Most likely the mail server is unreachable, so the rest would fail too, each after
            # a timeout. They stay due for the next sweep.
            logger.exception(
                "Sending email %s failed; the sweep stops until its next run", email_id
            )
            break
    return sent


def _dedup_key(*, reservation: Reservation, kind: EmailKind) -> str | None:
    """The key that makes queueing this email again a no-op; None if it is a repeat already."""
    if kind == EmailKind.REMINDER:
        # A new end time earns a new reminder; the same end time, one only.
        return f"{kind.value}:{reservation.pk}:{reservation.end_time.astimezone(UTC).isoformat()}"
    if kind not in PER_END_TIME_KINDS:
        return f"{kind.value}:{reservation.pk}"
    # One email per change of end time. Keyed on the end time alone, extending, shortening and
    # extending again would lose the third email; chaining each key to the previous email
    # keeps every change while the same end time queued twice in a row still sends once.
    end_time = reservation.end_time.astimezone(UTC).isoformat()
    prefix = f"{kind.value}:{reservation.pk}:{end_time}:"
    previous = (
        OutboundEmail.objects.filter(reservation=reservation, kind=kind)
        .order_by("-pk")
        .only("pk", "dedup_key")
        .first()
    )
    if previous is None:
        return f"{prefix}first"
    if previous.dedup_key.startswith(prefix):
        return None
    return f"{prefix}after-{previous.pk}"


def _reservation_context(
    *, reservation: Reservation, previous_end_time: datetime | None, now: datetime
) -> dict[str, object]:
    spot = reservation.spot
    currency = reservation.currency
    fee_so_far = fee_for_period(
        reservation.rate, reservation.start_time, min(now, reservation.end_time)
    )
    fee_as_booked = fee_for_period(reservation.rate, reservation.start_time, reservation.end_time)
    return {
        "reservation_id": reservation.pk,
        "spot_id": spot.pk,
        "spot_location": f"{spot.lat}, {spot.lng}",
        "map_url": f"https://www.google.com/maps/search/?api=1&query={spot.lat},{spot.lng}",
        "start": format_local_time(reservation.start_time),
        "end": format_local_time(reservation.end_time),
        "previous_end": format_local_time(previous_end_time) if previous_end_time else "",
        "rate": f"{format_money(int(reservation.rate * 100), currency)} per hour",
        "card": format_card(reservation.card_brand, reservation.card_last4),
        "fee_so_far": format_money(fee_so_far.amount_cents, currency),
        "fee_as_booked": format_money(fee_as_booked.amount_cents, currency),
        "fee_as_booked_waived": fee_as_booked.waived,
        "minimum_charge": format_money(settings.MINIMUM_CHARGE_CENTS, currency),
        "manage_url": manage_url(reservation.pk),
    }


def _payment_context(*, reservation: Reservation, payment: PaymentSummary) -> dict[str, object]:
    minutes = billable_minutes(reservation.start_time, reservation.end_time)
    return {
        "time_used": f"{minutes} minute{'' if minutes == 1 else 's'}",
        "amount": format_money(payment.amount_cents, payment.currency),
        "amount_waived": payment.waived,
        "charged_card": format_card(payment.card_brand, payment.card_last4),
        "failure_reason": payment.failure_reason,
        "pay_url": payment.pay_url,
    }


def _claim(*, email_id: int, now: datetime) -> bool:
    # One conditional UPDATE instead of a row lock held while talking to the mail server: on
    # SQLite any open write transaction blocks every booking, and SMTP can take seconds.
    claimed = (
        OutboundEmail.objects.filter(pk=email_id, sent_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    )
    return claimed == 1


def _send(email: OutboundEmail) -> None:
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT_SECONDS)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        to=[email.recipient],
        connection=connection,
    )
    message.attach_alternative(email.body_html, "text/html")
    message.send()


def _retry_backoff(*, attempts: int) -> timedelta:
    return min(RETRY_BACKOFF_START * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX)
