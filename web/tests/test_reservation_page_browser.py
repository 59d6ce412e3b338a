"""The reservation page in Chromium, against a real stack: time left, extend, shorten, end now
with the amount at the end, cancel a booking ahead, a guest from the emailed manage link, a
failed payment leading to the recovery page, the reminder."""

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from payments.tests.charging import DECLINED_WHEN_CHARGED
from web.tests.chromium import assert_accessible
from web.tests.manage_helpers import (
    move_times,
    new_email,
    new_york_input,
    signed_in_driver,
)

pytestmark = pytest.mark.browser

# The engine, the hold sweep and the charge run in the stack's worker: seconds, not more.
WORKER_SECONDS = 45_000


def extended_by(reservation: dict, end_time: str) -> timedelta:
    """How much later ``end_time`` is than the reservation's end, to the second (a page's
    clock, JavaScript's Date, drops the microseconds)."""
    later = datetime.fromisoformat(end_time) - datetime.fromisoformat(reservation["end_time"])
    return timedelta(seconds=round(later.total_seconds()))


def parked_on_its_page(page: Page, stack) -> tuple[str, str, dict]:
    """A signed-in driver's reservation, running, on its page: the email, token, reservation."""
    email, token = signed_in_driver(page, stack)
    reservation = stack.book(email, token=token)
    page.goto(f"/reservations/{reservation['id']}/")
    expect(page.get_by_role("heading", name="Time left")).to_be_visible()
    return email, token, reservation


def facts(page: Page):
    return page.locator("[data-facts]")


def test_a_signed_in_driver_extends_shortens_and_ends_with_the_amount_shown(page, stack):
    email, token = signed_in_driver(page, stack)
    reservation = stack.book(email, token=token)
    move_times(stack, reservation["id"], started_ago=timedelta(hours=1), ends_in=timedelta(hours=1))

    page.goto(f"/reservations/{reservation['id']}/")

    expect(page.get_by_role("heading", name="Time left")).to_be_visible()
    expect(page.locator("[data-time-left]")).to_have_text(re.compile(r"^(1 h|59:\d\d)"))
    assert_accessible(page, "the reservation page, parked")
    ends = page.locator("[data-facts] dd").nth(3)
    before = ends.text_content()

    page.get_by_role("button", name="+30 min").click()

    expect(ends).not_to_have_text(before)
    expect(page.locator("[data-announce]")).to_contain_text("now ends at")
    extended = stack.reservation(reservation["id"], token=token)["end_time"]

    earlier = datetime.fromisoformat(extended) - timedelta(minutes=45)
    page.get_by_label("New end time (New York time)").fill(new_york_input(earlier))
    page.get_by_role("button", name="Change end time").click()

    expect(page.locator("[data-announce]")).to_contain_text(earlier.strftime(":%M"))
    shortened = stack.reservation(reservation["id"], token=token)["end_time"]
    assert datetime.fromisoformat(shortened) == earlier.replace(second=0, microsecond=0)

    page.get_by_role("button", name="End now").click()
    page.get_by_role("button", name="Yes, end now").click()

    expect(page.locator("[data-outcome]")).to_contain_text(
        re.compile(r"Charged \$\d+\.\d\d to your Visa ending 4242")
    )
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(facts(page)).to_contain_text("Time parked")
    expect(page.get_by_role("button", name="Print receipt")).to_be_visible()
    assert_accessible(page, "the reservation page, ended")


@pytest.mark.parametrize("size", ["phone"])
def test_an_extension_the_spot_cannot_take_is_refused_with_the_reason(page, stack):
    email, token = signed_in_driver(page, stack)
    reservation = stack.book(email, token=token, minutes=30)
    # Someone else has booked the spot from the end on.
    ahead = {"email": new_email("guest"), "reservation_length": 60}
    ahead["start_time"] = reservation["end_time"]
    stack.call(
        "POST", f"/reservation-unauth/{reservation['parking_spot']}/", {"reservation": ahead}
    )

    page.goto(f"/reservations/{reservation['id']}/")
    page.get_by_role("button", name="+15 min").click()

    expect(page.locator("[data-extend-form] [data-form-error]")).to_contain_text("already reserved")


