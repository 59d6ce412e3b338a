"""``make screenshots`` (``python -m web.tests.screenshots``): the web app's main pages at phone
and desktop sizes, as PNGs in docs/screenshots/ (the README shows them).

Starts the browser tests' stack (web/tests/browser.py: the service as `make run` runs it, on a
database of its own with spots around Times Square, map tiles drawn locally), drives Chromium
through a driver's path (find, quote, reserve, pay, the running reservation, the receipt, my
reservations, the account) and saves each page as the driver sees it.
"""

import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import django
from playwright.sync_api import expect, sync_playwright

from web.tests.chromium import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NO_CHROMIUM,
    SIZES,
    new_context,
    sign_in_tab,
)

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DRIVER = "screenshots@example.com"
GUEST = "guest.driver@example.com"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemyspot.settings")
    import securemyspot.tests.environment  # noqa: F401  (a secret key and the sandbox, as in tests)

    django.setup()
    # Only now: the stack's module imports the project's models and settings.
    from web.tests.browser import Stacks

    if not CHROMIUM.exists():
        print(NO_CHROMIUM, file=sys.stderr)
        return 1
    FOLDER.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="securemyspot-screenshots-") as directory:
        stacks = Stacks(Path(directory))
        try:
            print("Starting the stack (migrations, spots, servers, worker, beat)...", flush=True)
            stack = stacks.get()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                for size in SIZES:
                    _take(browser, stack, size)
                browser.close()
        finally:
            stacks.stop_all()
    print(f"Saved in {FOLDER}")
    return 0


def _take(browser, stack, size: str) -> None:
    token = stack.sign_up(f"{size}-{DRIVER}")
    email = f"{size}-{DRIVER}"
    ended = stack.book(email, token=token)
    stack.end_now(ended["id"])
    running = stack.book(email, token=token, minutes=90)
    stack.last_email_to(email, subject="Reservation Has Ended")

    def shot(name: str, open_page: Callable) -> None:
        context = new_context(browser, size, base_url=stack.base_url)
        page = context.new_page()
        open_page(page)
        path = FOLDER / f"{name}-{size}.png"
        page.screenshot(path=path)
        context.close()
        print(f"  {path.relative_to(FOLDER.parents[1])}", flush=True)

    def find(page) -> None:
        page.goto("/")
        expect(page.locator("#spot-list [data-spot-id]").first).to_be_visible()
        expect(page.locator("#map-status")).to_have_text(re.compile("^Live"))

    def quote(page) -> None:
        find(page)
        page.locator("#spot-list [data-spot-id]").first.click()
        expect(page.get_by_role("dialog")).to_contain_text(re.compile(r"\$\d+\.\d\d for"))

    def reserve(page) -> None:
        quote(page)
        page.get_by_label("Your email").fill(GUEST)
        page.get_by_role("button", name="Reserve").focus()

    def pay(page) -> None:
        reserve(page)
        page.get_by_role("button", name="Reserve").click()
        page.wait_for_url(re.compile(r"/reservations/\d+/$"))
        card = page.get_by_label(re.compile("^Card number"))
        card.fill("4242 4242 4242 4242")
        card.blur()

    def signed_in(path: str, ready: Callable) -> Callable:
        def open_signed_in(page) -> None:
            sign_in_tab(page, email, token)
            page.goto(path)
            expect(page.locator("[data-loading]")).to_be_hidden()
            ready(page)

        return open_signed_in

    def reservation_shown(page) -> None:
        expect(page.locator("[data-live]")).to_be_visible()

    def lists_shown(page) -> None:
        expect(page.locator("[data-lists]")).to_be_visible()

    def account_shown(page) -> None:
        expect(page.locator("[data-account]")).to_be_visible()

    print(f"{size}:", flush=True)
    shot("find", find)
    shot("quote", quote)
    shot("reserve", reserve)
    shot("pay", pay)
    shot("reservation-running", signed_in(f"/reservations/{running['id']}/", reservation_shown))
    shot("reservation-ended", signed_in(f"/reservations/{ended['id']}/", reservation_shown))
    shot("my-reservations", signed_in("/account/reservations/", lists_shown))
    shot("account", signed_in("/account/", account_shown))


if __name__ == "__main__":
    sys.exit(main())
