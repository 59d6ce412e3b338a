"""What the payments app remembers about Stripe, and the sandbox that stands in for it.

The service's own records, not Stripe's idempotency keys alone, prevent double work: a
customer is created once per email, each reservation's SetupIntents are numbered, and each
ended reservation has one Charge whose lease lets one worker at a time talk to Stripe.
"""

from django.db import models
from django.utils import timezone


class StripeCustomer(models.Model):
    """The Stripe Customer of an email address, created once and reused for every reservation
    booked with that email (looked up here, never by listing customers at Stripe)."""

    email = models.EmailField(unique=True, help_text="Lower-cased, as reservations store it.")
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.customer_id})"


class SetupAttempt(models.Model):
    """One SetupIntent created for a reservation. A reservation gets another only when the
    previous one was cancelled (a declined card leaves it so), and each attempt's number goes
    into the idempotency key, so a retried request never creates a second SetupIntent."""

    reservation = models.ForeignKey(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="setup_attempts"
    )
    number = models.PositiveSmallIntegerField()
    setup_intent_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the sweep next asks Stripe whether the card was saved (confirm_saved_cards): a client
    # that saved it may never say so, and a webhook may be lost.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["reservation", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "number"], name="setup_attempt_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Setup attempt {self.number} of reservation {self.reservation_id}"


class WebhookEvent(models.Model):
    """A Stripe event already handled. Stored in the transaction that handles it, so a
    redelivered event is skipped and an event whose handling failed is handled again."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Charge(models.Model):
    """The fee of one ended reservation and what became of it at Stripe.

    Created before Stripe is called, one per reservation (it shares the reservation's id), so
    however often the charge is attempted, by a retried task, a sweep or two workers at once,
    it is one record with one idempotency key per attempt. ``docs/payments.md`` ("Charging at
    the end") describes the states.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "to be charged"
        RETRYING = "retrying", "Stripe call failed; retrying"
        SUCCEEDED = "succeeded", "paid"
        WAIVED = "waived", "waived (under the minimum charge)"
        REQUIRES_ACTION = "requires_action", "awaiting the driver's authentication"
        FAILED = "failed", "failed; awaiting another card"

    # The service may (still) send the off-session charge to Stripe.
    OPEN_STATUSES = (Status.PENDING, Status.RETRYING)
    # The off-session charge did not go through; the driver was sent a link to pay.
    AWAITING_DRIVER_STATUSES = (Status.REQUIRES_ACTION, Status.FAILED)
    # Attempt 1 is the off-session charge; later attempts are the driver's, in the browser.
    OFF_SESSION_ATTEMPT = 1

    reservation = models.OneToOneField(
        "reservations.Reservation",
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="charge",
        help_text="The charge's id is its reservation's: random, so its idempotency keys are "
        "unique across every database sharing a Stripe account.",
    )
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveSmallIntegerField(
        default=OFF_SESSION_ATTEMPT,
        help_text="Numbers the PaymentIntents made for this charge; part of the idempotency key "
        "(charge-<id>-attempt-<n>). Retries of one attempt reuse its key.",
    )
    stripe_payment_intent_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The current attempt's."
    )
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is talking to Stripe about it until then."
    )
    last_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the off-session charge was last sent to Stripe. While its answer is "
        "unrecorded, the next worker looks for it at Stripe before sending it again.",
    )
    tries = models.PositiveIntegerField(default=0, help_text="Claims to send it to Stripe.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="From then on the sweep sends it if it is still open."
    )
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    needs_attention = models.BooleanField(
        default=False, help_text="Operators should look: what it needed was missing or odd."
    )
    attention_reason = models.TextField(blank=True)
    card_brand = models.CharField(max_length=32, blank=True, help_text="The card charged.")
    card_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweep's question: which open charges are due?
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="charge_due_idx",
            ),
            models.Index(
                fields=["-created_at"],
                condition=models.Q(needs_attention=True),
                name="charge_attention_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(attempt__gte=1), name="charge_attempt_gte_1"),
        ]

    def __str__(self) -> str:
        return f"Charge of reservation {self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def awaits_driver(self) -> bool:
        return self.status in self.AWAITING_DRIVER_STATUSES


# The sandbox gateway keeps its state in the database, so that the web server and the Celery
# worker (separate processes under `make run`) see the same customers and SetupIntents.


class SandboxCustomer(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    email = models.EmailField()
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.id


class SandboxPaymentMethod(models.Model):
    """A test card; only what a real card's PaymentMethod reveals is kept, and what Stripe
    does when it is charged off-session."""

    class ChargeOutcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        DECLINED = "declined"
        AUTHENTICATION_REQUIRED = "authentication_required"

    id = models.CharField(primary_key=True, max_length=64)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    charge_outcome = models.CharField(
        max_length=32, choices=ChargeOutcome.choices, default=ChargeOutcome.SUCCEEDED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.id


class SandboxSetupIntent(models.Model):
    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_ACTION = "requires_action"
        SUCCEEDED = "succeeded"
        CANCELED = "canceled"

    id = models.CharField(primary_key=True, max_length=64)
    client_secret = models.CharField(max_length=128)
    customer_id = models.CharField(max_length=64)
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.REQUIRES_PAYMENT_METHOD
    )
    payment_method = models.ForeignKey(
        SandboxPaymentMethod, null=True, blank=True, on_delete=models.PROTECT
    )
    reservation_id = models.BigIntegerField(
        null=True, blank=True, help_text="Stripe keeps this in the SetupIntent's metadata."
    )
    last_error = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class SandboxPaymentIntent(models.Model):
    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_ACTION = "requires_action"
        SUCCEEDED = "succeeded"
        CANCELED = "canceled"

    id = models.CharField(primary_key=True, max_length=64)
    client_secret = models.CharField(max_length=128)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    customer_id = models.CharField(max_length=64, blank=True)
    payment_method = models.ForeignKey(
        SandboxPaymentMethod, null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.REQUIRES_PAYMENT_METHOD
    )
    metadata = models.JSONField(default=dict, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"
