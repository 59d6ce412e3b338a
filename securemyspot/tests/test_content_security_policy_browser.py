"""The pages work in a real browser (Debian's chromium) under the Content-Security-Policy:
chromium reports every blocked script, style or connection on the console, and none may be."""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.services import VERIFY_EMAIL_PURPOSE, issue_token
from accounts.tests.factories import UserFactory
from payments.links import pay_token
from payments.services import charging
from payments.tests.charging import DECLINED_WHEN_CHARGED, ended_with_card_in_sandbox
from securemyspot.links import signed_token

# Marked browser: run last, with web/tests' browser tests (web/tests/conftest.py says why).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "a long enough staff password"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread, and Django then refuses the
    # test's own database queries as if they came from async code; they do not.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        yield browser
        browser.close()
    if allowed is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Violations:
    """What the browser blocked on a page: each ``securitypolicyviolation`` event the page
    fired (recorded by a script the browser runs before the page's own, which no policy
    blocks), and chromium's console reports of them."""

    RECORDER = """
        window.__violations = [];
        document.addEventListener("securitypolicyviolation", (event) => {
            window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
        });
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(self.RECORDER)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def all(self) -> list[str]:
        return [*self.page.evaluate("window.__violations || []"), *self.console]


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.violations = Violations(page)
    yield page
    context.close()


def test_the_admin_signs_in_and_lists_reservations_with_no_violation(page, live_server):
    UserFactory(
        email="staff@example.com", password=STAFF_PASSWORD, is_staff=True, is_superuser=True
    )

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Email").fill("staff@example.com")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"{live_server.url}/admin/reservations/reservation/")
    expect(page.get_by_role("heading", name="Select reservation to change")).to_be_visible()

    assert page.violations.all() == []


def test_swagger_ui_shows_the_api_with_no_violation(page, live_server):
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.get_by_text("Secure-My-Spot API").first).to_be_visible()
    expect(page.get_by_text("/cancel-reservation-auth/").first).to_be_visible()
    assert page.violations.all() == []


def test_the_payment_page_takes_a_card_with_no_violation(page, live_server, settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    reservation = ended_with_card_in_sandbox(card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)

    page.goto(f"{live_server.url}/pay/{pay_token(reservation.pk)}/")
    page.get_by_label("Test card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_text("Thank you: there is nothing more to do.")).to_be_visible()
    assert page.violations.all() == []


def test_the_find_page_loads_its_modules_with_no_violation(page, live_server):
    page.goto(f"{live_server.url}/")

    expect(page.get_by_role("heading", name="Find a spot")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert page.violations.all() == []


def test_an_emailed_link_confirms_the_address_with_no_violation(page, live_server):
    user = UserFactory(email="new@example.com")
    token = signed_token([user.pk, user.email], purpose=VERIFY_EMAIL_PURPOSE)

    page.goto(f"{live_server.url}/account/verify-email/{token}/")
    page.get_by_role("button", name="Confirm my email").click()

    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert page.violations.all() == []


def test_a_signed_in_tab_asks_for_a_new_link_from_a_broken_one(page, live_server):
    user = UserFactory(email="new@example.com")
    key = issue_token(user=user)

    page.goto(f"{live_server.url}/account/verify-email/not-a-link/")
    page.evaluate(
        "([key, email]) => { sessionStorage.setItem('sms.token', key);"
        " sessionStorage.setItem('sms.email', email); }",
        [key, user.email],
    )
    page.reload()
    page.get_by_role("button", name="Send me a new link").click()

    expect(page.get_by_role("status")).to_have_text("We sent a new link to new@example.com.")
    assert page.violations.all() == []
