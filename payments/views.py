"""The payment page a driver opens from the Payment Failed email (HTML, not the JSON API)."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from payments import links, selectors
from payments.gateways import SUCCEEDED
from payments.serializers import SandboxCardSerializer
from payments.services import sandbox
from securemyspot.errors import DomainError

STRIPE_JS = "https://js.stripe.com/v3"


@require_http_methods(["GET", "POST"])
def pay_for_reservation(request: HttpRequest, token: str) -> HttpResponse:
    """Shows what is owed and takes a card: through Stripe.js, which calls the retry-payment
    and confirm-payment routes, or, in the sandbox, a form posting a test card number here."""
    reservation_id = links.reservation_id_from(token)
    in_sandbox = sandbox.sandbox_in_use()
    error = ""
    if request.method == "POST":
        if not in_sandbox:
            return HttpResponse(status=405)
        error = _pay_in_sandbox(reservation_id, request.POST)
        if not error:
            return redirect(request.path)
    page = selectors.payment_due(reservation_id=reservation_id)
    if page is None:
        raise Http404
    return render(
        request,
        "payments/pay.html",
        {
            "page": page,
            "sandbox": in_sandbox,
            "error": error,
            "stripe_js": STRIPE_JS,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "retry_url": f"/retry-payment/{token}/",
            "confirm_url": f"/confirm-payment/{token}/",
        },
        status=400 if error else 200,
    )


def _pay_in_sandbox(reservation_id: int, data: QueryDict) -> str:
    """An error to show, or "" once paid."""
    card = SandboxCardSerializer(data=data)
    if not card.is_valid():
        return card.errors["card_number"][0]
    try:
        intent = sandbox.complete_sandbox_payment(
            reservation_id=reservation_id, card_number=card.validated_data["card_number"]
        )
    except DomainError as refused:
        return refused.message
    return "" if intent.status == SUCCEEDED else intent.failure_message or "Not paid."
