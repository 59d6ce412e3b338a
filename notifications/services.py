"""The emails drivers receive, sent through a transactional outbox.

``queue_reservation_email`` renders an email and writes it as a row in the caller's transaction,
so it exists exactly when the change it reports was committed, and shows the reservation as it
was at that moment. After the commit a Celery task sends it (``deliver_email``); the engine
queues a batch's emails together and one task sends them over one connection
(``queue_reservation_emails``, ``deliver_emails``). If the broker was down or sending failed,
the periodic sweep (``deliver_pending_emails``) sends it later. No
failure to queue or send an email ever reaches the booking that caused it.

Sending is at least once: a worker that dies after the mail server accepted an email but before
recording it leaves it to be sent again once its claim lapses.
"""

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from securemyspot import leases
from securemyspot.formatting import format_card, format_local_time, format_money
from securemyspot.links import site_url
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
# A batch takes no new message after this long and queues the rest as a task of its own, so
# that a slow mail server does not hold a worker's process, and no claim the batch holds lapses
# while it is still working through it.
SEND_BATCH_SECONDS = 10
# Failed attempts wait 1, 2, 4, ... minutes, at most an hour, for the sweep; after
# MAX_ATTEMPTS (about six hours of failures) only an operator's "Send now" tries again.
RETRY_BACKOFF_START = timedelta(minutes=1)
RETRY_BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12
# The server refused this one message; the next one may well go through.
MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class EmailedSpot(Protocol):
    pk: int
    lat: Decimal
    lng: Decimal


class EmailedFee(Protocol):
    minutes: int
    amount_cents: int

    @property
    def waived(self) -> bool: ...


class EmailedReservation(Protocol):
    """What an email shows of a reservation. Reservations sit above notifications
    (docs/architecture.md), so they pass themselves in with what the emails need, their fee and
    link included: ``reservations.models.Reservation`` is one."""

    pk: int
    email: str
    spot: EmailedSpot
    start_time: datetime
    end_time: datetime
    rate: Decimal
    currency: str
    card_brand: str
    card_last4: str

    def fee_until(self, moment: datetime) -> EmailedFee: ...

    @property
    def manage_url(self) -> str: ...


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
    reservation: EmailedReservation,
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
            email = _rendered(
                ReservationEmail(reservation, kind, payment),
                dedup_key=dedup_key,
                previous_end_time=previous_end_time,
                now=now,
            )
            email.save(force_insert=True)
    except IntegrityError:
        # The same email was queued by a concurrent transaction that committed first.
        return None
    except Exception:
        logger.exception("Could not queue the %s email of reservation %s", kind, reservation.pk)
        return None
    enqueue_after_commit("notifications.tasks.deliver_email", email.pk)
    return email


def queue_email_verification(
    *, user_id: int, email: str, verify_url: str, expires_at: datetime, now: datetime
) -> OutboundEmail | None:
    """Queue the email asking an account's owner to confirm its address, in the caller's
    transaction, as ``queue_reservation_email`` does (about no reservation). Each request is
    its own email: a resend is a new one."""
    kind = EmailKind.EMAIL_VERIFICATION
    context = {
        "subject": kind.label,
        "verify_url": verify_url,
        "expires": format_local_time(expires_at),
    }
    try:
        with transaction.atomic():
            row = OutboundEmail(
                kind=kind,
                recipient=email,
                subject=kind.label,
                body_text=render_to_string(f"notifications/{kind.value}.txt", context),
                body_html=render_to_string(f"notifications/{kind.value}.html", context),
                # One per request: a link signed in the same second as another is the same
                # link, but the owner asked twice and is told an email is on its way.
                dedup_key=f"{kind.value}:{user_id}:{now.astimezone(UTC).isoformat()}",
                created_at=now,
                next_attempt_at=now + SWEEP_GRACE,
            )
            row.save(force_insert=True)
    except IntegrityError:
        return None  # this request's email, queued already
    except Exception:
        logger.exception("Could not queue the %s email of account %s", kind, user_id)
        return None
    enqueue_after_commit("notifications.tasks.deliver_email", row.pk)
    return row


@dataclass(frozen=True)
class ReservationEmail:
    """One email about a reservation, for ``queue_reservation_emails``."""

    reservation: EmailedReservation
    kind: EmailKind
    payment: PaymentSummary | None = None


