from django.db import migrations

from securemyspot.migration_operations import RunSQLOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [("reservations", "0001_initial")]

    operations = [
        RunSQLOnPostgreSQL(
            # btree_gist lets a GiST index compare spot ids with "=" beside the range overlap.
            sql=[
                "CREATE EXTENSION IF NOT EXISTS btree_gist",
                """
                ALTER TABLE reservations_reservation
                ADD CONSTRAINT reservation_live_periods_do_not_overlap
                EXCLUDE USING gist (
                    spot_id WITH =,
                    tstzrange(start_time, end_time, '[)') WITH &&
                ) WHERE (status IN ('pending_payment', 'confirmed'))
                """,
            ],
            reverse_sql=[
                "ALTER TABLE reservations_reservation "
                "DROP CONSTRAINT reservation_live_periods_do_not_overlap",
            ],
        ),
    ]