@pytest.mark.parametrize("size", ["phone"])
def test_a_booking_ahead_is_cancelled_for_free(page, stack):
    email, token = signed_in_driver(page, stack)
    reservation = stack.book(email, token=token, starts_in=timedelta(hours=3))

    page.goto(f"/reservations/{reservation['id']}/")

    expect(page.get_by_role("heading", name="Starts in")).to_be_visible()
    page.get_by_role("button", name="Cancel booking").click()
    page.get_by_role("button", name="Yes, cancel it").click()

    expect(page.locator("[data-outcome]")).to_contain_text("cancelled: nothing was charged")
    assert stack.reservation(reservation["id"], token=token)["status"] == "cancelled"


def test_a_guest_opens_the_page_from_the_emailed_manage_link(page, stack):
    email = new_email("guest")
    reservation = stack.book(email)
    link = stack.link_in(stack.last_email_to(email, subject="Confirmation"), "/manage/")

    page.goto(link)

    expect(page.get_by_role("heading", name="Time left")).to_be_visible()
    expect(page.locator("[data-fallback]")).to_be_hidden()
    expect(facts(page)).to_contain_text(str(reservation["id"]))
    assert_accessible(page, "the manage link's page")
    page.get_by_role("button", name="+15 min").click()
    expect(page.locator("[data-announce]")).to_contain_text("now ends at")
    extended = stack.reservation(reservation["id"], email=email)["end_time"]
    assert extended_by(reservation, extended) == timedelta(minutes=15)


def test_the_manage_link_works_without_javascript(chromium, stack):
    email = new_email("guest")
    reservation = stack.book(email)
    link = stack.link_in(stack.last_email_to(email, subject="Confirmation"), "/manage/")
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_role("button", name="+30 min").click()

        expect(page.get_by_text("Extended by 30 minutes")).to_be_visible()
    finally:
        context.close()
    extended = stack.reservation(reservation["id"], email=email)["end_time"]
    assert extended_by(reservation, extended) == timedelta(minutes=30)


@pytest.mark.parametrize("size", ["phone"])
def test_a_failed_payment_leads_to_the_recovery_page(page, stack):
    email = new_email("guest")
    reservation = stack.book(email, card=DECLINED_WHEN_CHARGED)
    link = stack.link_in(stack.last_email_to(email, subject="Confirmation"), "/manage/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Time left")).to_be_visible()

    # An hour parked, then the end: the engine charges the card, which is declined.
    move_times(stack, reservation["id"], started_ago=timedelta(hours=1), ends_in=timedelta(0))

    pay_now = page.get_by_role("link", name="Pay now")
    expect(pay_now).to_be_visible(timeout=WORKER_SECONDS)
    expect(page.locator("[data-outcome]")).to_contain_text(
        re.compile(r"the payment of \$\d+\.\d\d failed")
    )
    pay_now.click()

    expect(page).to_have_url(re.compile(r"/pay/[^/]+/$"))
    expect(page.get_by_role("heading", name="Pay for your parking")).to_be_visible()


@pytest.mark.parametrize("size", ["phone"])
def test_the_reminder_appears_before_the_end(page, stack):
    email, _, reservation = parked_on_its_page(page, stack)
    expect(page.locator("[data-reminder]")).to_be_hidden()

    # Parked for an hour, ten minutes left: within the 15 minutes of the reminder.
    move_times(
        stack, reservation["id"], started_ago=timedelta(hours=1), ends_in=timedelta(minutes=10)
    )

    expect(page.locator("[data-reminder]")).to_contain_text(
        "in less than 15 min", timeout=WORKER_SECONDS
    )
    reminder = stack.last_email_to(email, subject="Ends Soon")
    assert reminder is not None


@pytest.mark.parametrize("size", ["phone"])
def test_the_page_follows_an_end_made_elsewhere(page, stack):
    _, token, reservation = parked_on_its_page(page, stack)

    stack.call("DELETE", f"/delete-reservation-auth/{reservation['id']}/", token=token)

    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=WORKER_SECONDS)
