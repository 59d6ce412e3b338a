from django.db import migrations

from securemyspot.migration_operations import RunSQLOnPostgreSQL


class Migration(migrations.Migration):
    """Every statement writing availability events sends a NOTIFY on the channel the socket
    servers listen on (``AvailabilityEvent.COMMITTED_CHANNEL``). PostgreSQL delivers it at
    commit and drops it on rollback, and sends one per transaction however many statements
    notified. Those transactions already commit one at a time (the sequence row's lock), so
    the lock NOTIFY takes at commit adds no waiting between them; each commit costs about
    17 µs more (docs/live.md, "Fourth session")."""

    dependencies = [("spots", "0002_availability_events")]

    operations = [
        RunSQLOnPostgreSQL(
            sql=[
                """
                CREATE FUNCTION spots_notify_availability_events() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('spots_availability_events', '');
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER spots_availabilityevent_notify
                AFTER INSERT ON spots_availabilityevent
                FOR EACH STATEMENT EXECUTE FUNCTION spots_notify_availability_events()
                """,
            ],
            reverse_sql=[
                "DROP TRIGGER spots_availabilityevent_notify ON spots_availabilityevent",
                "DROP FUNCTION spots_notify_availability_events()",
            ],
        ),
    ]
