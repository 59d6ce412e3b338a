"""Every page of the web app, in each state a driver can reach, at phone and desktop sizes:
axe-core finds no serious or critical violation (docs/web.md, "Tests and benchmarks")."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from live.routing import websocket_urlpatterns
from payments.tests.charging import DECLINED_WHEN_CHARGED
from reservations.tests.workers import wait_until
from web.tests.browser import Stack
from web.tests.chromium import assert_accessible, remember_guest, sign_in_tab

pytestmark = pytest.mark.browser

DRIVER = "axe-driver@example.com"
GUEST = "axe-guest@example.com"
# The reservation page's live stream comes with branch h8-stream; until it is merged the page
# polls, after the browser has logged the refused socket.
RESERVATIONS_STREAM = any(str(p.pattern) == "ws/reservations/" for p in websocket_urlpatterns)


@dataclass
class Walk:
    """What the pages show: an account and reservations of it in each state, and a guest's."""

    stack: Stack
    token: str
    pending: dict
    running: dict
    ended: dict
    payment_failed: dict
    expired: dict
    guest_manage_link: str


def _settled(stack: Stack, reservation: dict, status: str, token: str) -> dict:
    def reached() -> dict | None:
        now = stack.reservation(reservation["id"], token=token)
        return now if now["status"] == status else None

    return wait_until(reached, f"reservation {reservation['id']} is {status}")


@pytest.fixture(scope="session")
def walk(stack) -> Walk:
    token = stack.sign_up(DRIVER)
    ended = stack.book(DRIVER, token=token)
    failed = stack.book(DRIVER, token=token, card=DECLINED_WHEN_CHARGED)
    expired = stack.book(DRIVER, token=token, card="")
    for reservation in (ended, failed):
        stack.end_now(reservation["id"])
    stack.expire_hold(expired["id"])
    stack.book(GUEST)
    return Walk(
        stack=stack,
        token=token,
        pending=stack.book(DRIVER, token=token, card=""),
        running=stack.book(DRIVER, token=token),
        ended=_settled(stack, ended, "ended", token),
        payment_failed=_settled(stack, failed, "payment_failed", token),
        expired=_settled(stack, expired, "expired", token),
        guest_manage_link=stack.link_in(
            stack.last_email_to(GUEST, subject="Reservation Confirmation"), "/manage/"
        ),
    )


def _loaded(page: Page) -> None:
    # The pages that fetch what they show say so until it has come.
    expect(page.locator("[data-loading]")).to_be_hidden()


def find(page: Page, walk: Walk) -> None:
    page.goto("/")
    expect(page.locator("#spot-list [data-spot-id]").first).to_be_visible()


def find_spot_panel(page: Page, walk: Walk) -> None:
    find(page, walk)
    page.locator("#spot-list [data-spot-id]").first.click()
    expect(page.get_by_role("dialog")).to_contain_text(re.compile(r"\$\d+\.\d\d for"))


def signed_in(path: str) -> Callable[[Page, Walk], None]:
    def open_signed_in(page: Page, walk: Walk) -> None:
        sign_in_tab(page, DRIVER, walk.token)
        page.goto(path)
        _loaded(page)

    return open_signed_in


def signed_out(path: str) -> Callable[[Page, Walk], None]:
    def open_signed_out(page: Page, walk: Walk) -> None:
        page.goto(path)
        _loaded(page)

    return open_signed_out


def reservation(state: str) -> Callable[[Page, Walk], None]:
    def open_reservation(page: Page, walk: Walk) -> None:
        shown = getattr(walk, state)
        sign_in_tab(page, DRIVER, walk.token)
        page.goto(f"/reservations/{shown['id']}/")
        _loaded(page)
        expect(page.locator("[data-live]")).to_be_visible()

    return open_reservation


def guest_reservation(page: Page, walk: Walk) -> None:
    page.goto(walk.guest_manage_link)
    _loaded(page)
    expect(page.locator("[data-live]")).to_be_visible()


def guest_reservation_without_link(page: Page, walk: Walk) -> None:
    pending = walk.stack.book(GUEST, card="")
    remember_guest(page, pending["id"], GUEST)
    page.goto(f"/reservations/{pending['id']}/")
    expect(page.locator("[data-pay]")).to_be_visible()


def verification_link(walk: Walk) -> str:
    """The link in a new account's Confirm Your Email Address email."""
    email = f"axe-verify-{uuid.uuid4().hex[:8]}@example.com"
    walk.stack.sign_up(email)
    message = walk.stack.last_email_to(email, subject="Confirm Your Email Address")
    return walk.stack.link_in(message, "/account/verify-email/")


def verify_email(page: Page, walk: Walk) -> None:
    page.goto(verification_link(walk))
    expect(page.get_by_role("button", name="Confirm my email")).to_be_visible()


def verify_email_confirmed(page: Page, walk: Walk) -> None:
    verify_email(page, walk)
    page.get_by_role("button", name="Confirm my email").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed")


def verify_email_invalid(page: Page, walk: Walk) -> None:
    page.goto("/account/verify-email/not-a-link-we-sent/")
    expect(page.get_by_text("This link is not one we sent")).to_be_visible()


def payment_recovery(page: Page, walk: Walk) -> None:
    page.goto(walk.payment_failed["payment_recovery_url"])
    expect(page.get_by_role("heading").first).to_be_visible()


PAGES: dict[str, Callable[[Page, Walk], None]] = {
    "find": find,
    "find, spot panel open": find_spot_panel,
    "sign in": signed_out("/account/sign-in/"),
    "sign up": signed_out("/account/sign-up/"),
    "account": signed_in("/account/"),
    "account, signed out": signed_out("/account/"),
    "my reservations": signed_in("/account/reservations/"),
    "my reservations, signed out": signed_out("/account/reservations/"),
    "reservation, pending payment": reservation("pending"),
    "reservation, running": reservation("running"),
    "reservation, ended with receipt": reservation("ended"),
    "reservation, payment failed": reservation("payment_failed"),
    "reservation, expired hold": reservation("expired"),
    "reservation, guest's manage link": guest_reservation,
    "reservation, guest paying": guest_reservation_without_link,
    "pay (payment recovery)": payment_recovery,
    "verify email": verify_email,
    "verify email, confirmed": verify_email_confirmed,
    "verify email, a link we did not send": verify_email_invalid,
}


@pytest.mark.parametrize("what", list(PAGES))
def test_has_no_serious_accessibility_violation(page, walk, what, browser_log):
    if not RESERVATIONS_STREAM:
        browser_log.allow(r"/ws/reservations/' failed")
    PAGES[what](page, walk)

    assert_accessible(page, what)
