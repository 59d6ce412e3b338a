"""Scale-out, as production runs it: two web servers (gunicorn) and two workers over one
PostgreSQL, RabbitMQ and Redis, with localstripe for Stripe. Guests book, save a card, confirm
and end their reservations through both servers at once; mid-load one server and one worker die
with SIGKILL, process group and all. Nothing a driver was told is lost or doubled, and every
ended reservation is charged once and emailed once (but for what the killed worker was sending:
see the end of the test).

A driver whose server is gone does what a load balancer does for it: the same request on the
other server, if the dead one refused the connection, or, if it died under the request, for the
steps that are safe to repeat (the card setup, confirming, ending). A booking that died under
way is not repeated, and must leave either a complete reservation or nothing. The killed
worker's leased charges and emails are taken up by the minute sweeps once the leases lapse; the
test plays those sweeps at that later time, as test_engine_worker_killed does.
"""

import http.client
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from notifications.services import CLAIM_LEASE, deliver_pending_emails
from payments.models import Charge
from payments.services.charging import CHARGE_LEASE, retry_due_charges
from payments.tests.fake_stripe import FakeStripe
from reservations.models import Reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    CeleryProcess,
    Engine,
    engine_fixture,
    fake_stripe_fixture,
    finalised,
    localstripe_url_fixture,
    payment_intents_by_charge,
    wait_until,
)
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DRIVERS = 6  # client threads, each a driver after another
BOOKINGS = 60
KILLED_AFTER = BOOKINGS // 4  # finished drivers when a server and a worker are killed
# A dollar a minute: a reservation ended in its first minute is still above the minimum charge,
# so every ended reservation has a PaymentIntent to count at localstripe.
RATE = Decimal("60.00")
REQUEST_TIMEOUT_S = 30
ENDED_SUBJECT = "Reservation Has Ended"


class ServerGone(Exception):
    """The connection failed or broke before an answer came."""


class ServerRefused(ServerGone):
    """No server took the connection: the request never reached one."""


@dataclass
class Answer:
    status: int
    body: dict


@dataclass
class Drive:
    """One driver's booking, as the driver saw it."""

    spot_id: int
    email: str
    reservation_id: int | None = None  # a 201 named it
    booking_lost: bool = False  # the booking's server died before answering
    ended: bool = False  # the end was answered 204 (or, asked again, "already ended")
    errors: list[str] = field(default_factory=list)


