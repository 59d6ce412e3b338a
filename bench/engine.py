"""The end-of-reservation engine: ending reservations on time, charging them, emailing receipts.

On PostgreSQL and RabbitMQ, with a Celery worker of 2 processes and beat, as the Procfile runs
them (the sweep every 2 s):

(a) capacity: 10,000 confirmed reservations ending within the same minute, charged through the
    sandbox gateway, so that a fake Stripe's own speed does not hide the engine's: the lag from
    each end time to the reservation ended, to its charge recorded and to its receipt sent;
    reservations finalised per second; charges against what is chargeable; duplicates;
(b) the real SDK path: 1,000 reservations charged through localstripe, beside localstripe's own
    rate for the same PaymentIntents made one at a time with the SDK (the ceiling), measured on
    a twin localstripe holding the same customers and cards.

The reservations are written straight into the database as the card step leaves them
(confirmed, with a customer and a saved card), so no end-time task is queued for them: the
sweep alone ends them.
"""

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.rows import namedtuple_row

from bench.broker import Broker, scratch_broker
from bench.databases import (
    Database,
    active_spots,
    empty_tables,
    seeded_database,
    server_version,
)
from bench.options import Options
from bench.processes import CpuAccount, cpu_table, pids_named
from bench.project import DjangoProcess, django_env, scratch_dir
from bench.stats import Check, checks_table, heading, machine_load, percentile, say, software, table
from bench.stripe_server import Localstripe
from bench.worker import WORKER_PROCESSES, CeleryEngine, TaskRuns

DATABASE, SPOTS = "securemyspot_bench_engine", 10_000
VHOST = "securemyspot-bench-engine"
SWEEP_SECONDS = "2"
LENGTH_SEED = 42
SHORTEST_MINUTES, LONGEST_MINUTES = 1, 120  # the shortest fall under the minimum charge
# Time to write the reservations before the first of them ends.
FIRST_END_AFTER = timedelta(seconds=45)
POLL_S = 2.0
PROGRESS_EVERY_S = 10.0
FINALISE_CAP = timedelta(minutes=10)  # after the last end time, the run is cut off
INSERT_TIMEOUT_S = 600.0
STRIPE_TIMEOUT_S = 1800.0  # saving cards and the ceiling's charges, at localstripe's pace
PEAK_WINDOW_S = 10

CAPACITY_RESERVATIONS = 10_000
CAPACITY_END_WINDOW = timedelta(minutes=1)
LAG_P99_UNDER_S = 10.0

STRIPE_RESERVATIONS = 1_000
STRIPE_END_WINDOW = timedelta(seconds=5)
STRIPE_CARD_LABELS = ("driver", "ceiling")
FOR_SCALE_CEILING = "about 50 PaymentIntents/s single-threaded, slower with concurrent callers"

SWEEP_TASK = "reservations.tasks.end_due_reservations"
SETTLED_CHARGES = ("succeeded", "waived", "requires_action", "failed")
SENT_EMAIL_KINDS = ("ended", "payment_failed")
# Every row the engine writes, and the sandbox's cards and payments; the spots stay.
ENGINE_TABLES = (
    "reservations_reservation",
    "payments_sandboxcustomer",
    "payments_sandboxpaymentmethod",
    "payments_sandboxsetupintent",
    "payments_stripecustomer",
)
MAIL_SEPARATOR = "-" * 79  # Django's file email backend writes it after each message


@dataclass(frozen=True)
class Outcome:
    """What the engine made of one run's reservations, read back from the database."""

    reservations: int
    chargeable: int
    ended_lags_s: list[float]
    finalised_lags_s: list[float]  # end time to the charge recorded: paid, waived or failed
    emailed_lags_s: list[float]  # end time to the receipt sent
    finalised_at: list[datetime]
    first_end: datetime
    charges_paid: int
    charges_waived: int
    charges_other: int
    emails_sent: int
    emails_sent_twice: int  # claimed again after a send: possibly sent twice

    @property
    def span_s(self) -> float:
        """From the first end time to the last charge recorded."""
        if not self.finalised_at:
            return math.nan
        return (max(self.finalised_at) - self.first_end).total_seconds()

    @property
    def finalised_per_second(self) -> float:
        return len(self.finalised_at) / self.span_s

    def busiest_per_second(self, window_s: int) -> float:
        """The most finalised within any ``window_s`` seconds (whole seconds from the first
        end), per second."""
        per_second: dict[int, int] = {}
        for moment in self.finalised_at:
            second = int((moment - self.first_end).total_seconds())
            per_second[second] = per_second.get(second, 0) + 1
        if not per_second:
            return 0.0
        return (
            max(
                sum(per_second.get(second, 0) for second in range(start, start + window_s))
                for start in per_second
            )
            / window_s
        )


