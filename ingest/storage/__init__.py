"""Storage: ordered migrations, rollups, and what differs on TimescaleDB."""

from ingest.storage.migrate import MIGRATIONS, MigrationError, connect, flavour, migrate
from ingest.storage.rollups import ROLLUPS, Rollup, refresh_pending

__all__ = [
    "MIGRATIONS",
    "ROLLUPS",
    "MigrationError",
    "Rollup",
    "connect",
    "flavour",
    "migrate",
    "refresh_pending",
]
