"""What the payments app remembers about Stripe, and the sandbox that stands in for it.

The service's own records, not Stripe's idempotency keys alone, prevent double work: a
customer is created once per email and each reservation's SetupIntents are numbered.
"""

from django.db import models


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
    """A test card; only what a real card's PaymentMethod reveals is kept."""

    id = models.CharField(primary_key=True, max_length=64)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
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