def run(options: Options) -> list[Check]:
    heading("Engine: database")
    database = seeded_database(DATABASE, spots=SPOTS, reseed=options.reseed)
    spot_ids = [spot_id for spot_id, _ in active_spots(database, SPOTS)]
    _print_environment()
    with scratch_broker(VHOST) as broker:
        checks = _capacity(database, broker, spot_ids)
        checks += _stripe_path(database, broker, spot_ids)
    return checks


def _print_environment() -> None:
    heading("Engine: environment")
    print(f"  {software('Django', 'celery', 'kombu', 'psycopg', 'stripe', 'localstripe')}")
    print(f"  PostgreSQL {server_version()}; RabbitMQ virtual host {VHOST}; Redis")
    print(f"  {machine_load()}")
    print(
        f"  engine: a Celery worker of {WORKER_PROCESSES} prefork processes and beat, the "
        f"sweep every {SWEEP_SECONDS} s (ENGINE_SWEEP_SECONDS)"
    )


def _engine_env(database: Database, broker: Broker, label: str, **stripe: str) -> dict[str, str]:
    mail_dir = _mail_dir(label)
    mail_dir.mkdir()
    no_stripe = dict.fromkeys(
        ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"),
        "",
    )
    return django_env(
        database.url,
        CELERY_BROKER_URL=broker.celery_broker_url,
        REDIS_URL=broker.redis_url,
        # django-environ drops the first slash of the path: four make it absolute.
        EMAIL_URL=f"filemail:///{mail_dir}",
        ENGINE_SWEEP_SECONDS=SWEEP_SECONDS,
        **(no_stripe | stripe),
    )


def _mail_dir(label: str) -> Path:
    return scratch_dir() / f"mail-{label}"


def _ends(count: int, window: timedelta) -> list[datetime]:
    """``count`` end times spread evenly over ``window``, the first ``FIRST_END_AFTER`` on."""
    first = datetime.now(UTC) + FIRST_END_AFTER
    return [first + window * index / count for index in range(count)]


def _lengths(count: int) -> list[int]:
    lengths = random.Random(LENGTH_SEED)
    return [lengths.randint(SHORTEST_MINUTES, LONGEST_MINUTES) for _ in range(count)]


@dataclass(frozen=True)
class EngineRun:
    finished: bool  # every reservation finalised before the cap
    cpu: CpuAccount
    tasks: dict[str, TaskRuns]


def _capacity(database: Database, broker: Broker, spot_ids: Sequence[int]) -> list[Check]:
    count = CAPACITY_RESERVATIONS
    heading(f"(a) Capacity: {count:,} reservations ending within one minute, sandbox gateway")
    empty_tables(database, *ENGINE_TABLES)
    run = _run_engine(
        database,
        _engine_env(database, broker, "sandbox"),
        label="sandbox",
        spot_ids=spot_ids[:count],
        window=CAPACITY_END_WINDOW,
        cards=None,
    )
    outcome = _outcome(database)
    sandbox_intents, sandbox_duplicates = _sandbox_payment_intents(database)
    messages = _mail_messages("sandbox")
    _print_run(outcome, run, count)
    print(
        f"  sandbox PaymentIntents: {sandbox_intents:,}; emails through the mail backend: "
        f"{messages:,}"
    )
    checks = [
        _finalised_check("(a)", outcome, count),
        _lag_check("(a) p99 lag, end to charge recorded", outcome.finalised_lags_s),
        _paid_check("(a)", outcome),
        _duplicates_check("(a)", sandbox_duplicates, sandbox_intents, outcome),
        _emails_check("(a)", outcome, messages),
    ]
    print(checks_table(checks))
    return checks


