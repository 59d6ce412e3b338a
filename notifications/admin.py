from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.models import OutboundEmail


class DeliveryFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("sent", "Sent"),
            ("unsent", "Not sent"),
            ("given_up", "Not sent, retries used up"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "sent":
                return queryset.filter(sent_at__isnull=False)
            case "unsent":
                return queryset.filter(sent_at__isnull=True)
            case "given_up":
                return queryset.filter(sent_at__isnull=True, attempts__gte=services.MAX_ATTEMPTS)
        return queryset


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The emails drivers were sent or are about to be, for looking up; they are a record, so
    nothing here edits or deletes one."""

    list_display = ["created_at", "kind", "recipient", "reservation_id", "sent_at", "attempts"]
    list_filter = ["kind", DeliveryFilter]
    search_fields = ["recipient", "=reservation__id"]
    search_help_text = "Part of the recipient's email address, or a reservation id (exact)."
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "reservation",
        "recipient",
        "subject",
        "body_text",
        "body_html",
        "dedup_key",
        "created_at",
        "next_attempt_at",
        "claimed_until",
        "sent_at",
        "attempts",
        "last_error",
    ]
    readonly_fields = fields
    actions = ["send_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboundEmail | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboundEmail | None = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_outboundemail")

    @admin.action(description="Send now", permissions=["send"])
    def send_now(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        # Also retries emails whose automatic retries are used up, once the cause is fixed.
        sent = failed = 0
        for email_id in queryset.filter(sent_at__isnull=True).values_list("pk", flat=True):
            try:
                sent += services.deliver_email(email_id=email_id)
            except Exception:
                failed += 1
        self.message_user(request, f"{sent} email(s) sent.", messages.SUCCESS)
        if failed:
            self.message_user(
                request, f"{failed} email(s) failed; see their last error.", messages.ERROR
            )
