"""The live map as its users meet it: real servers (gunicorn for the API and the admin, uvicorn
for the sockets, a Celery worker and beat for the clock), on the test's PostgreSQL, RabbitMQ and
Redis; changes made over HTTP, or by the engine, and seen by a real WebSocket client."""

import re
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from bench.server import memory_of
from live.tests.map_clients import DEADLINE, MapClient, Site, socket_url
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from reservations.tests.workers import (
    engine_fixture,  # noqa: F401 (a fixture)
    wait_until,
)
from spots.models import ParkingSpot
from spots.selectors import current_seq
from spots.services import set_spots_active
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Issue 8: a change reaches the maps within a second of its commit.
WITHIN_A_SECOND = 1.0
A_MINUTE_POLL = 60
METRICS_TOKEN = "live-metrics-token"
# A round of withdrawing and offering these spots sends a client about 200 KB (their JSON);
# the kernel takes a few MB for a client that does not read before the server cannot write.
SLOW_CLIENT_SPOTS = 1000
MISSED_ROUNDS = 20
MEMORY_GROWTH_MB = 10


def guest_email() -> str:
    return f"driver-{uuid.uuid4().hex[:12]}@example.com"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def servers(engine):
    """The web server and one socket server: (Site, socket URL)."""
    web, sockets = engine.start_web(), engine.start_socket()
    return Site(web.node), socket_url(sockets.node)


def test_a_booking_over_http_reaches_the_map_as_taken_within_a_second(servers, inside):
    site, url = servers
    with MapClient(url) as map_:
        map_.subscribe()

        status, reservation = site.book(inside.id, guest_email())
        changes = map_.next_changes(timeout=WITHIN_A_SECOND)

    assert status == 201
    assert changes["taken"] == [inside.id]
    assert reservation["parking_spot"] == inside.id


def test_a_booking_reaches_the_map_at_its_commit_not_at_the_relays_next_poll(engine, inside):
    """The commit's NOTIFY wakes the relay: with its poll a minute apart, a booking still
    reaches the map within a second."""
    site = Site(engine.start_web().node)
    sockets = engine.start_socket(LIVE_POLL_SECONDS=str(A_MINUTE_POLL))
    with MapClient(socket_url(sockets.node)) as map_:
        map_.subscribe()

        site.book(inside.id, guest_email())
        changes = map_.next_changes(timeout=WITHIN_A_SECOND)

    assert changes["taken"] == [inside.id]


def test_deleting_an_unpaid_hold_over_http_reaches_the_map_as_freed(servers, inside):
    site, url = servers
    email = guest_email()
    _, reservation = site.book(inside.id, email)
    with MapClient(url) as map_:
        map_.subscribe()
        assert inside.id not in map_.shown

        assert site.cancel(reservation["id"], email) == 204
        changes = map_.next_changes(timeout=WITHIN_A_SECOND)

    assert [spot["id"] for spot in changes["freed"]] == [inside.id]
    assert inside.id in map_.shown


@pytest.fixture
def spot_whose_commits_fail(transactional_db):
    """A spot in the box whose every transaction that writes an availability event of it fails
    at its commit, after the event was written (a deferred constraint trigger): what any
    failure at the commit does. The trigger is dropped afterwards."""
    spot = ParkingSpotFactory(lat="40.757000", lng="-73.986000")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION live_test_refuse_commit() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the commit failed' USING ERRCODE = 'check_violation'; "
            "END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE CONSTRAINT TRIGGER live_test_refuse_commit AFTER INSERT ON "
            "spots_availabilityevent DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"WHEN (NEW.spot_id = {int(spot.pk)}) EXECUTE FUNCTION live_test_refuse_commit()"
        )
    yield spot
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS live_test_refuse_commit ON spots_availabilityevent")
        cursor.execute("DROP FUNCTION IF EXISTS live_test_refuse_commit()")


