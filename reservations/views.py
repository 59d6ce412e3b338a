"""The page behind the link in reservation emails: extend or end one reservation, no sign-in."""

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from reservations import links, selectors, services
from reservations.models import Reservation
from reservations.pricing import fee_for_period
from securemyspot.errors import DomainError
from securemyspot.formatting import format_local_time, format_money

EXTENSIONS_MINUTES = (15, 30, 60)


def _page(reservation: Reservation) -> dict[str, object]:
    now = timezone.now()
    changeable = reservation.is_live and reservation.end_time > now
    return {
        "reservation": reservation,
        "start": format_local_time(reservation.start_time),
        "end": format_local_time(reservation.end_time),
        "fee_so_far": format_money(
            fee_for_period(
                reservation.rate, reservation.start_time, min(now, reservation.end_time)
            ).amount_cents,
            reservation.currency,
        ),
        "changeable": changeable,
        "extensions": EXTENSIONS_MINUTES if changeable else (),
    }


@require_http_methods(["GET", "POST"])
def manage_reservation(request: HttpRequest, token: str) -> HttpResponse:
    reservation = selectors.reservation_by_id(reservation_id=links.reservation_id_from(token))
    if request.method == "POST":
        try:
            if request.POST.get("action") == "end":
                services.end_or_cancel(reservation_id=reservation.pk)
                messages.success(request, "Your reservation has ended.")
            else:
                minutes = int(request.POST.get("extend_minutes", ""))
                if minutes not in EXTENSIONS_MINUTES:
                    raise ValueError
                services.change_end_time(
                    reservation_id=reservation.pk,
                    end_time=reservation.end_time + timedelta(minutes=minutes),
                )
                messages.success(request, f"Extended by {minutes} minutes.")
        except DomainError as error:
            messages.error(request, error.message)
        except ValueError:
            messages.error(request, "Choose one of the offered extensions.")
        return redirect(request.path)
    return render(request, "reservations/manage.html", _page(reservation))
