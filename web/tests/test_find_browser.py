"""The driver's first steps in Chromium, against a real stack (issue 9, points 1-4): find a
spot on the map or the list, nearest first, for now or a later window, within a price; the
spot's panel (price, waiver, walk); reserve as a guest or signed in; pay on the reservation page
with the sandbox's test cards. And what the driver sees when the hold runs out, the tiles or
the live feed fail, another driver books first, or an account's email must be confirmed first.

Each test has a street of its own: four spots the stack adds (``Stack.add_spots``) far from
the seeded Midtown spots the other browser tests book, with the browser standing among them.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, WebSocketRoute, expect

from payments.tests.charging import GOOD_CARD
from reservations.tests.workers import wait_until
from web.tests.browser import Stack
from web.tests.chromium import TILE_ORIGIN, new_context, sign_in_tab, watch
from web.tests.manage_helpers import new_email, new_york_input, signed_in_driver

pytestmark = pytest.mark.browser

DECLINED_CARD = "4000 0000 0000 0002"
AUTHENTICATING_CARD = "4000 0027 6000 3184"

# Answers that go through the stack's servers and worker on a busy machine: seconds, not more.
SERVER_MS = 15_000
# The hold sweep runs every second in a stack; its event reaches the page through the relay.
WORKER_MS = 45_000
# How soon another driver's booking leaves a map (the "within a second").
LIVE_MS = 1_000

CONFIRM_SUBJECT = "Confirm Your Email Address"

# A street's spots around its centre, where the driver stands: (lat, lng) offsets in
# millionths of a degree, and the hourly rate. Nearest first: here, block, avenue, cheap.
LAYOUT = {
    "here": (0, 0, "5.00"),
    "block": (700, -900, "2.00"),
    "avenue": (-1700, 2500, "8.00"),
    "cheap": (2700, -3500, "0.40"),
}
# Streets on a grid south-west of Midtown: each alone in a map's view (a desktop map at the
# start zoom is about 2 km across) and over 2 km from Times Square, near which
# Stack.free_spot_id finds the spots other tests book.
FIRST_STREET = (40_500_000, -74_200_000)  # millionths of a degree
STREET_SPACING = (40_000, 50_000)  # over 4 km either way
STREETS_PER_ROW = 10
STREETS_PER_BATCH = 12  # added by one manage.py call


@dataclass(frozen=True)
class Street:
    here: dict[str, float]  # the browser's position: latitude, longitude
    spots: dict[str, int]  # LAYOUT's names → spot ids


@dataclass
class Streets:
    """New streets on a stack, added a batch at a time."""

    stack: Stack
    made: int = 0
    ready: list[Street] = field(default_factory=list)

    def take(self) -> Street:
        if not self.ready:
            self._add_batch()
        return self.ready.pop(0)

    def _add_batch(self) -> None:
        centres = [self._centre(self.made + n) for n in range(STREETS_PER_BATCH)]
        self.made += STREETS_PER_BATCH
        rows = [
            (_degrees(lat + d_lat), _degrees(lng + d_lng), rate)
            for lat, lng in centres
            for d_lat, d_lng, rate in LAYOUT.values()
        ]
        ids = iter(self.stack.add_spots(*rows))
        for lat, lng in centres:
            here = {"latitude": lat / 1e6, "longitude": lng / 1e6}
            self.ready.append(Street(here=here, spots={name: next(ids) for name in LAYOUT}))

    @staticmethod
    def _centre(number: int) -> tuple[int, int]:
        row, column = divmod(number, STREETS_PER_ROW)
        return (
            FIRST_STREET[0] + row * STREET_SPACING[0],
            FIRST_STREET[1] + column * STREET_SPACING[1],
        )


def _degrees(millionths: int) -> str:
    return f"{millionths / 1e6:.6f}"


@pytest.fixture(scope="module")
def streets(stack) -> Streets:
    return Streets(stack)


@pytest.fixture
def street(streets, context) -> Street:
    """A street of the test's own, the browser standing at its centre."""
    taken = streets.take()
    context.set_geolocation(taken.here)
    return taken