def _stripe_path(database: Database, broker: Broker, spot_ids: Sequence[int]) -> list[Check]:
    count = STRIPE_RESERVATIONS
    heading(f"(b) Real SDK path: {count:,} reservations charged through localstripe")
    print(f"  for scale, the issue measured localstripe at {FOR_SCALE_CEILING}")
    empty_tables(database, *ENGINE_TABLES)
    with Localstripe("engine") as engine_stripe:
        cards, ceiling = _stripe_ceiling(database, engine_stripe, spot_ids[:count])
        run = _run_engine(
            database,
            _engine_env(
                database,
                broker,
                "stripe",
                PAYMENT_GATEWAY="stripe",
                STRIPE_SECRET_KEY="sk_test_bench",
                STRIPE_API_BASE=engine_stripe.url,
            ),
            label="stripe",
            spot_ids=spot_ids[:count],
            window=STRIPE_END_WINDOW,
            cards=cards,
            localstripe=engine_stripe.pids,
        )
        say("counting the PaymentIntents at localstripe")
        with DjangoProcess(database.url) as django:
            intents_by_charge = django.run(
                "bench.engine_django.payment_intents_per_charge",
                engine_stripe.url,
                timeout_s=STRIPE_TIMEOUT_S,
            )
    outcome = _outcome(database)
    messages = _mail_messages("stripe")
    _print_run(outcome, run, count)
    intents = sum(intents_by_charge.values())
    duplicates = sum(found - 1 for found in intents_by_charge.values() if found > 1)
    engine_rate = outcome.charges_paid / outcome.span_s
    print(
        table(
            ("charges at localstripe", "charges/s", "of the ceiling"),
            [
                (
                    f"engine: {WORKER_PROCESSES} worker processes, end to last charge",
                    f"{engine_rate:,.1f}",
                    f"{engine_rate / ceiling:.0%}",
                ),
                ("ceiling: the same calls one at a time, twin localstripe", f"{ceiling:,.1f}", ""),
            ],
        )
    )
    print(f"  PaymentIntents at localstripe: {intents:,} for {len(intents_by_charge):,} charges")
    checks = [
        _finalised_check("(b)", outcome, count),
        _paid_check("(b)", outcome),
        _duplicates_check("(b)", duplicates, intents, outcome),
        _emails_check("(b)", outcome, messages),
    ]
    print(checks_table(checks))
    return checks


def _run_engine(
    database: Database,
    env: dict[str, str],
    *,
    label: str,
    spot_ids: Sequence[int],
    window: timedelta,
    cards: Sequence[tuple[str, str]] | None,
    localstripe: Callable[[], list[int]] | None = None,
) -> EngineRun:
    """Start the engine, write confirmed reservations of the spots ending over ``window``
    (with ``cards`` saved at localstripe, or sandbox cards), and wait until it has finalised
    them all or the cap is reached."""
    count = len(spot_ids)
    with CeleryEngine(label, env) as engine:
        ends = _ends(count, window)
        where = "at localstripe" if cards is not None else "in the sandbox"
        say(f"writing {count:,} confirmed reservations with cards saved {where}")
        with DjangoProcess(database.url) as django:
            django.run(
                "bench.engine_django.insert_confirmed_reservations",
                spot_ids=spot_ids,
                ends=ends,
                minutes=_lengths(count),
                cards=cards,
                timeout_s=INSERT_TIMEOUT_S,
            )
        say(_first_end_note(ends))
        _sleep_until(ends[0])
        with _cpu_account(engine, localstripe=localstripe) as cpu:
            finished = _wait_until_finalised(database, count, ends)
        return EngineRun(finished=finished, cpu=cpu, tasks=engine.task_runs())