def test_bookings_rolled_back_emit_nothing_and_use_no_number(
    servers, inside, spot_whose_commits_fail
):
    site, url = servers
    account = UserFactory()
    spot_for_account = ParkingSpotFactory(lat="40.757000", lng="-73.986000")
    email = guest_email()
    with MapClient(url) as map_:
        map_.subscribe()
        _, reservation = site.book(inside.id, email)
        booked = map_.next_changes()

        double, _ = site.book(inside.id, guest_email())
        # The reservation is inserted, the spot is taken, then the email is found to belong
        # to an account: all of it rolls back.
        account_email, answer = site.book(spot_for_account.id, account.email)
        # The booking and its event are written; the commit fails.
        failed_commit, _ = site.book(spot_whose_commits_fail.id, guest_email())
        site.cancel(reservation["id"], email)
        next_change = map_.next_changes()

    assert (double, account_email, failed_commit) == (400, 400, 500)
    assert "email" in answer
    assert booked["taken"] == [inside.id]
    assert next_change["from_seq"] == booked["seq"]
    assert next_change["seq"] == booked["seq"] + 1 == current_seq()
    assert next_change["taken"] == []
    assert [spot["id"] for spot in next_change["freed"]] == [inside.id]


def test_the_engine_ending_a_reservation_at_its_end_time_reaches_the_map_as_freed(
    engine, servers, inside
):
    _, url = servers
    engine.start(workers=1, beats=1)
    now = timezone.now()
    end = now + timedelta(seconds=3)
    ReservationFactory(
        confirmed=True,
        spot=inside,
        start_time=now - timedelta(hours=1),
        end_time=end,
        announced=Reservation.Announced.START,  # as booked: its start is on the map
    )
    with MapClient(url) as map_:
        map_.subscribe()
        assert inside.id not in map_.shown

        changes = map_.next_changes()
        received_at = timezone.now()

    assert [spot["id"] for spot in changes["freed"]] == [inside.id]
    assert received_at >= end


def test_an_advance_bookings_start_reaches_the_map_as_taken_by_the_clock_sweep(
    engine, servers, inside
):
    site, url = servers
    engine.start(workers=1, beats=1)
    with MapClient(url) as map_:
        map_.subscribe()
        start = timezone.now() + timedelta(seconds=3)

        status, _ = site.book(inside.id, guest_email(), start_time=iso(start))
        changes = map_.next_changes()
        received_at = timezone.now()

    assert status == 201
    assert changes["taken"] == [inside.id]
    assert received_at >= start


def test_an_operator_withdrawing_offering_and_repricing_a_spot_in_the_admin_reaches_the_map(
    servers, inside
):
    site, url = servers
    operator = UserFactory(is_staff=True, is_superuser=True)
    # Hashed as the server hashes: the tests' own hasher is a fast one the server lacks.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=operator.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    site.sign_in_to_admin(operator.email, PASSWORD)
    with MapClient(url) as map_:
        map_.subscribe()

        site.admin_action("deactivate", [inside.id])
        withdrawn = map_.next_changes()
        site.admin_action("activate", [inside.id])
        offered = map_.next_changes()
        site.admin_edit_spot(
            inside.id, lat=str(inside.lat), lng=str(inside.lng), rate="7.25", active="on"
        )
        repriced = map_.next_changes()

    assert withdrawn["taken"] == [inside.id]
    assert [spot["id"] for spot in offered["freed"]] == [inside.id]
    assert [(spot["id"], spot["rate"]) for spot in repriced["updated"]] == [(inside.id, "7.25")]