@pytest.fixture
def another_driver(chromium, stack, size, browser_log, street) -> Iterator[Callable[[], Page]]:
    """``another_driver()``: a page in a browser of its own (another driver's phone or laptop,
    at the test's size) standing on the test's street; its problems fail the test too."""
    contexts: list[BrowserContext] = []

    def open_one() -> Page:
        context = new_context(chromium, size, base_url=stack.base_url)
        context.set_geolocation(street.here)
        watch(context, browser_log)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()


def row(page: Page, spot_id: int) -> Locator:
    return page.locator(f'#spot-list [data-spot-id="{spot_id}"]')


def listed_ids(page: Page) -> list[int]:
    return [
        int(spot_id)
        for spot_id in page.locator("#spot-list [data-spot-id]").evaluate_all(
            "rows => rows.map(row => row.dataset.spotId)"
        )
    ]


def open_street(page: Page) -> None:
    """The find page, followed live, once it shows the street's spots."""
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute(
        "data-markers", str(len(LAYOUT)), timeout=SERVER_MS
    )
    expect(page.locator("#map-status")).to_have_text(re.compile("^Live"), timeout=SERVER_MS)


def reserve_as_guest(page: Page, spot_id: int, email: str) -> None:
    row(page, spot_id).click()
    page.get_by_label("Your email").fill(email)
    page.get_by_role("button", name="Reserve").click()
    page.wait_for_url(re.compile(r"/reservations/\d+/$"))


def reservation_id(page: Page) -> int:
    return int(re.search(r"/reservations/(\d+)/$", page.url).group(1))


def pay_with(page: Page, card: str) -> None:
    page.get_by_label(re.compile("^Card number")).fill(card)
    page.get_by_role("button", name="Save card and confirm").click()


def expect_confirmed(page: Page, *, heading: str = "Time left", badge: str = "Confirmed") -> None:
    """The reservation page once the card is saved: the hold gives way to the clock."""
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=SERVER_MS)
    expect(page.locator("[data-pay]")).to_be_hidden()
    expect(page.locator("[data-status]")).to_have_text(badge)


def test_the_map_and_the_list_show_the_spots_nearest_first(page, street):
    open_street(page)

    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(len(LAYOUT))
    assert listed_ids(page) == [street.spots[name] for name in LAYOUT]
    # Once, for the page benchmark (bench/page.py): the first draw with spots.
    assert page.evaluate("performance.getEntriesByName('first-spots').length") == 1


def metres(walk: str) -> float:
    distance, unit = re.search(r"([\d.]+) (m|km),", walk).groups()
    return float(distance) * (1000 if unit == "km" else 1)


@pytest.mark.parametrize("size", ["phone"])
@pytest.mark.geolocation("denied")
def test_a_refused_location_shows_midtown(page):
    page.goto("/")
    expect(page.locator("#map-status")).to_have_text(re.compile("^Live"), timeout=SERVER_MS)
    expect(page.locator("#spot-list [data-spot-id]").first).to_be_visible(timeout=SERVER_MS)

    page.get_by_role("button", name="Use my location").click()

    expect(page.locator("#map-status")).to_contain_text(
        "Your location is not available: showing Midtown."
    )
    walks = [metres(text) for text in page.locator("#spot-list .spot-walk").all_text_contents()]
    assert walks == sorted(walks)
    page.locator("#spot-list [data-spot-id]").first.click()
    expect(page.get_by_role("dialog").locator("[data-walk]")).to_contain_text(
        "from Midtown (your location is not shared)"
    )


