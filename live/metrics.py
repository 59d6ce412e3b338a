"""The socket server's figures, counted by each socket-server process as it serves and shown
at that process's own ``/metrics`` (docs/operations.md): a socket lives in one process only,
so no database or other process knows them. With ``PROMETHEUS_MULTIPROC_DIR`` set (several
worker processes of one server) the open sockets are summed over the live processes."""

from prometheus_client import Counter, Gauge

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
SNAPSHOTS_RESENT = Counter(
    "securemyspot_live_snapshots_resent",
    "Fresh snapshots sent to sockets that fell too far behind (a slow client, dropped messages).",
)
