import secrets
from datetime import datetime

from django.conf import settings
from django.db import models

from reservations.links import manage_url
from reservations.pricing import Fee, fee_for_period

# Ids are random so that knowing one reservation's id (or an email) reveals no other; below
# 2^53 so a JavaScript client holds them exactly.
MAX_RESERVATION_ID = 2**53 - 1


def new_reservation_id() -> int:
    return secrets.randbelow(MAX_RESERVATION_ID) + 1


class Reservation(models.Model):
    """A spot held for ``[start_time, end_time)``.

    While pending payment or confirmed it is *live* and holds its spot: on PostgreSQL an
    exclusion constraint (migration 0002) forbids two live reservations of one spot to overlap.
    """

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "pending payment"
        CONFIRMED = "confirmed", "confirmed"
        ENDED = "ended", "ended"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "expired (hold lapsed unpaid)"
        PAYMENT_FAILED = "payment_failed", "payment failed"

    class Announced(models.IntegerChoices):
        """What the live map was told of it so far (docs/live.md): its start (the spot taken)
        when it began, its end (the spot freed) when an unpaid hold outlived it."""

        NOTHING = 0, "nothing yet"
        START = 1, "its start"
        END = 2, "its end"

    LIVE_STATUSES = (Status.PENDING_PAYMENT, Status.CONFIRMED)
    # Ended with a fee: paid up (or waived), or awaiting the driver's payment.
    SETTLING_STATUSES = (Status.ENDED, Status.PAYMENT_FAILED)

    id = models.BigIntegerField(primary_key=True, default=new_reservation_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservations",
        help_text="Empty for a guest, who is known by email only.",
    )
    email = models.EmailField(db_index=True)
    spot = models.ForeignKey(
        "spots.ParkingSpot", on_delete=models.PROTECT, related_name="reservations"
    )
    rate = models.DecimalField(
        "hourly rate (USD)", max_digits=6, decimal_places=2, help_text="Copied at booking."
    )
    currency = models.CharField(max_length=3, default="usd")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="An unpaid reservation is cancelled at this time."
    )
    client_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="Where the booking came from: unpaid holds are limited."
    )

    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_setup_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_payment_method_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)

    reminded_for_end_time = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The end time the driver was last reminded of; a new end time earns a new one.",
    )
    amount_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="The fee for the time used, once ended."
    )
    fee_waived = models.BooleanField(
        default=False, help_text="The fee was under the minimum charge and is not collected."
    )

    announced = models.PositiveSmallIntegerField(
        choices=Announced.choices,
        default=Announced.NOTHING,
        help_text="What the live map was told of its start and end, which happen by the clock.",
    )

    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was ended, cancelled or expired."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time"]
        indexes = [
            # Availability: the live reservations of a spot around an instant.
            models.Index(
                fields=["spot", "end_time", "start_time"],
                condition=models.Q(status__in=["pending_payment", "confirmed"]),
                name="reservation_live_spot_idx",
            ),
            models.Index(fields=["user", "-start_time"], name="reservation_user_idx"),
            models.Index(
                fields=["hold_expires_at"],
                condition=models.Q(status="pending_payment"),
                name="reservation_hold_idx",
            ),
            # The clock's announcements (reservations.services.announce_by_clock): bookings
            # ahead whose start arrives, and unpaid holds that outlive their end.
            models.Index(
                fields=["start_time"],
                condition=models.Q(status__in=["pending_payment", "confirmed"], announced=0),
                name="reservation_unannounced_idx",
            ),
            models.Index(
                fields=["end_time"],
                condition=models.Q(status="pending_payment", announced__lt=2),
                name="reservation_hold_end_idx",
            ),
            # Hoarding limits: an address's unpaid holds (an email's use the email index).
            models.Index(
                fields=["client_address", "hold_expires_at"],
                condition=models.Q(status="pending_payment"),
                name="reservation_address_hold_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")),
                name="reservation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(id__gte=1, id__lte=MAX_RESERVATION_ID),
                name="reservation_id_javascript_safe",
            ),
        ]

    def __str__(self) -> str:
        return f"Reservation {self.id} of spot {self.spot_id} ({self.get_status_display()})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def paid(self) -> bool:
        """The contract's ``paid``: the card is set up, so the reservation is paid for."""
        return self.confirmed_at is not None

    def fee_until(self, moment: datetime) -> Fee:
        """What parking from the start until ``moment`` costs, at most until the end time."""
        return fee_for_period(self.rate, self.start_time, min(moment, self.end_time))

    @property
    def manage_url(self) -> str:
        """The emailed link to the page where the driver extends or ends it."""
        return manage_url(self.pk)


class ReservationEvent(models.Model):
    """A change its owner sees live on ``/ws/reservations/`` (docs/live.md), written in the
    transaction of the change (a transactional outbox, like ``spots.AvailabilityEvent``).
    ``seq`` numbers them in commit order without gaps (``ReservationEventSequence``)."""

    class Kind(models.TextChoices):
        CREATED = "created", "created (a signed-in user's booking)"
        CONFIRMED = "confirmed", "confirmed (the card saved)"
        AMENDED = "amended", "amended (a new end time)"
        REMINDER_SENT = "reminder_sent", "reminder sent"
        ENDED = "ended", "ended (its fee fixed)"
        CANCELLED = "cancelled", "cancelled (unpaid, lapsed unpaid, or not yet started)"
        CHARGED = "charged", "charged (the fee paid, or waived)"
        PAYMENT_FAILED = "payment_failed", "payment failed (the driver has to pay)"

    seq = models.BigIntegerField(primary_key=True)
    # Not indexed: read by ``seq`` ranges only, and reservations are never deleted in use.
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        help_text="The reservation's owner; empty for a guest's (who is known by it).",
    )
    kind = models.CharField(max_length=14, choices=Kind.choices)
    created_at = models.DateTimeField(help_text="When the change was made.")

    def __str__(self) -> str:
        return f"#{self.seq}: reservation {self.reservation_id} {self.kind}"


class ReservationEventSequence(models.Model):
    """One row: the last ``ReservationEvent.seq`` handed out, taken with an ``UPDATE`` late in
    a transaction that records events, so its row lock orders their commits and numbers."""

    ONLY_ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ONLY_ROW)
    last = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_reservation_sequence_row")
        ]

    def __str__(self) -> str:
        return f"last reservation event #{self.last}"
