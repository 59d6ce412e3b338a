"""The outbox figures an operator watches, read from the database at scrape time
(``securemyspot.metrics``)."""

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from notifications.models import OutboundEmail


class OutboxMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        unsent = OutboundEmail.objects.filter(sent_at__isnull=True).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "securemyspot_outbox_unsent_emails",
            "Emails written to the outbox and not sent yet.",
            value=unsent["count"],
        )
        oldest = unsent["oldest"]
        yield GaugeMetricFamily(
            "securemyspot_outbox_oldest_unsent_email_age_seconds",
            "How long the oldest unsent email has waited (0 when none waits).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
