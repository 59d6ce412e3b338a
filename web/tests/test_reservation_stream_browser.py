"""The pages' side of the reservation stream (/ws/reservations/, docs/live.md), against a
stand-in socket in the browser (Playwright's route_web_socket): how they authenticate, and what
they do with each event. The socket server's side is tested in live/."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import WebSocketRoute, expect

from reservations.tests.workers import wait_until
from web.tests.manage_helpers import new_email, signed_in_driver

pytestmark = pytest.mark.browser


class StandInStream:
    """The stream as the page sees it: the frames it sent, and a way to send it events."""

    def __init__(self, page, reservations: list[dict]) -> None:
        self.page = page
        self.received: list[dict] = []
        self.sockets: list[WebSocketRoute] = []
        self.seq = 0
        self._reservations = reservations
        page.route_web_socket("**/ws/reservations/", self._connected)

    def _connected(self, socket: WebSocketRoute) -> None:
        self.sockets.append(socket)
        socket.on_message(lambda text: self._answer(socket, json.loads(text)))

    def _answer(self, socket: WebSocketRoute, frame: dict) -> None:
        self.received.append(frame)
        if frame["type"] == "authenticate":
            socket.send(json.dumps({"type": "authenticated", "reservations": self._reservations}))

    def send(self, event: str, reservation: dict) -> None:
        self.seq += 1
        at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        frame = {"type": "reservation", "event": event, "seq": self.seq, "at": at}
        self.sockets[-1].send(json.dumps(frame | {"reservation": reservation}))

    def authenticated_with(self) -> dict:
        """The page's authenticate frame, waited for. Playwright hands the stand-in the page's
        frames only while the test calls it, hence the evaluate in the condition."""

        def sent() -> dict | None:
            self.page.evaluate("0")
            return next((f for f in self.received if f["type"] == "authenticate"), None)

        return wait_until(sent, "the page authenticated on the stream")


def iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("size", ["phone"])
def test_a_signed_in_page_follows_the_stream_to_the_receipt(page, stack):
    email, token = signed_in_driver(page, stack)
    reservation = stack.book(email, token=token)
    stream = StandInStream(page, [reservation])

    page.goto(f"/reservations/{reservation['id']}/")

    assert stream.authenticated_with() == {"type": "authenticate", "token": token}
    expect(page.get_by_role("heading", name="Time left")).to_be_visible()

    stream.send("reminder_sent", reservation)
    expect(page.locator("[data-reminder]")).to_contain_text("Extend it below")

    later = datetime.fromisoformat(reservation["end_time"]) + timedelta(hours=2)
    stream.send("amended", reservation | {"end_time": iso(later)})
    expect(page.locator("[data-time-left]")).to_have_text(re.compile(r"^(2 h 5\d min|3 h)$"))

    ended = reservation | {"status": "ended", "amount_cents": 525, "fee_waived": False}
    stream.send("ended", ended)
    expect(page.locator("[data-outcome]")).to_contain_text("Charged $5.25 to your Visa ending 4242")
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()


@pytest.mark.parametrize("size", ["phone"])
def test_a_guest_from_the_manage_link_authenticates_as_that_guest(page, stack):
    email = new_email("guest")
    reservation = stack.book(email)
    link = stack.link_in(stack.last_email_to(email, subject="Confirmation"), "/manage/")
    stream = StandInStream(page, [reservation])

    page.goto(link)

    assert stream.authenticated_with() == {
        "type": "authenticate",
        "reservation": reservation["id"],
        "email": email,
    }
    failed = reservation | {
        "status": "payment_failed",
        "amount_cents": 812,
        "payment_recovery_url": stack.url("/pay/a-token/"),
    }
    stream.send("payment_failed", failed)
    expect(page.get_by_role("link", name="Pay now")).to_have_attribute(
        "href", stack.url("/pay/a-token/")
    )


@pytest.mark.parametrize("size", ["phone"])
def test_my_reservations_adds_a_booking_the_stream_announces(page, stack):
    email, token = signed_in_driver(page, stack)
    stream = StandInStream(page, [])
    page.goto("/account/reservations/")
    stream.authenticated_with()
    expect(page.locator('[data-empty="active"]')).to_be_visible()

    booked = stack.book(email, token=token)
    stream.send("created", booked)

    expect(page.locator('[data-list="active"]')).to_contain_text(f"Spot {booked['parking_spot']}")
    expect(page.locator("[data-announce]")).to_contain_text("booked")
