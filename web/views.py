"""The driver's pages: server-rendered shells that the ES modules in web/static/web/ fill from
the API and the live sockets. No business rule here: the pages call the same routes as any
client (docs/web.md). The one exception is the emailed manage link, whose page also works
without JavaScript: its forms post here and call the reservation services."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from payments.services.sandbox import sandbox_in_use
from reservations import links, selectors, services
from reservations.models import Reservation
from securemyspot.errors import DomainError
from securemyspot.formatting import format_local_time, format_money

# The extensions the manage page's forms offer (the page's module offers any end time).
EXTENSIONS_MINUTES = (15, 30, 60)
# Where signing in or up leads when the page was not given a `next` path.
AFTER_SIGN_IN = "/account/"


def _page_config() -> dict:
    """What every page's modules read with `pageConfig()` (forms.js), from the page's
    `json_script`: the map's tiles and how a card is saved (the sandbox's test-card form, or
    Stripe's Payment Element with the publishable key)."""
    sandbox = sandbox_in_use()
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "max_days_ahead": settings.RESERVATION_MAX_DAYS_AHEAD,
        "live_max_box_degrees": float(settings.LIVE_MAX_BOX_DEGREES),
        "card_step": "sandbox" if sandbox else "stripe",
        "stripe_publishable_key": "" if sandbox else settings.STRIPE_PUBLISHABLE_KEY,
    }


def _page(request, template: str, *, title: str, module: str, config=None, **context):
    """A page with the shared config and the page's own (``config``) for its modules."""
    return render(
        request,
        template,
        {
            "title": title,
            "module": module,
            "map_tile_url": settings.MAP_TILE_URL,
            "page_config": _page_config() | (config or {}),
            **context,
        },
    )


def find_spot(request):
    return _page(request, "web/find.html", title="Find a spot", module="web/find.js", nav="find")


def _reservation_config(reservation_id: int, *, guest_email: str | None = None) -> dict:
    return {
        "reservation_id": reservation_id,
        "guest_email": guest_email,
        "reminder_minutes": settings.REMINDER_MINUTES_BEFORE_END,
    }


def reservation(request: HttpRequest, reservation_id: str) -> HttpResponse:
    """The reservation's page for its owner: the module reads it with the tab's token, or as a
    guest with the email this tab booked it with (session.js)."""
    return _page(
        request,
        "web/reservation.html",
        title="Your reservation",
        module="web/reservation.js",
        config=_reservation_config(int(reservation_id)),
    )


def _manage_facts(reservation: Reservation) -> dict[str, object]:
    now = timezone.now()
    changeable = reservation.is_live and reservation.end_time > now
    return {
        "reservation": reservation,
        "start": format_local_time(reservation.start_time),
        "end": format_local_time(reservation.end_time),
        "fee_so_far": format_money(reservation.fee_until(now).amount_cents, reservation.currency),
        "changeable": changeable,
        "started": reservation.start_time <= now,
        "extensions": EXTENSIONS_MINUTES if changeable else (),
    }


@require_http_methods(["GET", "POST"])
def manage_reservation(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed manage link: the reservation page, whose module acts as the guest (the token
    gives the id, the reservation its email). Its server-side forms (extend, end now) work
    without JavaScript, and for an account's reservation in a tab that is not signed in."""
    reservation = selectors.reservation_by_id(reservation_id=links.reservation_id_from(token))
    if request.method == "POST":
        _manage_action(request, reservation)
        return redirect(request.path)
    guest_email = reservation.email if reservation.user_id is None else None
    return _page(
        request,
        "web/manage.html",
        title="Your reservation",
        module="web/reservation.js",
        fallback=True,
        config=_reservation_config(reservation.pk, guest_email=guest_email),
        **_manage_facts(reservation),
    )


def _manage_action(request: HttpRequest, reservation: Reservation) -> None:
    try:
        if request.POST.get("action") == "end":
            ended = services.end_or_cancel(reservation_id=reservation.pk)
            if ended.status == Reservation.Status.CANCELLED:
                messages.success(request, "Your booking is cancelled: nothing is charged.")
            else:
                messages.success(request, "Your reservation has ended.")
            return
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


def my_reservations(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "web/my_reservations.html",
        title="My reservations",
        module="web/my-reservations.js",
        nav="my",
    )


def _next_path(request: HttpRequest) -> str:
    """Where to go after signing in: the `next` path if it is one of this site's, else the
    account page (never another origin: an open redirect would lend this site's name)."""
    wanted = request.GET.get("next", "")
    if (
        wanted.startswith("/")
        and not wanted.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None)
    ):
        return wanted
    return AFTER_SIGN_IN


def _credentials_page(request: HttpRequest, template: str, title: str) -> HttpResponse:
    """Sign in or sign up: one module posts either form (web/sign-in.js)."""
    next_path = _next_path(request)
    return _page(
        request,
        template,
        title=title,
        module="web/sign-in.js",
        nav="sign-in",
        next_path=next_path,
        config={"next": next_path},
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    return _credentials_page(request, "web/sign_in.html", "Sign in")


def sign_up(request: HttpRequest) -> HttpResponse:
    return _credentials_page(request, "web/sign_up.html", "Create an account")


def account(request: HttpRequest) -> HttpResponse:
    return _page(
        request, "web/account.html", title="Account", module="web/account.js", nav="account"
    )
