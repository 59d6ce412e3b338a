"""Sign up, sign in, the account page and my reservations in Chromium, against a real stack."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from web.tests.browser import PASSWORD
from web.tests.chromium import assert_accessible
from web.tests.manage_helpers import new_email, signed_in_driver

pytestmark = pytest.mark.browser


def test_signing_up_leads_back_where_the_driver_was_and_signing_out_forgets(page, stack):
    email = new_email()
    page.goto("/account/sign-up/?next=/account/reservations/")
    assert_accessible(page, "the sign-up page")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create account").click()

    confirmation = page.get_by_label("Password again")
    expect(confirmation).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password_confirmation-error")).to_have_text("Passwords do not match")

    confirmation.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(stack.url("/account/reservations/"))
    expect(page.get_by_role("heading", name="My reservations")).to_be_visible()
    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # Whole URLs: a pattern such as r"/$" also matches the page being left (/account/, or the
    # ?next=... of the sign-up page), so the test would go on mid-navigation.
    expect(page).to_have_url(stack.url("/"))
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('sms.token')") is None


def sign_in_with_the_form(page, *, email: str, password: str, next_path: str) -> None:
    page.goto(f"/account/sign-in/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("size", ["phone"])
def test_signing_in_shows_a_wrong_password_then_goes_back(page, stack):
    email = new_email()
    stack.sign_up(email)
    sign_in_with_the_form(page, email=email, password="not-" + PASSWORD, next_path="/account/")

    expect(page.locator("[data-form-error]")).to_contain_text("Unable to log in")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(stack.url("/account/"))
    expect(page.get_by_text(email)).to_be_visible()


@pytest.mark.parametrize("size", ["phone"])
def test_a_next_to_another_site_is_not_followed(page, stack):
    email = new_email()
    stack.sign_up(email)
    sign_in_with_the_form(page, email=email, password=PASSWORD, next_path="https://example.org/")

    expect(page).to_have_url(stack.url("/account/"))


def test_a_wrong_current_password_is_shown_by_its_field(page, stack):
    signed_in_driver(page, stack)
    page.goto("/account/")
    assert_accessible(page, "the account page")
    page.get_by_label("Current password").fill("not-" + PASSWORD)
    page.get_by_label("New password", exact=True).fill("a-new-kerb-side-7")
    page.get_by_label("New password again").fill("a-new-kerb-side-7")
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_have_text("Your current password is incorrect.")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_text("Password changed.")).to_be_visible()


@pytest.mark.parametrize("size", ["phone"])
def test_signed_out_pages_ask_to_sign_in(page):
    for path in ("/account/", "/account/reservations/", "/reservations/123/"):
        page.goto(path)

        expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()


def test_my_reservations_lists_active_upcoming_and_past(page, stack):
    email, token = signed_in_driver(page, stack)
    active = stack.book(email, token=token)
    upcoming = stack.book(email, token=token, starts_in=timedelta(days=2))
    past = stack.book(email, token=token)
    stack.call("DELETE", f"/delete-reservation-auth/{past['id']}/", token=token)

    page.goto("/account/reservations/")

    for section, reservation in (("active", active), ("upcoming", upcoming), ("past", past)):
        row = page.locator(f'[data-list="{section}"] a[href="/reservations/{reservation["id"]}/"]')
        expect(row).to_contain_text(f"Spot {reservation['parking_spot']}")
    expect(page.locator('[data-list="past"]')).to_contain_text(re.compile(r"\$\d+\.\d\d"))
    assert_accessible(page, "my reservations")

    # Live: a booking made elsewhere appears without a reload.
    another = stack.book(email, token=token)
    expect(
        page.locator(f'[data-list="active"] a[href="/reservations/{another["id"]}/"]')
    ).to_be_visible(timeout=15_000)

    page.locator(f'a[href="/reservations/{past["id"]}/"]').click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
