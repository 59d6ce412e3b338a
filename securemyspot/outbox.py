"""Transactional outboxes: events written in the transaction of the change they describe and
numbered in commit order by a one-row sequence table (docs/live.md, "`seq`: gap-free, in commit
order"). The availability events (spots) and the reservation events (reservations) both number
theirs here."""

from django.db import connection


class NotInTransaction(RuntimeError):
    """Events must commit with the change they describe, or roll back with it."""


def require_transaction(writer: str) -> None:
    if not connection.in_atomic_block:
        raise NotInTransaction(f"{writer} needs the change's transaction")


def take_sequence_numbers(*, sequence_table: str, event_table: str, row_id: int, count: int) -> int:
    """Advance the one-row sequence ``sequence_table`` by ``count`` and return its new last
    number; the row stays locked until the caller's transaction ends, so the transactions that
    take numbers commit in the order of their numbers. A new (or flushed) database starts after
    the highest ``seq`` of ``event_table``."""
    take = f"UPDATE {sequence_table} SET last = last + %s WHERE id = %s RETURNING last"
    with connection.cursor() as cursor:
        cursor.execute(take, [count, row_id])
        row = cursor.fetchone()
        if row is None:
            # Concurrent first writers meet on the primary key, and the loser's insert does
            # nothing.
            cursor.execute(
                f"INSERT INTO {sequence_table} (id, last) "
                # WHERE: SQLite would read ON CONFLICT as the start of a join.
                f"SELECT %s, COALESCE(MAX(seq), 0) FROM {event_table} WHERE true "
                "ON CONFLICT (id) DO NOTHING",
                [row_id],
            )
            cursor.execute(take, [count, row_id])
            row = cursor.fetchone()
    return row[0]


def listener_connection_params() -> dict:
    """The default database's parameters for a psycopg connection of one's own, one that
    ``LISTEN``s for an outbox's commits: without Django's cursor class and adapters, which are
    for the connections Django runs queries on."""
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return params