def _stripe_ceiling(
    database: Database, engine_stripe: Localstripe, spot_ids: Sequence[int]
) -> tuple[list[tuple[str, str]], float]:
    """Cards saved for a driver of each spot at the engine's localstripe and at a twin; on the
    twin, the charges the engine is to make (the same fees, of the same number of drivers) one
    after the other through the project's Stripe gateway. Returns the engine's cards and the
    twin's charges per second."""
    count = len(spot_ids)
    with (
        Localstripe("ceiling") as twin,
        DjangoProcess(database.url) as engine_side,
        DjangoProcess(database.url) as twin_side,
    ):
        say(
            f"saving {count:,} cards at each of two localstripes (the engine's and a twin), at once"
        )
        saving = [
            side.start("bench.engine_django.saved_cards_at_stripe", stripe.url, count, label)
            for side, stripe, label in zip(
                (engine_side, twin_side), (engine_stripe, twin), STRIPE_CARD_LABELS, strict=True
            )
        ]
        cards, twin_cards = (future.result(timeout=STRIPE_TIMEOUT_S) for future in saving)
        fees = twin_side.run(
            "bench.engine_django.chargeable_fees", spot_ids=spot_ids, minutes=_lengths(count)
        )
        say(f"ceiling: {len(fees):,} off-session charges one at a time at the twin")
        latencies, succeeded = twin_side.run(
            "bench.engine_django.charge_saved_cards",
            twin.url,
            twin_cards[: len(fees)],
            fees,
            timeout_s=STRIPE_TIMEOUT_S,
        )
    ceiling = len(latencies) / sum(latencies)
    first = latencies[:100]
    print(
        f"  ceiling: {ceiling:,.1f} PaymentIntents/s over all {len(latencies):,} "
        f"({succeeded:,} succeeded); the first {len(first)}: {len(first) / sum(first):,.1f}/s, "
        f"the last {len(first)}: {len(first) / sum(latencies[-100:]):,.1f}/s"
    )
    return cards, ceiling


def _first_end_note(ends: Sequence[datetime]) -> str:
    lead = (ends[0] - datetime.now(UTC)).total_seconds()
    span = (ends[-1] - ends[0]).total_seconds()
    return f"the first ends in {lead:.0f} s, the last {span:.0f} s after it"


def _sleep_until(moment: datetime) -> None:
    time.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))


def _cpu_account(
    engine: CeleryEngine, *, localstripe: Callable[[], list[int]] | None = None
) -> CpuAccount:
    groups: dict[str, Callable[[], Sequence[int]]] = {
        f"Celery worker ({WORKER_PROCESSES} processes + consumer)": engine.worker_pids,
        "Celery beat": engine.beat_pids,
        "PostgreSQL (whole server)": lambda: pids_named("postgres"),
        "RabbitMQ (whole broker)": lambda: pids_named("beam.smp"),
        "Redis (whole server)": lambda: pids_named("redis-server"),
    }
    if localstripe is not None:
        groups["localstripe"] = localstripe
    return CpuAccount(groups)


def _progress(connection: psycopg.Connection) -> tuple[int, int, int]:
    """Reservations ended, charges settled, receipts sent, so far."""
    return connection.execute(
        "SELECT"
        " (SELECT count(*) FROM reservations_reservation WHERE finished_at IS NOT NULL),"
        " (SELECT count(*) FROM payments_charge WHERE status = ANY(%s)),"
        " (SELECT count(*) FROM notifications_outboundemail WHERE sent_at IS NOT NULL)",
        (list(SETTLED_CHARGES),),
    ).fetchone()


def _wait_until_finalised(database: Database, count: int, ends: Sequence[datetime]) -> bool:
    """Until every reservation is ended, charged and emailed, or the cap after the last end
    time; whether all were."""
    # One connection throughout, autocommit so that each look sees the latest commits: a new
    # one every look would cost PostgreSQL a process each time.
    with psycopg.connect(database.url, autocommit=True) as connection:
        deadline = ends[-1] + FINALISE_CAP
        next_report = time.monotonic()
        while True:
            ended, settled, emailed = _progress(connection)
            done = min(ended, settled, emailed) >= count
            if done or time.monotonic() >= next_report:
                since = (datetime.now(UTC) - ends[0]).total_seconds()
                say(
                    f"{since:+6.0f} s from the first end: {ended:,} ended, {settled:,} charges "
                    f"settled, {emailed:,} receipts sent"
                )
                next_report = time.monotonic() + PROGRESS_EVERY_S
            if done:
                return True
            if datetime.now(UTC) >= deadline:
                say(f"cut off {FINALISE_CAP.seconds // 60} min after the last end time")
                return False
            time.sleep(POLL_S)