def queue_reservation_emails(*, emails: Sequence[ReservationEmail], now: datetime) -> None:
    """Queue many emails at once, in the caller's transaction, each once (by its dedup key,
    as ``queue_reservation_email``), and send them together after the commit: the engine
    settles reservations in batches. Not for amendments, whose key depends on the one before.
    An email that cannot be rendered is logged and left out; the others are queued."""
    keyed = {
        _dedup_key(reservation=email.reservation, kind=email.kind): email
        for email in emails
        if email.kind not in PER_END_TIME_KINDS
    }
    if not keyed:
        return
    queued = set(
        OutboundEmail.objects.filter(dedup_key__in=keyed).values_list("dedup_key", flat=True)
    )
    rows = []
    for dedup_key, email in keyed.items():
        if dedup_key in queued:
            continue
        try:
            rows.append(_rendered(email, dedup_key=dedup_key, previous_end_time=None, now=now))
        except Exception:
            logger.exception(
                "Could not queue the %s email of reservation %s", email.kind, email.reservation.pk
            )
    if not rows:
        return
    # A concurrent transaction may have queued some of them first: those are left as they are.
    # In key order, so that two such transactions wait on each other rather than deadlock.
    rows.sort(key=lambda row: row.dedup_key)
    OutboundEmail.objects.bulk_create(rows, ignore_conflicts=True)
    email_ids = list(
        OutboundEmail.objects.filter(
            dedup_key__in=[row.dedup_key for row in rows], sent_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if email_ids:
        enqueue_after_commit("notifications.tasks.deliver_emails", email_ids)


def deliver_emails(*, email_ids: Sequence[int], now: datetime | None = None) -> int:
    """Send queued emails over one connection to the mail server, each unless it is sent or
    another sender holds it; returns how many this call sent. Safe to run twice, late, or
    concurrently.

    A message the server refuses is recorded on its row and the rest are still sent; any other
    failure (the server is unreachable) is recorded on the message it happened to, the messages
    not yet tried are released untouched, and it is raised. A refusal is raised after the rest
    are sent, so that a task can retry sooner.
    """
    now = now or timezone.now()
    claimed = _claim(email_ids=email_ids, now=now)
    if not claimed:
        return 0
    untried = list(claimed)
    batch = leases.time_boxed(untried, seconds=SEND_BATCH_SECONDS)
    sent: list[int] = []
    refused: Exception | None = None
    sending: OutboundEmail | None = None
    try:
        with get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT_SECONDS) as connection:
            for sending in batch:
                try:
                    _message(sending, connection).send()
                except MESSAGE_REFUSED as exc:
                    _record_failure(sending, exc, now=now)
                    refused = refused or exc
                else:
                    # Recorded at once, not when the batch ends: a worker killed mid-batch
                    # leaves at most the one message it was sending to be sent again.
                    _record_sent(sending.pk)
                    sent.append(sending.pk)
                sending = None
    except Exception as exc:
        # The message being sent failed, or, if none was, opening the connection: that counts
        # against the first message.
        failed = sending or (untried.pop(0) if untried else None)
        if failed is not None:
            _record_failure(failed, exc, now=now)
        raise
    finally:
        # Claimed but never tried (a failure, or out of time): as they were, for the next run.
        leases.release(
            OutboundEmail.objects.filter(pk__in=[email.pk for email in untried]),
            counter="attempts",
        )
    if untried:
        enqueue_after_commit("notifications.tasks.deliver_emails", [email.pk for email in untried])
    if refused is not None:
        raise refused
    return len(sent)


def _record_sent(email_id: int) -> None:
    OutboundEmail.objects.filter(pk=email_id).update(sent_at=timezone.now(), claimed_until=None)


def deliver_email(*, email_id: int, now: datetime | None = None) -> bool:
    """Send one queued email unless it is sent or another sender holds it; True if this call
    sent it. Safe to run twice, late, or concurrently.

    A failure is recorded on the row (attempts, last error, when the sweep may retry) and then
    raised, so that a task can retry sooner.
    """
    return deliver_emails(email_ids=[email_id], now=now) == 1


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


def _dedup_key(*, reservation: EmailedReservation, kind: EmailKind) -> str | None:
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
        OutboundEmail.objects.filter(reservation_id=reservation.pk, kind=kind)
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
    *, reservation: EmailedReservation, previous_end_time: datetime | None, now: datetime
) -> dict[str, object]:
    spot = reservation.spot
    currency = reservation.currency
    fee_so_far = reservation.fee_until(now)
    fee_as_booked = reservation.fee_until(reservation.end_time)
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
        "manage_url": reservation.manage_url,
        "find_url": site_url("/"),
    }


def _payment_context(
    *, reservation: EmailedReservation, payment: PaymentSummary
) -> dict[str, object]:
    minutes = reservation.fee_until(reservation.end_time).minutes
    return {
        "time_used": f"{minutes} minute{'' if minutes == 1 else 's'}",
        "amount": format_money(payment.amount_cents, payment.currency),
        "amount_waived": payment.waived,
        "charged_card": format_card(payment.card_brand, payment.card_last4),
        "failure_reason": payment.failure_reason,
        "pay_url": payment.pay_url,
    }


def _rendered(
    email: ReservationEmail,
    *,
    dedup_key: str,
    previous_end_time: datetime | None,
    now: datetime,
) -> OutboundEmail:
    """The email as a row, rendered, not yet saved."""
    reservation, kind, payment = email.reservation, email.kind, email.payment
    context = {
        "subject": kind.label,
        **_reservation_context(
            reservation=reservation, previous_end_time=previous_end_time, now=now
        ),
        **(_payment_context(reservation=reservation, payment=payment) if payment else {}),
    }
    return OutboundEmail(
        kind=kind,
        reservation_id=reservation.pk,
        recipient=reservation.email,
        subject=kind.label,
        body_text=render_to_string(f"notifications/{kind.value}.txt", context),
        body_html=render_to_string(f"notifications/{kind.value}.html", context),
        dedup_key=dedup_key,
        created_at=now,
        next_attempt_at=now + SWEEP_GRACE,
    )


def _claim(*, email_ids: Sequence[int], now: datetime) -> list[OutboundEmail]:
    """The unsent emails of ``email_ids`` that nobody holds, each now held by this sender
    (``claimed_until``), committed at once: no row lock is held while talking to the mail
    server, which can take seconds (on SQLite any open write transaction blocks every booking).
    Rows another sender is claiming at this moment are skipped, not waited for."""
    return leases.claim(
        OutboundEmail.objects.filter(pk__in=email_ids, sent_at__isnull=True),
        now=now,
        lease=CLAIM_LEASE,
        counter="attempts",
    )


def _message(email: OutboundEmail, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        to=[email.recipient],
        connection=connection,
    )
    message.attach_alternative(email.body_html, "text/html")
    return message


def _record_failure(email: OutboundEmail, error: Exception, *, now: datetime) -> None:
    OutboundEmail.objects.filter(pk=email.pk).update(
        claimed_until=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
        next_attempt_at=now
        + leases.backoff(email.attempts, start=RETRY_BACKOFF_START, maximum=RETRY_BACKOFF_MAX),
    )
