"""Mail servers that misbehave, for tests to point ``EMAIL_BACKEND`` at."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

UNREACHABLE = "notifications.tests.mail_backends.UnreachableServerBackend"
REFUSING_BOUNCES = "notifications.tests.mail_backends.BounceRefusingBackend"


class UnreachableServerBackend(BaseEmailBackend):
    """As the SMTP backend behaves when nothing listens on the mail server's port."""

    def send_messages(self, email_messages) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


class BounceRefusingBackend(LocmemBackend):
    """Refuses any recipient at bounce.example, as a server rejects an unknown mailbox; sends
    everything else to ``django.core.mail.outbox``."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            refused = [r for r in message.recipients() if r.endswith("@bounce.example")]
            if refused:
                raise smtplib.SMTPRecipientsRefused(
                    {r: (550, b"5.1.1 No such user") for r in refused}
                )
        return super().send_messages(email_messages)


COUNTING_CONNECTIONS = "notifications.tests.mail_backends.ConnectionCountingBackend"


class ConnectionCountingBackend(LocmemBackend):
    """Sends to ``django.core.mail.outbox`` and counts the connections opened to do it."""

    opened = 0

    def open(self) -> bool:
        ConnectionCountingBackend.opened += 1
        return True
