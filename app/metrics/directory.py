"""The shared registry directory every process of one host counts into (prometheus_client multiprocess mode).

prometheus_client picks its value class when it is first imported: with PROMETHEUS_MULTIPROC_DIR set,
each process writes its counters to `<type>_<pid>.db` files there (mmap), and a scrape sums the files.
So `prepare` runs before anything imports prometheus_client (app.metrics calls it first thing,
gunicorn.conf.py too), and this module imports prometheus_client only inside functions.

Files of processes that are gone are folded into one `<type>_archive.db` per type: by the process itself
as it exits, by gunicorn's master when a worker is gone, and by every process that starts (for one that
was killed). So the directory, and the work of a scrape, grow with the live processes, not with every
process that ever ran.
A scrape reads under a shared lock and a compaction writes under an exclusive one: no scrape sees a dead
process's counts twice (in its file and in the archive) or not at all.
"""

from __future__ import annotations

import fcntl
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT = Path(__file__).resolve().parent.parent.parent / "instance" / "prometheus"
ARCHIVE = "archive"  # the pid part of the file that holds the counts of processes no longer running
KEPT = ("counter", "histogram")  # gauges in this registry are per process and die with it
MAX_SERIES = 200  # per metric, also in the archive: labels stay bounded however many processes ran
OVERFLOW = "OTHER"


def prepare(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR (default instance/prometheus) unless set, create it, fold dead files."""
    path = Path(environ.setdefault(ENV, str(DEFAULT)))
    path.mkdir(parents=True, exist_ok=True)
    compact(path)
    return path


def fold_own(path: Path) -> None:
    """At this process's exit: fold its own files into the archive (a killed one is folded by the next)."""
    me = os.getpid()
    compact(path, alive=lambda pid: pid != me and pid_alive(pid))


def directory() -> Path:
    return Path(os.environ[ENV])


@contextmanager
def locked(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the directory's lock: shared to read the files, exclusive to fold or delete them."""
    with (path / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """Whether a process of this pid runs on this host (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def file_pid(path: Path) -> int | None:
    """The pid in `counter_123.db`; None for the archive or a name not of that form."""
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def compact(path: Path, *, alive: Callable[[int], bool] = pid_alive) -> int:
    """Fold the counter and histogram files of processes no longer running into the archive; count them."""
    folded = 0
    with locked(path, exclusive=True):
        for kind in KEPT:
            files = path.glob(f"{kind}_*.db")
            dead = [f for f in files if (pid := file_pid(f)) is not None and not alive(pid)]
            if dead:
                _fold(path, kind, dead)
                folded += len(dead)
    return folded


def _fold(path: Path, kind: str, dead: list[Path]) -> None:
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    archive = path / f"{kind}_{ARCHIVE}.db"
    sources = [*dead, archive] if archive.exists() else dead
    merged = MultiProcessCollector.merge([str(f) for f in sources], accumulate=False)
    scratch = path / f".{kind}_{ARCHIVE}.tmp"  # not *.db: a scrape never reads a half-written archive
    scratch.unlink(missing_ok=True)
    out = MmapedDict(str(scratch))
    try:
        for metric in merged:
            for name, labels, value in capped(metric.samples):
                key = mmap_key(metric.name, name, list(labels), list(labels.values()), metric.documentation)
                out.write_value(key, value, 0.0)
    finally:
        out.close()
    os.replace(scratch, archive)
    for file in dead:
        file.unlink()


def capped(samples: list[Any], cap: int = MAX_SERIES) -> list[tuple[str, dict[str, str], float]]:
    """Samples by (name, labels), the series past the `cap` largest folded into OTHER labels."""
    totals: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)
    for sample in samples:
        totals[_series(sample.labels)] += sample.value
    kept = set(sorted(totals, key=lambda s: (-totals[s], s))[: cap - 1]) if len(totals) > cap else set(totals)
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    for sample in samples:
        series = _series(sample.labels)
        labels = dict(sample.labels)
        if series not in kept:
            labels = {k: (v if k == "le" else OVERFLOW) for k, v in labels.items()}
        out[(sample.name, tuple(labels.items()))] += sample.value
    return [(name, dict(labels), value) for (name, labels), value in out.items()]


def _series(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A sample's series: its labels but a histogram bucket's `le`."""
    return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
