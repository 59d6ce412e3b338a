"""The driver's first steps in a real browser (issue 9, points 1-4): find a spot on the map or
the list, price it, reserve it as a guest, pay with the sandbox's test cards; at a phone's size
and a laptop's.

A small stack of our own until h9-browser's fixtures (web/tests/conftest.py) are merged: one
uvicorn serving the pages, the API and the live sockets (securemyspot.asgi) on the test's
PostgreSQL database. The reservation page is h9-manage's; until it is here, the browser is
served web/tests/harness/pay.html at `/reservations/<id>/`, which mounts pay.js as that page
does. Map tiles come from a host the browser context answers itself: no test reaches the
internet.

The database is written only before Playwright starts: its sync API keeps an event loop running
in the test's thread, where Django refuses database calls.
"""

import base64
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from accounts.services import issue_token
from accounts.tests.factories import UserFactory
from live.tests.servers import asgi_server
from reservations.tests.factories import ReservationFactory
from reservations.tests.workers import unavailable
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
# The driver stands where the map opens without a location: Midtown.
HERE = {"latitude": 40.7549, "longitude": -73.984}
TILES = "http://tiles.test"
GREY_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)
HARNESS = (Path(__file__).parent / "harness" / "pay.html").read_text()
NEW_YORK = ZoneInfo("America/New_York")
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
AUTHENTICATING_CARD = "4000 0027 6000 3184"


@pytest.fixture
def spots(transactional_db) -> dict:
    """Four spots a few blocks apart, nearest first from HERE, with their rates."""
    return {
        "here": ParkingSpotFactory(lat="40.754900", lng="-73.984000", rate="5.00"),
        "block": ParkingSpotFactory(lat="40.755600", lng="-73.984900", rate="2.00"),
        "avenue": ParkingSpotFactory(lat="40.753200", lng="-73.981500", rate="8.00"),
        "cheap": ParkingSpotFactory(lat="40.757600", lng="-73.987500", rate="0.40"),
    }


@pytest.fixture
def server(spots, tmp_path) -> Iterator[str]:
    """The whole application on a loopback port of its own; its base URL."""
    with asgi_server(
        tmp_path / "server.log",
        # Tasks (emails) queue in a folder nobody reads: no one else's worker takes them.
        CELERY_BROKER_URL="filesystem://",
        MAP_TILE_URL=TILES + "/{z}/{x}/{y}.png",
    ) as port:
        yield f"http://127.0.0.1:{port}"


def serve_tiles(route: Route) -> None:
    route.fulfill(body=GREY_TILE, content_type="image/png")


def serve_harness(route: Route) -> None:
    route.fulfill(body=HARNESS, content_type="text/html")


@pytest.fixture(params=list(SIZES))
def open_page(request, server) -> Iterator[Callable[..., Page]]:
    """``open_page()``: a page in a browser context of its own (a second driver), at the
    test's size, located at HERE. A test fails on any uncaught error in a page."""
    if not CHROMIUM.exists():
        unavailable("needs Chromium (apt-get install chromium)")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )

        def open_one(*, tiles: Callable[[Route], None] = serve_tiles) -> Page:
            context = browser.new_context(
                **SIZES[request.param],
                base_url=server,
                geolocation=HERE,
                permissions=["geolocation"],
            )
            context.route(f"{TILES}/**", tiles)
            context.route(re.compile(r"/reservations/\d+/?$"), serve_harness)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            return page

        yield open_one
        browser.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


def row(page: Page, spot) -> object:
    return page.locator(f'#spot-list [data-spot-id="{spot.id}"]')


def listed_ids(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#spot-list [data-spot-id]").evaluate_all(
            "rows => rows.map(row => row.dataset.spotId)"
        )
    ]


