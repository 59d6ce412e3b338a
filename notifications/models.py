from django.db import models
from django.utils import timezone


class EmailKind(models.TextChoices):
    """What an email is about. The label is its subject line; its body comes from the templates
    ``notifications/<value>.txt`` and ``notifications/<value>.html``."""

    CONFIRMATION = "confirmation", "Reservation Confirmation"
    AMENDMENT = "amendment", "Reservation Amendment"
    # The receipt once the fee is settled: charged (off-session, or later by the driver) or
    # waived.
    ENDED = "ended", "Reservation Has Ended"
    # The card could not be charged at the end; the email carries a link to pay.
    PAYMENT_FAILED = "payment_failed", "Payment Failed: Action Needed"
    # The driver cancelled a booking before it started: nothing is charged.
    CANCELLATION = "cancellation", "Reservation Cancelled"
    # Sign-up (or a resend) asks the account's owner to confirm the address; no reservation.
    EMAIL_VERIFICATION = "email_verification", "Confirm Your Email Address"
    # Shortly before the end, with a link to extend; once per end time.
    REMINDER = "reminder", "Your Reservation Ends Soon"


class OutboundEmail(models.Model):
    """An email to a driver, rendered and written in the same transaction as the change it
    reports (a transactional outbox): the two commit together or not at all, and the email is
    then sent, and retried, outside that transaction. See ``notifications.services``."""

    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    # SET_NULL: a row holds everything needed to send it, so it outlives its reservation.
    reservation = models.ForeignKey(
        "reservations.Reservation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField()
    dedup_key = models.CharField(
        max_length=200, unique=True, help_text="However often an email is queued, one per key."
    )
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(
        help_text="From this time on the periodic sweep sends it, if it is still unsent."
    )
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A sender is working on it until then."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweep's question: which unsent emails are due?
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outboundemail_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipient}"