def test_a_later_window_leaves_out_a_spot_booked_then(page, stack, street):
    booked = stack.book(new_email("ahead"), spot=street.spots["block"], starts_in=timedelta(days=1))
    open_street(page)  # the spot is free now

    page.get_by_label("Later").check()
    start = page.get_by_label("Start, New York time")
    start.fill(new_york_input(datetime.fromisoformat(booked["start_time"])))
    start.dispatch_event("change")

    expect(page.locator("#map-status")).to_contain_text("Spots free from")
    expect(row(page, street.spots["block"])).to_have_count(0, timeout=SERVER_MS)
    expect(page.locator("#map")).to_have_attribute("data-markers", str(len(LAYOUT) - 1))


def test_the_most_per_hour_filters_the_map_and_the_list(page, street):
    open_street(page)

    page.get_by_label("Most per hour").select_option("4")

    expect(page.locator("#map")).to_have_attribute("data-markers", "2")
    assert listed_ids(page) == [street.spots["block"], street.spots["cheap"]]


def test_the_panel_shows_the_price_the_waiver_and_the_walk(page, street):
    open_street(page)

    row(page, street.spots["cheap"]).click()
    panel = page.get_by_role("dialog")
    expect(panel).to_contain_text("$0.40 an hour")
    expect(panel.locator("[data-price]")).to_have_text("$0.40 for 1 h")
    expect(panel.locator("[data-waiver]")).to_be_visible()
    expect(panel.locator("[data-walk]")).to_have_text(re.compile(r"^\d+ m, about \d+ min walk$"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(row(page, street.spots["cheap"])).to_be_focused()

    row(page, street.spots["here"]).click()
    expect(panel.locator("[data-price]")).to_have_text("$5.00 for 1 h")
    expect(panel.locator("[data-waiver]")).to_be_hidden()


def test_a_marker_opens_its_spot_and_the_list_works_by_keyboard(page, street):
    open_street(page)
    # The map has jumped to the driver, whose spot ("here") is under its centre.
    expect(page.locator("#map")).to_have_attribute("data-located", "true")

    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # "here"
    expect(page.get_by_role("dialog")).to_contain_text(f"Spot {street.spots['here']}")
    page.keyboard.press("Escape")
    # Back to the spot's row in the list, once the dialog has closed.
    expect(row(page, street.spots["here"])).to_be_focused()

    row(page, street.spots["block"]).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_contain_text(f"Spot {street.spots['block']}")


def test_a_guest_reserves_and_pays_with_a_good_card(page, stack, street):
    email = new_email("guest")
    open_street(page)
    reserve_as_guest(page, street.spots["here"], email)

    expect(page.get_by_role("timer")).to_contain_text(re.compile(r"Held for you for 1[45]:\d\d"))
    pay_with(page, GOOD_CARD)

    expect_confirmed(page)
    reservation = stack.reservation(reservation_id(page), email=email)
    assert (reservation["status"], reservation["parking_spot"]) == (
        "confirmed",
        street.spots["here"],
    )


def test_a_signed_in_driver_reserves_later_and_pays(page, stack, street):
    email, token = signed_in_driver(page, stack)
    open_street(page)
    page.get_by_label("Later").check()
    row(page, street.spots["block"]).click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Booking as {email}")
    page.get_by_role("button", name="Reserve").click()
    page.wait_for_url(re.compile(r"/reservations/\d+/$"))

    pay_with(page, GOOD_CARD)

    expect_confirmed(page, heading="Starts in", badge="Upcoming")
    assert stack.reservation(reservation_id(page), token=token)["status"] == "confirmed"


def test_a_declined_card_and_a_card_needing_authentication_each_say_what_to_do(page, street):
    open_street(page)
    reserve_as_guest(page, street.spots["here"], new_email("guest"))
    card_number = page.get_by_label(re.compile("^Card number"))

    pay_with(page, DECLINED_CARD)
    expect(page.locator(".field-error")).to_contain_text("Please try another card.")
    expect(card_number).to_have_attribute("aria-invalid", "true")

    pay_with(page, AUTHENTICATING_CARD)
    expect(page.locator("[data-needs-action]")).to_contain_text("needs your bank to confirm it")
    expect(card_number).to_have_value("")

    pay_with(page, GOOD_CARD)
    expect_confirmed(page)


class GatedStream:
    """The page's reservation stream, through the test: what the server sends waits while the
    gate is shut (``shut``), and reaches the page when it opens (``open``)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.waiting: list[str | bytes] = []
        self.pages: list[WebSocketRoute] = []
        self.is_open = True
        page.route_web_socket(re.compile("/ws/reservations/"), self._connected)

    def _connected(self, socket: WebSocketRoute) -> None:
        self.pages.append(socket)
        socket.connect_to_server().on_message(lambda message: self._from_server(socket, message))

    def _from_server(self, socket: WebSocketRoute, message: str | bytes) -> None:
        if self.is_open:
            socket.send(message)
        else:
            self.waiting.append(message)

    def shut(self) -> None:
        self.is_open = False

    def open(self) -> None:
        self.is_open = True
        for message in self.waiting:
            self.pages[-1].send(message)
        self.waiting.clear()


def held_requests(page: Page, pattern: str) -> Callable[[], list[Route]]:
    """Holds the page's requests to ``pattern`` (a regular expression) until the test lets each
    go; ``held()``: those made so far."""
    held: list[Route] = []
    page.route(re.compile(pattern), lambda route: held.append(route))

    def made() -> list[Route]:
        page.evaluate("0")  # Playwright hands the test routed requests while it calls it
        return held

    return made


@pytest.mark.parametrize("size", ["phone"])
def test_a_payment_the_stream_confirms_first_leaves_a_working_page(page, street):
    stream = GatedStream(page)
    open_street(page)
    reserve_as_guest(page, street.spots["here"], new_email("guest"))
    expect(page.get_by_role("button", name="Save card and confirm")).to_be_enabled(
        timeout=SERVER_MS
    )
    confirming = held_requests(page, "/confirm-successful-setup-intent-")
    stream.shut()

    pay_with(page, GOOD_CARD)  # the sandbox saves the card and confirms the reservation
    wait_until(confirming, "the page asks the server to confirm the card")
    # The stream tells the page first; the page's own request answers after.
    stream.open()
    expect(page.get_by_role("heading", name="Time left")).to_be_visible(timeout=SERVER_MS)
    with page.expect_response(re.compile("/confirm-successful-setup-intent-")):
        confirming()[0].continue_()

    page.get_by_role("button", name="+15 min").click()
    expect(page.locator("[data-announce]")).to_contain_text("now ends at")
    expect(page.locator("[data-status]")).to_have_text("Confirmed")


def test_a_hold_that_runs_out_says_so_and_offers_the_spot_again(page, stack, street):
    page.clock.install()
    open_street(page)
    reserve_as_guest(page, street.spots["here"], new_email("guest"))
    expect(page.get_by_role("button", name="Save card and confirm")).to_be_enabled(
        timeout=SERVER_MS
    )

    page.clock.fast_forward("16:00")  # the page's clock: past the 15-minute hold
    expect(page.get_by_text("Your hold lapsed before a card was saved")).to_be_visible()
    stack.expire_hold(reservation_id(page))  # the server's: its sweep releases the spot

    expect(page.locator("[data-outcome]")).to_contain_text(
        "The hold lapsed before payment: nothing was charged.", timeout=WORKER_MS
    )
    expect(page.locator("[data-status]")).to_have_text("Expired unpaid")
    page.get_by_role("link", name="Find another spot").click()
    expect(page).to_have_url(stack.url("/"))
    expect(row(page, street.spots["here"])).to_have_count(1, timeout=SERVER_MS)


def test_a_spot_another_driver_books_leaves_the_map_within_a_second(page, another_driver, street):
    open_street(page)
    booking = another_driver()
    open_street(booking)
    row(booking, street.spots["avenue"]).click()
    booking.get_by_label("Your email").fill(new_email("quick"))

    with booking.expect_response(
        lambda response: (
            "/reservation-unauth/" in response.url and response.request.method == "POST"
        )
    ) as booked:
        booking.get_by_role("button", name="Reserve").click()
    assert booked.value.status == 201

    # From the booking's answer to its marker gone from the other driver's map.
    expect(page.locator("#map")).to_have_attribute(
        "data-markers", str(len(LAYOUT) - 1), timeout=LIVE_MS
    )
    expect(row(page, street.spots["avenue"])).to_have_count(0)


def test_a_spot_taken_while_its_panel_is_open_is_refused_next_to_the_form(
    page, another_driver, street
):
    open_street(page)
    row(page, street.spots["block"]).click()
    page.get_by_label("Your email").fill(new_email("slow"))
    fast = another_driver()
    open_street(fast)
    reserve_as_guest(fast, street.spots["block"], new_email("fast"))

    page.get_by_role("button", name="Reserve").click()

    expect(page.get_by_role("alert")).to_contain_text("already reserved")
    expect(row(page, street.spots["block"])).to_have_count(0)


def test_a_guest_using_an_account_email_is_offered_to_sign_in(page, stack, street):
    email = new_email("member")
    stack.sign_up(email)
    open_street(page)
    row(page, street.spots["here"]).click()
    page.get_by_label("Your email").fill(email.capitalize())
    page.get_by_role("button", name="Reserve").click()

    expect(page.locator(".field-error")).to_contain_text("belongs to an account")
    expect(page.get_by_label("Your email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("dialog").get_by_role("link", name="sign in").last).to_be_visible()


def test_without_map_tiles_the_spots_still_show(page, street, browser_log):
    page.route(f"{TILE_ORIGIN}/**", lambda route: route.abort())
    browser_log.allow(re.escape(TILE_ORIGIN))

    open_street(page)

    expect(page.locator("#tile-note")).to_be_visible()
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(len(LAYOUT))


def test_without_the_live_feed_the_page_polls_the_search(page, stack, street):
    page.route_web_socket(re.compile("/ws/availability/"), lambda socket: socket.close())
    page.goto("/")

    expect(page.locator("#map-status")).to_contain_text(
        "checking every few seconds", timeout=SERVER_MS
    )
    expect(page.locator("#spot-list [data-spot-id]")).to_have_count(len(LAYOUT))

    stack.book(new_email("elsewhere"), spot=street.spots["avenue"])

    expect(row(page, street.spots["avenue"])).to_have_count(0, timeout=SERVER_MS)
    expect(page.locator("#map")).to_have_attribute("data-markers", str(len(LAYOUT) - 1))


@pytest.mark.parametrize("size", ["phone"])
def test_mandatory_email_verification_refuses_a_booking_and_sends_the_link_again(page, start_stack):
    strict = start_stack(EMAIL_VERIFICATION="mandatory")
    email = new_email("unconfirmed")
    token = strict.sign_up(email)
    page.goto(strict.url("/healthz"))
    sign_in_tab(page, email, token)
    page.goto(strict.url("/"))
    first_spot = page.locator("#spot-list [data-spot-id]").first
    first_spot.click(timeout=SERVER_MS)

    page.get_by_role("button", name="Reserve").click()

    expect(page.get_by_role("dialog").get_by_role("alert")).to_contain_text(
        "Confirm your email address before booking"
    )
    strict.last_email_to(email, subject=CONFIRM_SUBJECT)  # the sign-up's
    sent = len(strict.emails_to(email))
    page.get_by_role("button", name="Send the confirmation link again").click()
    expect(page.locator("[data-resend-result]")).to_have_text(
        "Sent: open the link in the email, then reserve again."
    )
    wait_until(lambda: len(strict.emails_to(email)) > sent, f"a second link to {email}")
    link = strict.link_in(
        strict.last_email_to(email, subject=CONFIRM_SUBJECT), "/account/verify-email/"
    )

    page.goto(link)
    page.get_by_role("button", name="Confirm my email").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    page.goto(strict.url("/"))
    first_spot.click(timeout=SERVER_MS)
    page.get_by_role("button", name="Reserve").click()

    page.wait_for_url(re.compile(r"/reservations/\d+/$"))