def open_find(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#map-status")).to_have_text(re.compile("^Live"))


def test_the_map_shows_the_spots_and_the_list_is_nearest_first(page, spots):
    open_find(page)

    expect(page.locator("#map")).to_have_attribute("data-markers", "4")
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(4)
    assert listed_ids(page) == [spots[name].id for name in ("here", "block", "avenue", "cheap")]


@pytest.fixture
def booked_tomorrow(spots, transactional_db):
    """The 'block' spot booked (confirmed) tomorrow from 10:00 New York time, for an hour."""
    tomorrow = timezone.now().astimezone(NEW_YORK) + timedelta(days=1)
    start = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    ReservationFactory(
        spot=spots["block"], confirmed=True, start_time=start, end_time=start + timedelta(hours=1)
    )
    return start


def test_a_later_window_leaves_out_a_spot_booked_then(booked_tomorrow, page, spots):
    open_find(page)
    expect(row(page, spots["block"])).to_have_count(1)  # free now

    page.get_by_label("Later").check()
    page.get_by_label("Start, New York time").fill(booked_tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Start, New York time").dispatch_event("change")

    expect(page.locator("#map-status")).to_contain_text("Spots free from")
    expect(row(page, spots["block"])).to_have_count(0)
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(3)


def test_the_most_per_hour_filters_the_map_and_the_list(page, spots):
    open_find(page)

    page.get_by_label("Most per hour").select_option("4")

    expect(page.locator("#map")).to_have_attribute("data-markers", "2")
    assert listed_ids(page) == [spots["block"].id, spots["cheap"].id]


def test_the_panel_shows_the_price_the_waiver_and_the_walk(page, spots):
    open_find(page)

    row(page, spots["cheap"]).click()
    panel = page.get_by_role("dialog")
    expect(panel).to_contain_text("$0.40 an hour")
    expect(panel.locator("[data-price]")).to_have_text("$0.40 for 1 h")
    expect(panel.locator("[data-waiver]")).to_be_visible()
    expect(panel.locator("[data-walk]")).to_have_text(re.compile(r"^\d+ m, about \d+ min walk$"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(row(page, spots["cheap"])).to_be_focused()

    row(page, spots["here"]).click()
    expect(panel.locator("[data-price]")).to_have_text("$5.00 for 1 h")
    expect(panel.locator("[data-waiver]")).to_be_hidden()


def test_a_marker_opens_its_spot_and_the_list_works_by_keyboard(page, spots):
    open_find(page)
    expect(page.locator("#map")).to_have_attribute("data-markers", "4")

    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # "here"
    expect(page.get_by_role("dialog")).to_contain_text(f"Spot {spots['here'].id}")
    page.keyboard.press("Escape")

    row(page, spots["block"]).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_contain_text(f"Spot {spots['block'].id}")


def reserve_as_guest(page: Page, spot, email: str = "walk-in@example.com") -> None:
    row(page, spot).click()
    page.get_by_label("Your email").fill(email)
    page.get_by_role("button", name="Reserve").click()
    page.wait_for_url(re.compile(r"/reservations/\d+/$"))


def pay_with(page: Page, card: str) -> None:
    page.get_by_label(re.compile("^Card number")).fill(card)
    page.get_by_role("button", name="Save card and confirm").click()


def test_a_guest_reserves_and_pays_with_a_good_card(page, spots):
    open_find(page)
    reserve_as_guest(page, spots["here"])

    expect(page.get_by_role("timer")).to_contain_text("Held for you for 1")
    pay_with(page, GOOD_CARD)

    expect(page.get_by_text("Card saved: your reservation is confirmed.")).to_be_visible()
    expect(page.locator("#outcome")).to_have_text("Event: payment-confirmed")


@pytest.fixture
def signed_in(account) -> dict[str, str]:
    """What session.js keeps for a signed-in tab (sessionStorage)."""
    return {"sms.token": issue_token(user=account), "sms.email": account.email}


def test_a_signed_in_driver_reserves_later_and_pays(signed_in, page, spots):
    page.add_init_script(
        "".join(f"sessionStorage.setItem({k!r}, {v!r});" for k, v in signed_in.items())
    )
    open_find(page)
    page.get_by_label("Later").check()
    row(page, spots["block"]).click()
    expect(page.get_by_role("dialog")).to_contain_text("Booking as member@example.com")
    page.get_by_role("button", name="Reserve").click()
    page.wait_for_url(re.compile(r"/reservations/\d+/$"))

    pay_with(page, GOOD_CARD)

    expect(page.locator("#outcome")).to_have_text("Event: payment-confirmed")


def test_a_declined_card_and_a_card_needing_authentication_each_say_what_to_do(page, spots):
    open_find(page)
    reserve_as_guest(page, spots["here"])

    pay_with(page, DECLINED_CARD)
    expect(page.locator(".field-error")).to_contain_text("Please try another card.")
    expect(page.get_by_label(re.compile("^Card number"))).to_have_attribute("aria-invalid", "true")

    pay_with(page, AUTHENTICATING_CARD)
    expect(page.locator("[data-needs-action]")).to_contain_text("needs your bank to confirm it")

    pay_with(page, GOOD_CARD)
    expect(page.locator("#outcome")).to_have_text("Event: payment-confirmed")


def test_a_spot_another_driver_books_leaves_the_map_within_a_second(open_page, spots):
    watching = open_page()
    open_find(watching)
    booking = open_page()
    open_find(booking)

    with booking.expect_response(
        lambda response: "/reservation-unauth/" in response.url and response.status == 201
    ):
        reserve_as_guest(booking, spots["avenue"], email="quick@example.com")

    expect(row(watching, spots["avenue"])).to_have_count(0, timeout=1000)
    expect(watching.locator("#map")).to_have_attribute("data-markers", "3")


def test_a_spot_taken_while_its_panel_is_open_is_refused_next_to_the_form(open_page, spots):
    slow = open_page()
    open_find(slow)
    row(slow, spots["block"]).click()
    slow.get_by_label("Your email").fill("slow@example.com")
    fast = open_page()
    open_find(fast)
    reserve_as_guest(fast, spots["block"], email="fast@example.com")

    slow.get_by_role("button", name="Reserve").click()

    expect(slow.get_by_role("alert")).to_contain_text("already reserved")
    expect(row(slow, spots["block"])).to_have_count(0)


@pytest.fixture
def account(transactional_db):
    return UserFactory(email="member@example.com")


def test_a_guest_using_an_account_email_is_offered_to_sign_in(account, page, spots):
    open_find(page)
    row(page, spots["here"]).click()
    page.get_by_label("Your email").fill("Member@example.com")
    page.get_by_role("button", name="Reserve").click()

    expect(page.locator(".field-error")).to_contain_text("belongs to an account")
    expect(page.get_by_role("dialog").get_by_role("link", name="sign in").last).to_be_visible()


def test_without_map_tiles_the_spots_still_show(open_page, spots):
    page = open_page(tiles=lambda route: route.abort())
    open_find(page)

    expect(page.locator("#tile-note")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-markers", "4")
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(4)


def test_without_the_live_feed_the_page_polls_the_search(page, spots):
    page.route_web_socket(re.compile("/ws/availability/"), lambda socket: socket.close())
    page.goto("/")

    expect(page.locator("#map-status")).to_contain_text("checking every few seconds")
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(4)


def test_a_hold_that_runs_out_says_so_and_offers_another_spot(page, spots):
    page.clock.install()
    open_find(page)
    reserve_as_guest(page, spots["here"])
    expect(page.get_by_role("button", name="Save card and confirm")).to_be_enabled()

    page.clock.fast_forward("16:00")  # past the 15-minute hold (RESERVATION_HOLD_MINUTES)

    expect(page.get_by_text("Your hold lapsed before a card was saved")).to_be_visible()
    expect(page.get_by_role("link", name="Find another spot")).to_have_attribute("href", "/")
    expect(page.locator("#outcome")).to_have_text("Event: hold-lapsed")
