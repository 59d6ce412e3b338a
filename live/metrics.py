"""The socket server's figures, counted by each socket-server process as it serves and shown
at that process's own ``/metrics`` (docs/operations.md): a socket lives in one process only,
so no database or other process knows them. With ``PROMETHEUS_MULTIPROC_DIR`` set (several
worker processes of one server) the open sockets are summed over the live processes."""

from prometheus_client import Counter, Gauge, Histogram

OPEN_SOCKETS = Gauge(
    "securemyspot_live_open_sockets",
    "WebSockets open on /ws/availability/ in this socket server.",
    multiprocess_mode="livesum",
)
MESSAGES_SENT = Counter(
    "securemyspot_live_messages_sent",
    "Messages sent to live sockets, by type (snapshot, changes, pong, error).",
    ["type"],
)
_MESSAGES_SENT_BY_TYPE: dict[str, Counter] = {}


def count_message_sent(kind: str) -> None:
    """``MESSAGES_SENT`` for a message of type ``kind``: its labelled counter is looked up
    once, not on every message (``labels`` takes a lock and builds a key each time)."""
    counter = _MESSAGES_SENT_BY_TYPE.get(kind)
    if counter is None:
        counter = _MESSAGES_SENT_BY_TYPE[kind] = MESSAGES_SENT.labels(kind)
    counter.inc()


SNAPSHOTS_RESENT = Counter(
    "securemyspot_live_snapshots_resent",
    "Fresh snapshots sent to sockets that fell too far behind (a slow client, dropped messages).",
)

# Seconds, from a few batch intervals to the point where a map is plainly behind.
EVENT_DELAY_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
EVENTS_READ_DELAY = Histogram(
    "securemyspot_live_event_read_delay_seconds",
    "From an availability event's row being written to this server's relay reading it, by the "
    "event's kind.",
    ["kind"],
    buckets=EVENT_DELAY_BUCKETS,
)
CHANGES_WRITTEN_DELAY = Histogram(
    "securemyspot_live_changes_written_delay_seconds",
    "From the oldest event of a changes message being written to the message being written "
    "to its socket: how far behind the maps this server serves are, before the network.",
    buckets=EVENT_DELAY_BUCKETS,
)