def _outcome(database: Database) -> Outcome:
    with psycopg.connect(database.url, row_factory=namedtuple_row) as connection:
        rows = connection.execute(
            "SELECT r.end_time, r.finished_at,"
            " r.amount_cents IS NOT NULL AND NOT r.fee_waived AS chargeable,"
            " c.status AS charge_status, c.updated_at AS charge_recorded_at,"
            " (SELECT min(e.sent_at) FROM notifications_outboundemail e"
            "  WHERE e.reservation_id = r.id AND e.kind = ANY(%s)) AS emailed_at"
            " FROM reservations_reservation r"
            " LEFT JOIN payments_charge c ON c.reservation_id = r.id",
            (list(SENT_EMAIL_KINDS),),
        ).fetchall()
        emails = connection.execute(
            "SELECT count(*) AS sent, count(*) FILTER (WHERE attempts > 1) AS claimed_twice"
            " FROM notifications_outboundemail WHERE sent_at IS NOT NULL"
        ).fetchone()
    settled = [row for row in rows if row.charge_status in SETTLED_CHARGES]
    return Outcome(
        reservations=len(rows),
        chargeable=sum(row.chargeable for row in rows),
        ended_lags_s=[_seconds(row.finished_at - row.end_time) for row in rows if row.finished_at],
        finalised_lags_s=[_seconds(row.charge_recorded_at - row.end_time) for row in settled],
        emailed_lags_s=[_seconds(row.emailed_at - row.end_time) for row in rows if row.emailed_at],
        finalised_at=[row.charge_recorded_at for row in settled],
        first_end=min(row.end_time for row in rows),
        charges_paid=sum(row.charge_status == "succeeded" for row in settled),
        charges_waived=sum(row.charge_status == "waived" for row in settled),
        charges_other=sum(row.charge_status not in ("succeeded", "waived") for row in settled),
        emails_sent=emails.sent,
        emails_sent_twice=emails.claimed_twice,
    )


def _seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def _sandbox_payment_intents(database: Database) -> tuple[int, int]:
    """Sandbox PaymentIntents, and how many of them repeat a charge another one made."""
    with psycopg.connect(database.url) as connection:
        return connection.execute(
            "SELECT count(*), count(*) - count(DISTINCT metadata->>'charge_id')"
            " FROM payments_sandboxpaymentintent"
        ).fetchone()


def _mail_messages(label: str) -> int:
    """Messages the file email backend wrote: what went out to the mail server."""
    return sum(
        line == MAIL_SEPARATOR
        for path in _mail_dir(label).iterdir()
        for line in path.read_text(errors="replace").splitlines()
    )


def _print_run(outcome: Outcome, run: EngineRun, reservations: int) -> None:
    _print_outcome(outcome, run.finished)
    print(
        f"  CPU over the {run.cpu.wall_s:,.0f} s from the first end time to the last receipt "
        "(or the cut-off):"
    )
    print(cpu_table(run.cpu, reservations, "reservation"))
    _print_tasks(run.tasks)


def _print_outcome(outcome: Outcome, finished: bool) -> None:
    rows = [
        _lag_row("ended (the sweep)", outcome.ended_lags_s),
        _lag_row("charge recorded (paid or waived)", outcome.finalised_lags_s),
        _lag_row("receipt email sent", outcome.emailed_lags_s),
    ]
    print(table(("lag after the end time", "count", "p50 s", "p99 s", "max s"), rows))
    print(
        f"  {'all' if finished else 'NOT all'} finalised: {outcome.finalised_per_second:,.1f} "
        f"reservations/s from the first end to the last charge; the busiest {PEAK_WINDOW_S} s: "
        f"{outcome.busiest_per_second(PEAK_WINDOW_S):,.1f}/s"
    )
    print(
        f"  charges: {outcome.charges_paid:,} paid, {outcome.charges_waived:,} waived (under the "
        f"minimum charge), {outcome.charges_other:,} otherwise, of "
        f"{outcome.chargeable:,} chargeable in {outcome.reservations:,} reservations; "
        f"{outcome.emails_sent:,} emails sent ({outcome.emails_sent_twice:,} claimed twice)"
    )


