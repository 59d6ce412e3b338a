"""/ws/reservations/ through Channels' communicator: a driver's own reservation, live, as the
real services change it (booking, the sandbox card step, amending, the engine's reminder, end
and charge, a failed payment paid on the payment page), and nobody else's.

"Nothing else arrived" is shown without waiting on a clock: a ping sent after the last
expected event is answered only after every message queued for the socket before it, so a
pong as the next message means none was."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import wraps

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone

from accounts.models import AuthToken
from accounts.services import token_digest
from live.owners import UNKNOWN_GUEST_RESERVATION
from live.routing import websocket_urlpatterns
from live.tests import drivers
from live.tests.conftest import closing_code, stop_relays
from live.tests.drivers import Driver
from reservations.tests.workers import unavailable
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]

DEADLINE = 10.0
application = URLRouter(websocket_urlpatterns)


@pytest.fixture
def sandbox(settings) -> None:
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.STRIPE_SECRET_KEY = ""


def run(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Runs the async ``test`` in an event loop of its own; the relay its sockets started is
    stopped afterwards."""

    @wraps(test)
    def sync(*args, **kwargs) -> None:
        async def session() -> None:
            try:
                await test(*args, **kwargs)
            finally:
                stop_relays()

        async_to_sync(session)()

    return sync


@asynccontextmanager
async def connected(path: str = "/ws/reservations/") -> AsyncIterator[WebsocketCommunicator]:
    socket = WebsocketCommunicator(application, path)
    accepted, _ = await socket.connect(timeout=DEADLINE)
    assert accepted
    try:
        yield socket
    finally:
        await socket.disconnect()


async def receive(socket) -> dict:
    return await socket.receive_json_from(timeout=DEADLINE)


async def authenticate(socket, frame: dict) -> dict:
    await socket.send_json_to(frame)
    answer = await receive(socket)
    assert answer["type"] == "authenticated", answer
    return answer


async def events(socket, count: int) -> list[tuple[str, int]]:
    """The next ``count`` messages, each a reservation event: (kind, reservation id)."""
    received = []
    for _ in range(count):
        message = await receive(socket)
        assert message["type"] == "reservation", message
        received.append((message["event"], message["reservation"]["id"]))
    return received


@asynccontextmanager
async def signed_in_socket() -> AsyncIterator[tuple[Driver, WebsocketCommunicator]]:
    """A new signed-in driver and a socket that authenticated with their token (they have no
    reservation yet)."""
    driver = await call(Driver.signed_in)
    async with connected() as socket:
        start = await authenticate(socket, driver.authenticate_frame())
        assert start["reservations"] == []
        yield driver, socket


async def nothing_more(socket) -> None:
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}


def call(function: Callable, *args, **kwargs) -> Awaitable:
    """A service call from the test's event loop, committed when it returns; in the thread
    where the sockets read the database too (SQLite's test database is one connection)."""
    return sync_to_async(function)(*args, **kwargs)


@pytest.fixture
def spot(transactional_db):
    return ParkingSpotFactory()


@run
async def test_a_users_booking_is_followed_from_creation_to_charge(spot):
    async with signed_in_socket() as (driver, socket):
        reservation = await call(driver.book, spot)
        created = await receive(socket)
        await call(drivers.save_card, reservation)
        await call(drivers.extend, reservation)
        await call(drivers.remind, reservation)
        await call(drivers.end_by_engine, reservation)
        later = [await receive(socket) for _ in range(5)]

    assert created["type"] == "reservation"
    assert created["event"] == "created"
    assert created["reservation"]["id"] == reservation.pk
    assert created["reservation"]["status"] == "pending_payment"
    assert created["at"].endswith("Z")
    kinds = [message["event"] for message in later]
    assert kinds == ["confirmed", "amended", "reminder_sent", "ended", "charged"]
    seqs = [created["seq"], *(message["seq"] for message in later)]
    assert seqs == sorted(set(seqs))
    charged = later[-1]["reservation"]
    assert charged["status"] == "ended"
    assert charged["charge_status"] == "succeeded"
    assert charged["amount_charged_cents"] == charged["amount_cents"] == 675  # 90 min at $4.50
    assert charged["pay_url"] is None


@run
async def test_a_guests_failed_payment_carries_the_link_to_pay_and_then_its_charge(spot):
    guest = Driver.guest(1)
    reservation = await call(guest.book, spot)
    await call(drivers.save_card_declined_when_charged, reservation)
    async with connected() as socket:
        start = await authenticate(socket, guest.authenticate_frame(reservation))
        await call(drivers.end_by_engine, reservation)
        ended, failed = await receive(socket), await receive(socket)
        await call(drivers.pay_failed_charge, reservation)
        paid = await receive(socket)

    [current] = start["reservations"]
    assert (current["id"], current["status"], current["charge_status"]) == (
        reservation.pk,
        "confirmed",
        None,
    )
    assert (ended["event"], failed["event"], paid["event"]) == (
        "ended",
        "payment_failed",
        "charged",
    )
    assert failed["reservation"]["status"] == "payment_failed"
    assert failed["reservation"]["charge_status"] == "failed"
    assert failed["reservation"]["pay_url"].startswith("http")
    assert failed["reservation"]["amount_charged_cents"] is None
    assert paid["reservation"]["status"] == "ended"
    assert paid["reservation"]["charge_status"] == "succeeded"
    assert paid["reservation"]["pay_url"] is None


