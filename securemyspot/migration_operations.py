from django.db import migrations


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """SQL for a PostgreSQL feature with no SQLite counterpart (e.g. an exclusion constraint).

    On SQLite the services serialise the same rule in one write transaction instead.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
