"""The browser tests' own machinery (web/tests/conftest.py, browser.py): the stack serves the
pages and the live sockets on one port, its worker sends emails the test can read, its database
can be changed from the test, and a page's problems are caught."""

import re

import pytest
from playwright.sync_api import expect

from reservations.tests.workers import wait_until
from web.tests.chromium import MIDTOWN

pytestmark = pytest.mark.browser

CSP_PROBE = """<!DOCTYPE html><html lang="en"><head><title>probe</title></head>
<body><main><h1>probe</h1></main><script src="/static/web/chrome.js" type="module"></script>
</body></html>"""


def test_the_find_page_loads_with_no_problem(page):
    page.goto("/")

    expect(page.get_by_role("heading", name="Find a spot")).to_be_visible()


@pytest.mark.parametrize("size", ["phone"])
def test_the_live_socket_is_reached_through_the_same_port(page):
    page.goto("/")

    opened = page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/availability/`);
            socket.onopen = () => { socket.close(); resolve("open"); };
            socket.onerror = () => resolve("error");
        })"""
    )

    assert opened == "open"


@pytest.mark.parametrize("size", ["phone"])
def test_geolocation_is_granted_at_midtown_by_default(page):
    page.goto("/")

    position = page.evaluate(
        """() => new Promise((resolve) => navigator.geolocation.getCurrentPosition(
            (p) => resolve([p.coords.latitude, p.coords.longitude]), (e) => resolve(e.code)))"""
    )

    assert position == [MIDTOWN["latitude"], MIDTOWN["longitude"]]


@pytest.mark.parametrize("size", ["phone"])
@pytest.mark.geolocation("denied")
def test_geolocation_can_be_denied(page):
    page.goto("/")

    error = page.evaluate(
        """() => new Promise((resolve) => navigator.geolocation.getCurrentPosition(
            () => resolve("granted"), (e) => resolve(e.code)))"""
    )

    assert error == 1  # PERMISSION_DENIED


@pytest.mark.parametrize("size", ["phone"])
def test_a_console_error_is_a_problem(page, browser_log):
    page.goto("/")

    page.evaluate("console.error('something broke')")

    assert [p for p in browser_log.problems if "something broke" in p]
    browser_log.allow("something broke")


@pytest.mark.parametrize("size", ["phone"])
def test_a_content_security_policy_violation_is_a_problem(page, context, stack, browser_log):
    # A page of the stack's origin under the project's policy, whatever the stack sends now.
    context.route(
        stack.url("/csp-probe/"),
        lambda route: route.fulfill(
            body=CSP_PROBE,
            content_type="text/html",
            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self'"},
        ),
    )
    page.goto("/csp-probe/")

    # Resolves once the page has seen the violation, after the fixtures' listener (registered
    # first) has reported it.
    page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", resolve, {once: true});
            const image = document.createElement("img");
            image.src = "https://elsewhere.example/pixel.png";
            document.body.append(image);
        })"""
    )

    violation = re.compile(r"CSP violation: img-src blocked https://elsewhere\.example")
    assert any(violation.search(p) for p in browser_log.problems), browser_log.lines
    browser_log.allow("elsewhere.example")


def test_a_paid_guest_booking_is_emailed_and_its_end_can_be_brought_forward(stack):
    email = "fixtures-guest@example.com"
    reservation = stack.book(email, minutes=60)
    assert reservation["status"] == "confirmed"

    confirmation = stack.last_email_to(email, subject="Reservation Confirmation")
    assert stack.link_in(confirmation, "/manage/").startswith(stack.url("/manage/"))

    stack.end_now(reservation["id"])
    stack.last_email_to(email, subject="Reservation Has Ended")
    assert stack.reservation(reservation["id"], email=email)["status"] == "ended"


def test_an_unpaid_hold_can_be_expired_now(stack):
    email = "fixtures-hold@example.com"
    reservation = stack.book(email, card="")

    stack.expire_hold(reservation["id"])

    def expired() -> bool:
        return stack.reservation(reservation["id"], email=email)["status"] == "expired"

    wait_until(expired, "the hold sweep settles the lapsed hold as expired")


def test_a_second_stack_runs_with_its_own_settings(stack, start_stack):
    short = start_stack(RESERVATION_MAX_MINUTES="30")

    status, data = short.api(
        "POST",
        f"/reservation-unauth/{short.free_spot_id()}/",
        {"reservation": {"email": "fixtures-second@example.com", "reservation_length": 60}},
    )

    assert short.base_url != stack.base_url
    assert status == 400, data