@run
async def test_unpaid_holds_deleted_or_lapsed_and_advance_bookings_cancelled_say_cancelled(spot):
    async with signed_in_socket() as (driver, socket):
        deleted = await call(driver.book, spot)
        await call(drivers.end_now, deleted)
        lapsed = await call(driver.book, spot)
        await call(drivers.lapse_hold, lapsed)
        ahead = await call(driver.book, spot, starts_in_minutes=120)
        await call(drivers.save_card, ahead)
        await call(drivers.end_now, ahead)

        assert await events(socket, 7) == [
            ("created", deleted.pk),
            ("cancelled", deleted.pk),
            ("created", lapsed.pk),
            ("cancelled", lapsed.pk),
            ("created", ahead.pk),
            ("confirmed", ahead.pk),
            ("cancelled", ahead.pk),
        ]


@run
async def test_nobody_receives_another_users_or_guests_events_on_one_spot(spot):
    first_user, second_user = await call(Driver.signed_in), await call(Driver.signed_in)
    first_guest, second_guest = Driver.guest(1), Driver.guest(2)
    # Bookings of one spot, one after the other in time, made in turns.
    owners = [first_user, first_guest, second_user, second_guest]
    reservations = []
    for hours, owner in enumerate(owners):
        reservations.append(await call(owner.book, spot, starts_in_minutes=90 * hours + 1))
    async with (
        connected() as first_user_socket,
        connected() as first_guest_socket,
        connected() as second_user_socket,
        connected() as second_guest_socket,
    ):
        sockets = [first_user_socket, first_guest_socket, second_user_socket, second_guest_socket]
        for socket, owner, reservation in zip(sockets, owners, reservations, strict=True):
            start = await authenticate(socket, owner.authenticate_frame(reservation))
            assert [shown["id"] for shown in start["reservations"]] == [reservation.pk]
        for change in (drivers.save_card, drivers.extend, drivers.end_now):
            for reservation in reservations:
                await call(change, reservation)

        for socket, reservation in zip(sockets, reservations, strict=True):
            assert await events(socket, 3) == [
                ("confirmed", reservation.pk),
                ("amended", reservation.pk),
                ("cancelled", reservation.pk),
            ]
        for socket in sockets:
            await nothing_more(socket)


@run
async def test_a_second_authenticate_replaces_the_first(spot):
    user, guest = await call(Driver.signed_in), Driver.guest(1)
    guests = await call(guest.book, spot, starts_in_minutes=120)
    async with connected() as socket:
        await authenticate(socket, user.authenticate_frame())
        await authenticate(socket, guest.authenticate_frame(guests))
        users = await call(user.book, spot)
        await call(drivers.extend, guests)

        # The user's booking came first: had it reached the socket, it would be first here.
        assert await events(socket, 1) == [("amended", guests.pk)]
        await call(drivers.end_now, users)
        await nothing_more(socket)


@run
async def test_a_wrong_email_an_accounts_reservation_and_an_unknown_id_are_refused_alike(spot):
    user, guest = await call(Driver.signed_in), Driver.guest(1)
    guests = await call(guest.book, spot)
    users = await call(user.book, spot, starts_in_minutes=120)
    attempts = [
        {"reservation": guests.pk, "email": "someone-else@example.com"},
        {"reservation": users.pk, "email": user.email},
        {"reservation": guests.pk + 1, "email": guest.email},
    ]
    async with connected() as socket:
        answers = []
        for attempt in attempts:
            await socket.send_json_to({"type": "authenticate", **attempt})
            answers.append(await receive(socket))
        # Any letter case of the right email is the guest's, as on the guest routes.
        right = await authenticate(
            socket, {"type": "authenticate", "reservation": guests.pk, "email": guest.email.upper()}
        )

    assert answers == 3 * [
        {"type": "error", "code": "not_authenticated", "message": UNKNOWN_GUEST_RESERVATION}
    ]
    assert [shown["id"] for shown in right["reservations"]] == [guests.pk]


@run
async def test_a_token_in_the_url_signs_nobody_in(spot):
    driver = await call(Driver.signed_in)
    async with (
        connected(f"/ws/reservations/?token={driver.token}") as by_url,
        connected() as by_message,
    ):
        await authenticate(by_message, driver.authenticate_frame())
        reservation = await call(driver.book, spot)
        assert await events(by_message, 1) == [("created", reservation.pk)]
        await nothing_more(by_url)


