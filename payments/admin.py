from django.contrib import admin
from django.http import HttpRequest

from payments.models import StripeCustomer, WebhookEvent


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
