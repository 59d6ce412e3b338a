"""What the reservations app tells the apps above it, without naming them: they subscribe in
their AppConfig.ready() (payments charges what ended and closes the card step of what was
cancelled unpaid).

Each signal is sent inside the transaction that made the change. A receiver that queues work
does it after that commit (``enqueue_after_commit``), and keeps a sweep of its own that finds
any reservation whose work was lost, so delivery stays at least once (docs/tasks.md).
"""

from django.dispatch import Signal

# One reservation ended on its own (its end-time task, the driver ending or shortening it), its
# fee fixed: ``reservation_id``.
reservation_ended = Signal()

# The sweep ended a batch of reservations, their fees fixed: ``reservation_ids``.
reservations_ended = Signal()

# A reservation was cancelled before it was paid for: ``reservation_id``.
unpaid_reservation_cancelled = Signal()
