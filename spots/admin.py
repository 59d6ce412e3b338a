from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from spots.models import ParkingSpot
from spots.services import save_spot, set_spots_active


class RateFilter(admin.SimpleListFilter):
    title = "hourly rate"
    parameter_name = "rate"
    bands = {"low": (0, 3), "mid": (3, 5), "high": (5, None)}

    def lookups(self, request, model_admin):
        return [("low", "under $3"), ("mid", "$3 to under $5"), ("high", "$5 and over")]

    def queryset(self, request, queryset):
        if self.value() not in self.bands:
            return queryset
        low, high = self.bands[self.value()]
        queryset = queryset.filter(rate__gte=low)
        return queryset if high is None else queryset.filter(rate__lt=high)


@admin.register(ParkingSpot)
class ParkingSpotAdmin(admin.ModelAdmin):
    list_display = ["id", "lat", "lng", "rate", "active", "updated_at"]
    list_filter = ["active", RateFilter]
    search_fields = ["=id", "lat", "lng"]
    search_help_text = "Spot id (exact), or part of a latitude or longitude."
    list_per_page = 100
    # Counting a city's worth of spots on every page view is slow; show "More" instead.
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]
    actions = ["activate", "deactivate"]

    def save_model(self, request: HttpRequest, obj: ParkingSpot, form, change: bool) -> None:
        # Through the service, so the live map hears of a new, withdrawn or re-priced spot.
        save_spot(spot=obj, changed=form.changed_data)

    @admin.action(description="Offer selected spots for reservation")
    def activate(self, request: HttpRequest, queryset: QuerySet[ParkingSpot]) -> None:
        changed = set_spots_active(spots=queryset, active=True)
        self.message_user(request, f"{changed} spot(s) activated.", messages.SUCCESS)

    @admin.action(description="Withdraw selected spots from reservation")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ParkingSpot]) -> None:
        changed = set_spots_active(spots=queryset, active=False)
        self.message_user(request, f"{changed} spot(s) deactivated.", messages.SUCCESS)