def test_a_client_that_stops_reading_is_sent_the_present_not_every_change(engine):
    """The server writes one message at a time to a socket. While the client does not read,
    the changes queue for it up to LIVE_REPLAY_LIMIT events; beyond, they are dropped and the
    client is owed a snapshot, sent once it reads. The server's memory does not grow with what
    the client misses, and a client that reads is not held up."""
    sockets = engine.start_socket(
        # The stalled client answers no ping: the server would close it after 40 s otherwise.
        "--ws-ping-interval=600",
        LIVE_REPLAY_LIMIT="2500",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    spots = ParkingSpot.objects.filter(
        pk__in=[spot.pk for spot in ParkingSpotFactory.create_batch(SLOW_CLIENT_SPOTS)]
    )
    url = socket_url(sockets.node)
    with MapClient(url, receive_buffer=4096) as stalled, MapClient(url) as reading:
        stalled.subscribe()
        reading.subscribe()
        stalled_at = len(stalled.received)

        def withdraw_and_offer_every_spot() -> None:
            set_spots_active(spots=spots, active=False)
            set_spots_active(spots=spots, active=True)
            # Each round is relayed before the next: no single batch exceeds the limit.
            reading.current_through(current_seq())

        def client_dropped() -> bool:
            withdraw_and_offer_every_spot()
            return metric(sockets.node, "securemyspot_live_snapshots_resent_total") >= 1

        wait_until(client_dropped, "the server gives up on the client that does not read")
        memory_when_dropped = memory_of(sockets.popen.pid).rss_mb
        for _ in range(MISSED_ROUNDS):
            withdraw_and_offer_every_spot()
        memory_after = memory_of(sockets.popen.pid).rss_mb

        stalled.current_through(current_seq())  # it reads again

    available = set(ParkingSpot.objects.filter(active=True).values_list("pk", flat=True))
    assert "snapshot" in [message["type"] for message in stalled.received[stalled_at:]]
    assert stalled.shown == reading.shown == available
    assert {message["type"] for message in reading.received[1:]} == {"changes"}
    # Unbounded, the socket would hold every event it missed meanwhile: MISSED_ROUNDS x 2 x
    # SLOW_CLIENT_SPOTS events, with their spots' JSON as Python objects, over 20 MB.
    assert memory_after - memory_when_dropped < MEMORY_GROWTH_MB


def test_the_socket_servers_metrics_count_its_open_sockets(engine):
    sockets = engine.start_socket(METRICS_TOKEN=METRICS_TOKEN)

    with MapClient(socket_url(sockets.node)) as map_:
        map_.subscribe()
        open_sockets = metric(sockets.node, "securemyspot_live_open_sockets")
        snapshots = metric(sockets.node, 'securemyspot_live_messages_sent_total{type="snapshot"}')

    assert open_sockets == 1
    assert snapshots == 1
    wait_until(
        lambda: metric(sockets.node, "securemyspot_live_open_sockets") == 0,
        "the closed socket is no longer counted",
    )


def metric(node: str, sample: str) -> float:
    """A sample of the server's /metrics (0 when it is absent)."""
    request = urllib.request.Request(
        f"{node}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=DEADLINE) as response:
        text = response.read().decode()
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_socket_server_killed_mid_stream_loses_nothing_for_a_client_resuming_since(
    engine, inside
):
    site = Site(engine.start_web().node)
    first = engine.start_socket()
    email = guest_email()
    with MapClient(socket_url(first.node)) as map_:
        map_.subscribe()
        _, reservation = site.book(inside.id, email)
        seen = map_.next_changes()["seq"]
        first.kill()  # under the open socket
        # Freed while no socket server runs: the event waits in the database.
        assert site.cancel(reservation["id"], email) == 204
    second = engine.start_socket()
    with MapClient(socket_url(second.node)) as map_:
        resumed = map_.subscribe(since=seen)

    assert resumed["type"] == "changes"
    assert (resumed["from_seq"], resumed["seq"]) == (seen, seen + 1)
    assert [spot["id"] for spot in resumed["freed"]] == [inside.id]


def test_two_socket_servers_both_deliver_one_booking(engine, inside):
    site = Site(engine.start_web().node)
    first, second = engine.start_socket(), engine.start_socket()
    with MapClient(socket_url(first.node)) as one, MapClient(socket_url(second.node)) as other:
        one.subscribe()
        other.subscribe()

        site.book(inside.id, guest_email())

        assert one.next_changes()["taken"] == other.next_changes()["taken"] == [inside.id]
