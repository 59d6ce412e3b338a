"""The charge figures an operator watches, read from the database at scrape time
(``securemyspot.metrics``)."""

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from payments.models import Charge
from securemyspot.metrics import count_by_status, status_gauge

# Seconds from a reservation's end time until its fee was collected: the engine ends it and
# charges within seconds; retries after a failed call take minutes; a driver's own payment
# after a declined card, hours.
CHARGE_DELAY_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600)


def _charge_delay_histogram() -> HistogramMetricFamily:
    delays = Charge.objects.filter(
        status=Charge.Status.SUCCEEDED, succeeded_at__isnull=False
    ).annotate(
        delay=ExpressionWrapper(
            F("succeeded_at") - F("reservation__end_time"), output_field=DurationField()
        )
    )
    within = {
        f"le_{bound}": Count("pk", filter=Q(delay__lte=timedelta(seconds=bound)))
        for bound in CHARGE_DELAY_BUCKETS
    }
    figures = delays.aggregate(count=Count("pk"), total=Sum("delay"), **within)
    buckets = [(str(bound), figures[f"le_{bound}"]) for bound in CHARGE_DELAY_BUCKETS]
    buckets.append(("+Inf", figures["count"]))
    total = figures["total"] or timedelta(0)
    return HistogramMetricFamily(
        "securemyspot_charge_delay_seconds",
        "Seconds from a reservation's end time until its fee was collected.",
        buckets=buckets,
        sum_value=total.total_seconds(),
    )


class ChargeMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        yield status_gauge(
            "securemyspot_charges",
            "Charges of ended reservations in each state (succeeded, waived, failed, ...).",
            statuses=Charge.Status.values,
            counts=count_by_status(Charge.objects.all()),
        )
        yield _charge_delay_histogram()