@run
async def test_an_expired_or_signed_out_token_stops_the_events(spot):
    async with signed_in_socket() as (driver, socket):
        reservation = await call(driver.book, spot)
        assert await events(socket, 1) == [("created", reservation.pk)]

        await call(AuthToken.objects.filter(digest=token_digest(driver.token)).delete)
        await call(drivers.extend, reservation)
        refused = await receive(socket)
        await call(drivers.end_now, reservation)
        await nothing_more(socket)

    assert (refused["type"], refused["code"]) == ("error", "not_authenticated")


@run
async def test_a_token_idle_past_its_timeout_is_refused(spot, settings):
    driver = await call(Driver.signed_in)
    idle = timezone.now() - timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS + 1)
    tokens = AuthToken.objects.filter(digest=token_digest(driver.token))
    await call(tokens.update, last_used_at=idle)
    async with connected() as socket:
        await socket.send_json_to(driver.authenticate_frame())
        refused = await receive(socket)

    assert refused == {
        "type": "error",
        "code": "not_authenticated",
        "message": "Token has expired.",
    }


@run
async def test_authenticating_with_since_replays_the_events_missed(spot):
    async with signed_in_socket() as (driver, socket):
        reservation = await call(driver.book, spot)
        seen = (await receive(socket))["seq"]
    await call(drivers.save_card, reservation)
    await call(drivers.extend, reservation)

    async with connected() as socket:
        start = await authenticate(socket, driver.authenticate_frame(since=seen))
        replayed = await events(socket, 2)
        await nothing_more(socket)

    assert start["seq"] == seen + 2
    [current] = start["reservations"]
    assert current["status"] == "confirmed"
    assert replayed == [("confirmed", reservation.pk), ("amended", reservation.pk)]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "authenticate"}, "bad_message"),
        ({"type": "authenticate", "token": 42}, "bad_message"),
        ({"type": "authenticate", "token": "x", "reservation": 1, "email": "a@b.c"}, "bad_message"),
        ({"type": "authenticate", "reservation": "1", "email": "a@b.c"}, "bad_message"),
        ({"type": "authenticate", "reservation": 1}, "bad_message"),
        ({"type": "authenticate", "token": "not-a-token"}, "not_authenticated"),
        ({"type": "authenticate", "token": "x", "since": -1}, "bad_since"),
        ({"type": "subscribe", "bbox": [0, 0, 0.1, 0.1]}, "unknown_type"),
        ("{", "not_json"),
        ([], "bad_message"),
    ],
)
@run
async def test_a_bad_frame_gets_its_error(transactional_db, frame, code):
    async with connected() as socket:
        if isinstance(frame, str):
            await socket.send_to(text_data=frame)
        else:
            await socket.send_json_to(frame)
        answer = await receive(socket)

    assert (answer["type"], answer["code"]) == ("error", code)
    assert answer["message"]


@run
async def test_since_ahead_of_the_last_event_is_refused(transactional_db):
    driver = await call(Driver.signed_in)
    async with connected() as socket:
        await socket.send_json_to(driver.authenticate_frame(since=10**9))
        answer = await receive(socket)

    assert (answer["type"], answer["code"]) == ("error", "bad_since")


@run
async def test_a_frame_too_large_closes_the_socket_with_1009(transactional_db, settings):
    async with connected() as socket:
        await socket.send_json_to(
            {"type": "authenticate", "token": "x" * settings.LIVE_MAX_FRAME_BYTES}
        )
        assert (await receive(socket))["code"] == "frame_too_large"
        assert await closing_code(socket) == 1009


@run
async def test_too_many_messages_a_second_close_the_socket_with_1008(transactional_db, settings):
    settings.LIVE_MAX_MESSAGES_PER_SECOND = 2
    async with connected() as socket:
        for _ in range(2):
            await socket.send_json_to({"type": "ping"})
            assert await receive(socket) == {"type": "pong"}
        await socket.send_json_to({"type": "ping"})
        assert (await receive(socket))["code"] == "too_many_messages"
        assert await closing_code(socket) == 1008


@pytest.fixture(params=["in-memory", "redis"])
def layer_forgetting_groups_after_a_second(request, settings) -> None:
    if request.param == "in-memory":
        backend, config = "channels.layers.InMemoryChannelLayer", {}
    else:
        if not settings.REDIS_URL:
            unavailable("needs Redis (REDIS_URL) for channels-redis")
        backend, config = "channels_redis.core.RedisChannelLayer", {"hosts": [settings.REDIS_URL]}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend, "CONFIG": {**config, "group_expiry": 1}}
    }


@run
async def test_a_socket_open_longer_than_the_layers_group_expiry_still_receives(
    spot, layer_forgetting_groups_after_a_second
):
    async with signed_in_socket() as (driver, socket):
        # Time passing is what is tested here: three times as long as the layer keeps a group
        # membership that is not added again.
        await asyncio.sleep(3)
        reservation = await call(driver.book, spot)

        assert await events(socket, 1) == [("created", reservation.pk)]
