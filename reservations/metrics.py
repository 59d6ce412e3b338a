"""The booking figures an operator watches, read from the database at scrape time
(``securemyspot.metrics``)."""

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from reservations.models import Reservation
from securemyspot.metrics import count_by_status, status_gauge


class ReservationMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        counts = count_by_status(Reservation.objects.all())
        yield status_gauge(
            "securemyspot_reservations",
            "Reservations in each status now.",
            statuses=Reservation.Status.values,
            counts=counts,
        )
        yield CounterMetricFamily(
            "securemyspot_bookings",
            "Reservations ever made (guest and signed-in).",
            value=sum(counts.values()),
        )
        yield CounterMetricFamily(
            "securemyspot_holds_expired",
            "Reservations whose unpaid hold lapsed.",
            value=counts.get(Reservation.Status.EXPIRED, 0),
        )
