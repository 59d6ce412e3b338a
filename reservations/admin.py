from django.contrib import admin

from reservations.models import Reservation


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Operators look reservations up and follow their payment; changes go through the API's
    services (amend, end), so every field here is read-only."""

    list_display = [
        "id",
        "email",
        "spot",
        "status",
        "start_time",
        "end_time",
        "amount_cents",
        "fee_waived",
    ]
    list_filter = ["status", "fee_waived", ("user", admin.EmptyFieldListFilter)]
    search_fields = ["=id", "email", "=spot__id", "stripe_setup_intent_id"]
    search_help_text = "Reservation id or spot id (exact), email, or SetupIntent id."
    date_hierarchy = "start_time"
    list_select_related = ["spot"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Reservation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Reservations carry money records; they are cancelled or ended, never deleted.
        return False
