"""Talking to localstripe as the browser and Stripe would: saving a card, paying, counting
what is stored there, signing webhook events."""

import hashlib
import hmac
import json
import random
import socket
import time

import stripe

SECRET_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_test"
TEST_CARD_EXPIRY = {"exp_month": 12, "exp_year": 2034, "cvc": "123"}


# The ports the tests' servers listen on: below the kernel's ephemeral range (32768-60999 on
# Linux). A port the kernel picks for a probe is ephemeral, and while it waits for its server
# to bind it (seconds, as a stack starts), it can become the local port of one of the many
# connections the stack's processes open (PostgreSQL, RabbitMQ, Redis): the server then fails
# with "address already in use" (seen in CI).
LISTENING_PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on now, not handed out before by this process."""
    candidates = [port for port in LISTENING_PORTS if port not in _handed_out]
    for port in random.sample(candidates, len(candidates)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {LISTENING_PORTS}")


class FakeStripe:
    """The test's own view of localstripe: what the browser does with Stripe.js, and what is
    stored there."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": url})

    def save_card(self, client_secret: str, card_number: str = "4242424242424242") -> str:
        """Stripe.js's confirmCardSetup with a card typed in; returns the SetupIntent's status.
        A declined card raises stripe.CardError, as Stripe.js reports an error."""
        method = self._card(card_number)
        intent = self.client.v1.setup_intents.confirm(
            setup_intent_id_of(client_secret),
            params={"payment_method": method.id, "client_secret": client_secret},
        )
        return intent.status

    def saved_card(self, email: str, card_number: str = "4242424242424242") -> tuple[str, str]:
        """A customer with a card saved for off-session charges, as the card step leaves them:
        ``(customer id, payment method id)``."""
        customer = self.client.v1.customers.create(params={"email": email})
        method = self._card(card_number)
        self.client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        return customer.id, method.id

    def pay(self, client_secret: str, card_number: str = "4242424242424242") -> str:
        """Stripe.js's confirmCardPayment with a card typed in; returns the PaymentIntent's
        status. A declined card raises stripe.CardError. (localstripe confirms a PaymentIntent
        whose card was set on it before, not one given with the confirmation.)"""
        payment_intent_id = payment_intent_id_of(client_secret)
        method = self._card(card_number)
        self.client.v1.payment_intents.update(
            payment_intent_id, params={"payment_method": method.id}
        )
        return self.client.v1.payment_intents.confirm(payment_intent_id).status

    def authenticate(self, client_secret: str) -> str:
        """The driver passes the bank's 3-D Secure challenge, as localstripe's Stripe.js
        reports it; returns the PaymentIntent's status."""
        payment_intent_id = payment_intent_id_of(client_secret)
        self.client.raw_request(
            "post",
            f"/v1/payment_intents/{payment_intent_id}/_authenticate",
            client_secret=client_secret,
            success="true",
        )
        return self.payment_intent(payment_intent_id).status

    def payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        return self.client.v1.payment_intents.retrieve(payment_intent_id)

    def payment_intents_of(self, charge_id: int) -> list[stripe.PaymentIntent]:
        every = self.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        return [i for i in every if i.metadata.to_dict().get("charge_id") == str(charge_id)]

    def _card(self, card_number: str) -> stripe.PaymentMethod:
        return self.client.v1.payment_methods.create(
            params={"type": "card", "card": {"number": card_number, **TEST_CARD_EXPIRY}}
        )

    def setup_intent(self, setup_intent_id: str) -> stripe.SetupIntent:
        return self.client.v1.setup_intents.retrieve(setup_intent_id)

    def setup_intents_of(self, reservation_id: int) -> list[stripe.SetupIntent]:
        every = self.client.v1.setup_intents.list(params={"limit": 100}).auto_paging_iter()
        return [
            i for i in every if i.metadata.to_dict().get("reservation_id") == str(reservation_id)
        ]

    def customers_with_email(self, email: str) -> list[stripe.Customer]:
        found = self.client.v1.customers.list(params={"email": email, "limit": 100})
        return list(found.auto_paging_iter())


def setup_intent_id_of(client_secret: str) -> str:
    return client_secret.split("_secret_")[0]


def payment_intent_id_of(client_secret: str) -> str:
    return client_secret.split("_secret_")[0]


def signed_event(payload: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The Stripe-Signature header Stripe sends: an HMAC-SHA256 of "<timestamp>.<body>"."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event_payload(event_id: str, event_type: str, data_object: dict) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": data_object},
        }
    ).encode()
