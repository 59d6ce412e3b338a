from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.models import Charge, StripeCustomer, WebhookEvent
from payments.services import charging


class ReadOnlyAdmin(admin.ModelAdmin):
    """For looking up: these rows mirror what Stripe holds and are written by the service."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["email", "customer_id", "created_at"]
    search_fields = ["email", "=customer_id"]
    ordering = ["-created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "received_at"]
    list_filter = ["type"]
    search_fields = ["=event_id"]
    ordering = ["-received_at"]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    """What each ended reservation was charged, and the ones operators should look at: failed
    (the driver was sent a link to pay) and flagged (something the charge needed was gone)."""

    list_display = [
        "reservation_id",
        "email",
        "amount",
        "status",
        "needs_attention",
        "attempt",
        "stripe_payment_intent_id",
        "updated_at",
    ]
    list_filter = ["status", "needs_attention"]
    search_fields = ["=reservation__id", "reservation__email", "=stripe_payment_intent_id"]
    search_help_text = "A reservation id or PaymentIntent id (exact), or part of an email."
    date_hierarchy = "created_at"
    list_select_related = ["reservation"]
    actions = ["mark_handled"]

    @admin.display(description="email", ordering="reservation__email")
    def email(self, charge: Charge) -> str:
        return charge.reservation.email

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, charge: Charge) -> str:
        return f"{charge.amount_cents / 100:.2f} {charge.currency.upper()}"

    def has_handle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_charge")

    @admin.action(description="Mark as handled (clear the attention flag)", permissions=["handle"])
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[Charge]) -> None:
        handled = charging.clear_charge_attention(
            charge_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(request, f"{handled} charge(s) marked as handled.", messages.SUCCESS)