def _lag_row(label: str, lags_s: Sequence[float]) -> tuple[str, ...]:
    ordered = sorted(lags_s)
    return (
        label,
        f"{len(ordered):,}",
        f"{percentile(ordered, 50):,.1f}",
        f"{percentile(ordered, 99):,.1f}",
        f"{max(ordered, default=math.nan):,.1f}",
    )


def _print_tasks(tasks: dict[str, TaskRuns]) -> None:
    """The worker's time by task: the wall time inside each task (its CPU and its waits), and
    the periodic tasks beat sent that never ran (expired in the queue)."""
    headers = (
        "task (worker's log)",
        "sent by beat",
        "runs",
        "total s",
        "mean ms",
        "p99 ms",
        "discarded",
        "failed",
    )
    by_time = sorted(tasks.items(), key=lambda item: -sum(item[1].runtimes_s))
    print(table(headers, [_task_row(name, runs) for name, runs in by_time]))
    sweep = tasks.get(SWEEP_TASK)
    if sweep is not None and sweep.sent_by_beat > len(sweep.runtimes_s):
        print(
            f"  beat sent the sweep {sweep.sent_by_beat:,} times and it ran "
            f"{len(sweep.runtimes_s):,} times: the other sendings expired in the queue"
        )


def _task_row(name: str, runs: TaskRuns) -> tuple[str, ...]:
    module, task = name.rsplit(".", 2)[-2:]
    runtimes = sorted(runs.runtimes_s)
    return (
        f"{module}.{task}",
        f"{runs.sent_by_beat:,}" if runs.sent_by_beat else "",
        f"{len(runtimes):,}",
        f"{sum(runtimes):,.1f}",
        f"{1000 * sum(runtimes) / len(runtimes):,.1f}" if runtimes else "",
        f"{1000 * percentile(runtimes, 99):,.1f}" if runtimes else "",
        f"{runs.discarded:,}",
        f"{runs.not_done:,}",
    )


def _lag_check(name: str, lags_s: Sequence[float]) -> Check:
    p99 = percentile(sorted(lags_s), 99)
    return Check(name, f"{p99:,.1f} s", f"< {LAG_P99_UNDER_S:g} s", p99 < LAG_P99_UNDER_S)


def _finalised_check(prefix: str, outcome: Outcome, count: int) -> Check:
    return Check(
        f"{prefix} every reservation finalised",
        f"{len(outcome.finalised_lags_s):,} of {count:,}",
        f"all, within {FINALISE_CAP.seconds // 60} min",
        len(outcome.finalised_lags_s) == count,
    )


def _paid_check(prefix: str, outcome: Outcome) -> Check:
    return Check(
        f"{prefix} charges paid = chargeable",
        f"{outcome.charges_paid:,} of {outcome.chargeable:,}",
        "equal",
        outcome.charges_paid == outcome.chargeable,
    )


def _duplicates_check(prefix: str, duplicates: int, intents: int, outcome: Outcome) -> Check:
    """No charge paid twice, and a PaymentIntent for every charge paid and no other."""
    return Check(
        f"{prefix} duplicate charges (PaymentIntents)",
        f"{duplicates:,} ({intents:,} for {outcome.charges_paid:,} paid)",
        "0",
        duplicates == 0 and intents == outcome.charges_paid,
    )


def _emails_check(prefix: str, outcome: Outcome, messages: int) -> Check:
    return Check(
        f"{prefix} receipts sent, once each",
        f"{outcome.emails_sent:,} ({messages:,} by the backend)",
        f"{outcome.reservations:,}",
        outcome.emails_sent == outcome.reservations == messages,
    )
