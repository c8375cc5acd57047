"""Gunicorn settings beyond the Procfile's flags (gunicorn reads ./gunicorn.conf.py by itself)."""

import sys

from app.metrics.directory import compact, prepare

# Every worker counts into one directory (prometheus_client multiprocess mode, app/metrics/):
# PROMETHEUS_MULTIPROC_DIR is set here in the master, before --preload imports the app (and
# prometheus_client), and the workers inherit it.
METRICS_DIR = prepare()

# The access log writes no query value but identifiers, no credentials header, no token (web/accesslog.py):
# /oauth/callback?code=…&state=… would otherwise put a live authorization code in the log.
logger_class = "app.web.accesslog.RedactingLogger"


def post_fork(server, worker):
    """Hand the GIL over every 0.5 ms, not 5 ms, in each worker process.

    /events threads mostly wait (the database, the inbox flusher); at the default interval a thread woken
    by a commit can wait up to 5 ms for the GIL behind a busy one, at every step. The old events bench
    (2 workers x 8 threads, 3 s runs) measured /events at 0.33 of bare Flask with the default, 0.40 with this.
    """
    sys.setswitchinterval(0.0005)


def child_exit(server, worker):
    """A worker has gone: drop its per-process gauge files and fold its counters into the archive.

    The archive keeps its counts (totals stay monotonic), and the directory holds files of live processes
    only, so a scrape reads as many files as there are processes, not as many as ever ran.
    """
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))
    compact(METRICS_DIR)
