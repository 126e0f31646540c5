"""Picks the job store the settings name: memory, a SQLite file, or Redis."""

from __future__ import annotations

import logging
from pathlib import Path

from tryon.errors import TryOnError
from tryon.service.jobs.memory import InMemoryJobStore
from tryon.service.jobs.store import JobStore, StoreSettings

log = logging.getLogger("tryon.service")

STORE_HELP = (
    "where jobs live: 'memory' (this process; the default), 'sqlite:PATH' (a file shared by "
    "the processes of one machine) or 'redis://HOST:PORT/DB' (shared by every machine)"
)


def open_job_store(location: str, settings: StoreSettings) -> JobStore:
    """The job store at ``location`` (see ``STORE_HELP``).

    Raises:
        TryOnError: an unknown kind of location, or Redis support not installed.
    """
    if location == "memory":
        return InMemoryJobStore(settings.ttl_s, settings)
    if location.startswith("sqlite:"):
        from tryon.service.jobs.sqlite import SQLiteJobStore

        path = location.removeprefix("sqlite:").removeprefix("//")
        if not path:
            raise TryOnError("job store 'sqlite:' needs a file: sqlite:PATH")
        return SQLiteJobStore(Path(path).expanduser(), settings)
    if location.startswith(("redis://", "rediss://", "unix://")):
        try:
            from tryon.service.jobs.redis import RedisJobStore
        except ImportError:
            raise TryOnError(
                "the Redis job store needs the scale extra: pip install 'tryon[scale]'"
            ) from None
        store = RedisJobStore(location, settings)
        if store.persistent() is False:
            log.warning(
                "Redis at %s runs without appendonly: a restart of it loses every job; "
                "start it with --appendonly yes (see the scale-out runbook)",
                location,
            )
        return store
    raise TryOnError(f"unknown job store {location!r}: {STORE_HELP}")
