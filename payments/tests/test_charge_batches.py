"""The engine charges ended reservations in batches (one task per batch, one transaction to
claim them and one to record the answers): a batch run twice, late, or beside another charges
each reservation once, settles each as its card allows, and lets nothing it could not finish
wait on a lease."""

from collections import Counter

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from payments.models import Charge, SandboxPaymentIntent
from payments.services import charging
from payments.tests.charging import (
    AUTHENTICATION_REQUIRED,
    DECLINED_WHEN_CHARGED,
    WorkerKilled,
    ended_reservation,
    ended_with_card_at_stripe,
    ended_with_card_in_sandbox,
)
from payments.tests.fake_stripe import free_port
from reservations.models import Reservation
from securemyspot.errors import ServiceUnavailable

pytestmark = pytest.mark.django_db


def intents_per_charge() -> Counter[str]:
    return Counter(intent.metadata["charge_id"] for intent in SandboxPaymentIntent.objects.all())


def test_a_batch_run_twice_charges_each_reservation_once_and_emails_each_driver_once(
    sandbox, django_capture_on_commit_callbacks, mailoutbox
):
    reservations = [ended_with_card_in_sandbox(amount_cents=300 + i) for i in range(5)]
    ids = [reservation.pk for reservation in reservations]

    with django_capture_on_commit_callbacks(execute=True):
        first = charging.charge_for_reservations(reservation_ids=ids)
        second = charging.charge_for_reservations(reservation_ids=ids)

    assert [charge.status for charge in first] == [Charge.Status.SUCCEEDED] * 5
    assert [charge.status for charge in second] == [Charge.Status.SUCCEEDED] * 5
    assert intents_per_charge() == {str(pk): 1 for pk in ids}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in reservations)
    assert {m.subject for m in mailoutbox} == {"Reservation Has Ended"}


def test_a_batch_settles_each_reservation_as_its_card_allows(
    sandbox, django_capture_on_commit_callbacks, mailoutbox
):
    paid = ended_with_card_in_sandbox(amount_cents=450)
    declined = ended_with_card_in_sandbox(card=DECLINED_WHEN_CHARGED)
    authenticate = ended_with_card_in_sandbox(card=AUTHENTICATION_REQUIRED)
    waived = ended_with_card_in_sandbox(amount_cents=30)
    no_card = ended_reservation()
    batch = [paid, declined, authenticate, waived, no_card]

    with django_capture_on_commit_callbacks(execute=True):
        charging.charge_for_reservations(reservation_ids=[r.pk for r in batch])

    charges = Charge.objects.in_bulk([r.pk for r in batch])
    assert [charges[r.pk].status for r in batch] == [
        Charge.Status.SUCCEEDED,
        Charge.Status.FAILED,
        Charge.Status.REQUIRES_ACTION,
        Charge.Status.WAIVED,
        Charge.Status.FAILED,
    ]
    assert charges[no_card.pk].needs_attention
    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in batch] == [
        Reservation.Status.ENDED,
        Reservation.Status.PAYMENT_FAILED,
        Reservation.Status.PAYMENT_FAILED,
        Reservation.Status.ENDED,
        Reservation.Status.PAYMENT_FAILED,
    ]
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert [subjects[r.email] for r in batch] == [
        "Reservation Has Ended",
        "Payment Failed: Action Needed",
        "Payment Failed: Action Needed",
        "Reservation Has Ended",
        "Payment Failed: Action Needed",
    ]
    assert len(mailoutbox) == len(batch)


def test_reservations_not_ended_are_left_out_of_a_batch(sandbox):
    ended = ended_with_card_in_sandbox()
    live = ended_with_card_in_sandbox()
    Reservation.objects.filter(pk=live.pk).update(status=Reservation.Status.CONFIRMED)

    charges = charging.charge_for_reservations(reservation_ids=[ended.pk, live.pk])

    assert [charge.pk for charge in charges] == [ended.pk]
    assert not Charge.objects.filter(pk=live.pk).exists()


def test_a_batch_out_of_time_queues_what_it_did_not_send_as_a_task_of_its_own(
    sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    ids = sorted(ended_with_card_in_sandbox().pk for _ in range(3))
    monkeypatch.setattr(charging, "CHARGE_BATCH_SECONDS", 0)

    with django_capture_on_commit_callbacks() as queued_tasks:
        charging.charge_for_reservations(reservation_ids=ids)

    charges = Charge.objects.in_bulk(ids)
    assert charges[ids[0]].status == Charge.Status.SUCCEEDED
    assert [
        (charges[pk].status, charges[pk].claimed_until, charges[pk].last_sent_at, charges[pk].tries)
        for pk in ids[1:]
    ] == [(Charge.Status.PENDING, None, None, 0)] * 2  # as before the claim
    with django_capture_on_commit_callbacks(execute=True):
        for task in queued_tasks:
            task()
    assert set(Charge.objects.values_list("status", flat=True)) == {Charge.Status.SUCCEEDED}
    assert intents_per_charge() == {str(pk): 1 for pk in ids}


def test_stripe_going_down_mid_batch_keeps_the_answers_and_releases_the_rest(
    fake_stripe, settings, monkeypatch
):
    ids = sorted(ended_with_card_at_stripe(fake_stripe).pk for _ in range(3))
    send = charging._send_charge
    sent = []

    def stripe_down_after_the_first(gateway, charge, *, now):
        if sent:
            settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
        sent.append(charge.pk)
        return send(charging.get_gateway(), charge, now=now)

    monkeypatch.setattr(charging, "_send_charge", stripe_down_after_the_first)
    with pytest.raises(ServiceUnavailable):
        charging.charge_for_reservations(reservation_ids=ids)
    monkeypatch.undo()

    charges = Charge.objects.in_bulk(ids)
    assert [charges[pk].status for pk in ids] == [
        Charge.Status.SUCCEEDED,  # answered before Stripe went down: recorded
        Charge.Status.RETRYING,  # the call that failed: due again later
        Charge.Status.PENDING,  # never sent: free for the next run at once
    ]
    assert [charges[pk].claimed_until for pk in ids] == [None, None, None]
    settings.STRIPE_API_BASE = fake_stripe.url
    charging.charge_for_reservations(reservation_ids=ids)
    assert Charge.objects.get(pk=ids[2]).status == Charge.Status.SUCCEEDED
    assert [len(fake_stripe.payment_intents_of(pk)) for pk in (ids[0], ids[2])] == [1, 1]


def test_a_batch_whose_worker_died_before_recording_is_taken_up_once_its_leases_lapse(
    fake_stripe, monkeypatch
):
    ids = [ended_with_card_at_stripe(fake_stripe).pk for _ in range(3)]

    def killed(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(charging, "record_charge_results", killed)
        with pytest.raises(WorkerKilled):
            charging.charge_for_reservations(reservation_ids=ids)
    assert charging.charge_for_reservations(reservation_ids=ids) == list(
        Charge.objects.filter(pk__in=ids, status=Charge.Status.PENDING).order_by("pk")
    )  # still leased to the dead worker: nobody sends them again
    assert charging.retry_due_charges(now=timezone.now() + charging.CHARGE_LEASE) == 3

    for pk in ids:
        assert len(fake_stripe.payment_intents_of(pk)) == 1
    assert OutboundEmail.objects.filter(kind=EmailKind.ENDED).count() == 3