@dataclass
class Servers:
    """The web servers, by URL; a driver prefers one and turns to the other when it fails."""

    urls: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    connection_errors: int = 0

    def call(self, method: str, path: str, prefer: int, body: dict | None = None) -> Answer:
        """``method path`` on the preferred server, or, if it fails, on the other."""
        try:
            return self.call_once(method, path, self.urls[prefer], body)
        except ServerGone:
            return self.call_once(method, path, self.urls[1 - prefer], body)

    def call_once(self, method: str, path: str, url: str, body: dict | None = None) -> Answer:
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT_S)
        try:
            connection.request(
                method,
                path,
                json.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.connection_errors += 1
            gone = ServerRefused if isinstance(error, ConnectionRefusedError) else ServerGone
            raise gone(f"{method} {path} at {url}: {error!r}") from error
        finally:
            connection.close()
        return Answer(response.status, json.loads(raw) if raw else {})


def drive(servers: Servers, stripe_url: str, spot_id: int, number: int) -> Drive:
    """Book a spot as a guest, save a card at localstripe, confirm, and end the reservation
    at once, alternating servers from one driver to the next."""
    prefer = number % 2
    seen = Drive(spot_id=spot_id, email=f"scale-{number}@example.com")
    booking = {"reservation": {"email": seen.email, "reservation_length": 30}}
    try:
        booked = servers.call_once(
            "POST", f"/reservation-unauth/{spot_id}/", servers.urls[prefer], booking
        )
    except ServerRefused:
        booked = servers.call_once(
            "POST", f"/reservation-unauth/{spot_id}/", servers.urls[1 - prefer], booking
        )
    except ServerGone as error:
        seen.booking_lost = True
        seen.errors.append(str(error))
        return seen
    if booked.status != 201:
        seen.errors.append(f"booking: {booked.status} {booked.body}")
        return seen
    seen.reservation_id = booked.body["id"]
    guest = f"{seen.reservation_id}/{seen.email}/"
    try:
        intent = servers.call("POST", f"/create-payment-intent-unauth/{guest}", prefer)
        assert intent.status == 201, intent
        assert FakeStripe(stripe_url).save_card(intent.body["clientSecret"]) == "succeeded"
        confirmed = servers.call("GET", f"/confirm-successful-setup-intent-unauth/{guest}", prefer)
        assert confirmed.status == 204, confirmed
        ended = servers.call("DELETE", f"/delete-reservation-unauth/{guest}", prefer)
    except ServerGone as error:
        seen.errors.append(str(error))
        return seen
    # 400: an earlier attempt, on the server that died, ended it before the answer was lost.
    seen.ended = ended.status == 204 or (ended.status == 400 and "ended" in str(ended.body))
    if not seen.ended:
        seen.errors.append(f"end: {ended.status} {ended.body}")
    return seen


def kill_a_server_and_a_worker_mid_load(
    finished: list, web: CeleryProcess, worker: CeleryProcess
) -> datetime:
    wait_until(lambda: len([f for f in finished if f.done()]) >= KILLED_AFTER, "drivers book")
    web.kill()
    worker.kill()
    return timezone.now()


def settle_what_the_killed_worker_left(killed_at: datetime) -> None:
    """Once no live worker holds a charge or an email, play the minute sweeps as they run when
    the killed worker's leases have lapsed. They take up what it held, and what a killed server
    committed without queuing its task; the leases keep them off anything a live worker took
    since."""
    charges_lapse, emails_lapse = killed_at + CHARGE_LEASE, killed_at + CLAIM_LEASE

    def nothing_held_by_a_live_worker() -> bool:
        charging = Charge.objects.filter(claimed_until__gt=charges_lapse)
        sending = OutboundEmail.objects.filter(sent_at__isnull=True, claimed_until__gt=emails_lapse)
        return not charging.exists() and not sending.exists()

    wait_until(nothing_held_by_a_live_worker, "the live workers finish what they hold")
    retry_due_charges(now=charges_lapse + timedelta(seconds=1))
    deliver_pending_emails(now=emails_lapse + timedelta(seconds=1))


def test_two_servers_and_two_workers_lose_nothing_and_repeat_nothing_when_one_of_each_dies(
    engine: Engine, fake_stripe, settings
):
    # The test's own sweep delivers to the same mail sink as the workers.
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(engine.mail_dir)
    spots = [ParkingSpotFactory(rate=RATE).pk for _ in range(BOOKINGS)]
    doomed_worker, _ = engine.start(workers=2, beats=1)[:2]
    doomed_web, surviving_web = engine.start_web(), engine.start_web()
    servers = Servers([doomed_web.node, surviving_web.node])

    with ThreadPoolExecutor(max_workers=DRIVERS) as drivers:
        futures = [
            drivers.submit(drive, servers, fake_stripe.url, spot_id, number)
            for number, spot_id in enumerate(spots)
        ]
        killed_at = kill_a_server_and_a_worker_mid_load(futures, doomed_web, doomed_worker)
        drives = [future.result() for future in futures]

    booked = [d for d in drives if d.reservation_id is not None]
    ended_ids = [d.reservation_id for d in drives if d.ended]
    settle_what_the_killed_worker_left(killed_at)
    wait_until(lambda: all(finalised(pk) for pk in ended_ids), "every end is charged and emailed")

    rows = Reservation.objects.all()
    emails = engine.sent_emails()
    sent = Counter((message["Subject"], message["To"]) for message in emails)
    intents = payment_intents_by_charge(fake_stripe)
    lost = [d for d in drives if d.booking_lost]
    print(
        f"\nscale-out: {len(drives)} drivers, {len(booked)} bookings answered 201, "
        f"{len(lost)} lost with the server "
        f"({rows.filter(email__in=[d.email for d in lost]).count()} of them left a row), "
        f"{len(ended_ids)} ended, "
        f"{Charge.objects.count()} charges, {sum(map(len, intents.values()))} PaymentIntents, "
        f"{len(emails)} emails ({sum(sent.values()) - len(sent)} sent twice), "
        f"{servers.connection_errors} connection errors seen by drivers"
    )
    assert servers.connection_errors, "the server was killed after the load, not during it"
    assert [e for d in drives if not d.booking_lost for e in d.errors] == []

    # Nothing lost, nothing doubled: each 201 has its row, on its spot, for its driver.
    by_id = {row.pk: row for row in rows}
    assert {d.reservation_id: (d.spot_id, d.email) for d in booked} == {
        pk: (by_id[pk].spot_id, by_id[pk].email) for pk in (d.reservation_id for d in booked)
    }
    assert Counter(row.email for row in rows).most_common(1)[0][1] == 1
    # A booking whose server died left a whole pending reservation, or nothing.
    for drive_lost in lost:
        for row in rows.filter(email=drive_lost.email):
            assert (row.spot_id, row.status) == (
                drive_lost.spot_id,
                Reservation.Status.PENDING_PAYMENT,
            )
            assert row.hold_expires_at is not None
            assert row.rate == RATE

    # Every ended reservation: ended, one charge with its outcome, one PaymentIntent, one email.
    assert set(rows.filter(status=Reservation.Status.ENDED).values_list("pk", flat=True)) == set(
        ended_ids
    )
    charges = Charge.objects.filter(pk__in=ended_ids)
    assert sorted(charges.values_list("pk", "status")) == [
        (pk, Charge.Status.SUCCEEDED) for pk in sorted(ended_ids)
    ]
    assert {pk: len(intents[pk]) for pk in ended_ids} == {pk: 1 for pk in ended_ids}
    receipts = OutboundEmail.objects.filter(kind=EmailKind.ENDED, sent_at__isnull=False)
    assert sorted(receipts.values_list("reservation_id", flat=True)) == sorted(ended_ids)
    ended_emails = {d.email for d in drives if d.ended}
    assert {to for subject, to in sent if subject == ENDED_SUBJECT} == ended_emails
    # The mail server got each email once: a message is recorded sent as soon as the server
    # accepts it, so the killed worker's batch leaves nothing it had sent to be sent again.
    assert [email for email, times in sent.items() if times > 1] == []
