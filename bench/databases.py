"""Scratch PostgreSQL databases holding a known number of seeded spots.

Seeding a million spots takes a while, so a database that already holds exactly the spots asked
for is reused; ``--reseed`` recreates it. The seed is fixed, so a reused database holds the same
spots a fresh one would.
"""

import os
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg import sql

from bench.project import manage
from bench.stats import say

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
MAINTENANCE_DB = "postgres"
SPOT_TABLE = "spots_parkingspot"
SPOT_SEED = 42


@dataclass(frozen=True)
class Database:
    name: str

    @property
    def url(self) -> str:
        return f"{POSTGRES_URL}/{self.name}"


def seeded_database(name: str, *, spots: int, reseed: bool) -> Database:
    """The database ``name``, migrated and holding exactly ``spots`` spots, vacuumed."""
    database = Database(name)
    reuse = not reseed and _exists(name) and spot_count(database) == spots
    if not reuse:
        _recreate(name)
    # Also when reusing: the code under test may have gained migrations since the seeding.
    say(f"{name}: migrating")
    manage(database.url, "migrate", "--noinput", "--verbosity", "0")
    if reuse:
        say(f"{name}: reusing its {spots:,} spots (--reseed recreates it)")
    else:
        say(f"{name}: seeding {spots:,} spots")
        manage(database.url, "seed_spots", "--count", str(spots), "--seed", str(SPOT_SEED))
    _ensure_vacuumed(database)
    return database


def spot_count(database: Database) -> int | None:
    """Spots in the database, or None before it is migrated."""
    with psycopg.connect(database.url) as connection:
        try:
            return connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(SPOT_TABLE))
            ).fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return None


def active_spots(database: Database, count: int) -> list[tuple[int, Decimal]]:
    """The first ``count`` active spots by id, with their hourly rates."""
    with psycopg.connect(database.url) as connection:
        spots = connection.execute(
            sql.SQL("SELECT id, rate FROM {} WHERE active ORDER BY id LIMIT %s").format(
                sql.Identifier(SPOT_TABLE)
            ),
            (count,),
        ).fetchall()
    if len(spots) < count:
        raise RuntimeError(f"{database.name} holds {len(spots):,} active spots, not {count:,}")
    return spots


def empty_tables(database: Database, *tables: str) -> None:
    """Remove every row of the tables, and of the tables that refer to them (a benchmark's
    leftovers from an earlier run or phase); the spots stay."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
        )


def server_version() -> str:
    with psycopg.connect(f"{POSTGRES_URL}/{MAINTENANCE_DB}") as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def spot_storage(database: Database) -> str:
    """The spot table's and its indexes' sizes: whether they fit in memory explains a lot."""
    with psycopg.connect(database.url) as connection:
        table, indexes = connection.execute(
            "SELECT pg_size_pretty(pg_table_size(%s)), pg_size_pretty(pg_indexes_size(%s))",
            (SPOT_TABLE, SPOT_TABLE),
        ).fetchone()
    return f"table {table}, indexes {indexes}"


def _exists(name: str) -> bool:
    with psycopg.connect(f"{POSTGRES_URL}/{MAINTENANCE_DB}") as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def _recreate(name: str) -> None:
    say(f"{name}: creating an empty database")
    with psycopg.connect(f"{POSTGRES_URL}/{MAINTENANCE_DB}", autocommit=True) as connection:
        identifier = sql.Identifier(name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(identifier))


def _ensure_vacuumed(database: Database) -> None:
    """VACUUM (ANALYZE) the spot table unless every page is marked all-visible and analysed.

    The seed command does this itself on PostgreSQL; checking keeps the benchmark honest if it
    ever stops doing so. Without the visibility map an "index-only" scan still reads the table.
    """
    with psycopg.connect(database.url, autocommit=True) as connection:
        pages, all_visible, analysed = connection.execute(
            "SELECT c.relpages, c.relallvisible,"
            " coalesce(s.last_analyze, s.last_autoanalyze) IS NOT NULL"
            " FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid = %s::regclass",
            (SPOT_TABLE,),
        ).fetchone()
        if analysed and pages > 0 and all_visible == pages:
            return
        say(f"{database.name}: VACUUM (ANALYZE) ({all_visible:,} of {pages:,} pages all-visible)")
        connection.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(SPOT_TABLE)))
