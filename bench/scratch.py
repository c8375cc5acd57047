"""Where a scale bench builds its rows: an empty database given, a throwaway PostgreSQL cluster, or SQLite."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(database_url: str, *, postgres: bool, prefix: str) -> Iterator[str]:
    """The URL to build on; a cluster started here is stopped, a SQLite file made here removed, afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    cluster = None
    url = database_url or f"sqlite:///{workdir / 'scale.sqlite3'}"
    if postgres:
        from bench.drill_stack import Postgres

        cluster = Postgres(workdir)
        url = cluster.start()
    try:
        yield url
    finally:
        if cluster is not None:
            cluster.stop()
        for file in workdir.glob("scale.sqlite3*"):
            file.unlink()
