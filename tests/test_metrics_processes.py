"""One registry for every process: gunicorn's workers, the inbox worker and one-off commands (app.metrics).

The app runs as the Procfile starts it (two gunicorn workers, --preload, ./gunicorn.conf.py) on its own
registry directory; the inbox worker is `flask --app app worker --once` in its own process. Every scrape,
whichever gunicorn worker answers it, shows the totals of all of them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app.metrics.directory import ARCHIVE, compact, file_pid
from tests.test_gunicorn import ROOT, free_port, procfile_web, production_env
from tests.test_metrics import parse

DUE = "2026-01-01 00:00:00.000000"
ARCHIVES = [f"counter_{ARCHIVE}.db", f"histogram_{ARCHIVE}.db"]
PID_FORMAT = '%(p)s "%(r)s" %(s)s'  # the access log names the gunicorn worker that answered


@dataclass
class Web:
    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log: Path
    database: Path
    registry: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "flask", "--app", "app", *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.env, check=True, capture_output=True, text=True, timeout=120
        )


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Web]:
    work = tmp_path_factory.mktemp("multiprocess")
    port = free_port()
    registry = work / "prometheus"
    env = production_env(
        work,
        port,
        PROMETHEUS_MULTIPROC_DIR=str(registry),
        GUNICORN_CMD_ARGS=f"--access-logformat '{PID_FORMAT}' --no-control-socket",
    )
    log = work / "web.log"
    server = Web(None, f"http://127.0.0.1:{port}", env, log, work / "app.sqlite3", registry)  # type: ignore[arg-type]
    server.flask("db", "upgrade")
    with log.open("wb") as out:
        server.process = subprocess.Popen(
            procfile_web(port, workers=2), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (
                requests.get(server.url + "/healthz", timeout=2).status_code == 200
                and len(server.workers()) == 2
            ):
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        server.process.kill()
        raise AssertionError(log.read_text())
    yield server
    server.process.terminate()
    server.process.wait(30)


def send(web: Web, count: int, offset: int = 0) -> None:
    """`count` counted requests: events of a name the manifest does not bind (answered 200, not stored)."""

    def post(n: int) -> requests.Response:
        form = {"event": "ONMADEUP", "event_handler_id": "1", "ts": str(n), "auth[member_id]": "m"}
        return requests.post(web.url + "/events", data=form, timeout=10)

    with ThreadPoolExecutor(8) as pool:  # concurrent fresh connections: both gunicorn workers take some
        answers = list(pool.map(post, range(offset, offset + count)))
    assert {a.status_code for a in answers} == {200}


def scrape(web: Web) -> dict:
    response = requests.get(web.url + "/metrics", timeout=10)  # a fresh connection each time
    assert response.status_code == 200
    return parse(response.text)


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_pids(web: Web) -> set[str]:
    return set(re.findall(r'^<(\d+)> "GET /metrics', web.log.read_text(), re.MULTILINE))


def test_every_scrape_shows_every_workers_requests_even_across_a_worker_restart(web) -> None:
    counted = 40
    send(web, counted // 2)
    gone = web.workers()[0]
    os.kill(gone, signal.SIGTERM)  # gunicorn starts another; its child_exit folds the old one's counts
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (gone in web.workers() or len(web.workers()) != 2):
        time.sleep(0.1)
    assert gone not in web.workers() and len(web.workers()) == 2
    assert not list(web.registry.glob(f"*_{gone}.db")), "the gone worker's files are folded"
    assert (web.registry / f"counter_{ARCHIVE}.db").exists()
    send(web, counted - counted // 2, offset=counted)
    seen = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):  # until both live workers have answered a scrape (each time every scrape counts)
            samples = list(pool.map(lambda _: scrape(web), range(8)))
            seen += [value(s, "tb_events_ignored_total", event="OTHER") for s in samples]
            seen += [value(s, "tb_events_request_seconds_count") for s in samples]
            if {str(pid) for pid in web.workers()} <= scrape_pids(web):
                break
    assert {str(pid) for pid in web.workers()} <= scrape_pids(web), "one worker answered every scrape"
    assert set(seen) == {counted}, seen


def test_the_inbox_workers_counters_show_on_the_webs_metrics(web) -> None:
    rows = 7
    with sqlite3.connect(web.database) as connection:
        connection.executemany(
            "INSERT INTO inbox (dedup_key, event, member_id, payload, status, attempts, next_attempt_at,"
            " received_at) VALUES (?, 'ONOLDEVENT', 'm1', ?, 'pending', 0, ?, ?)",
            [
                (f"delete-{n}", json.dumps({"data": {"FIELDS": {"ID": str(n + 1)}}}), DUE, DUE)
                for n in range(rows)
            ],
        )
    before = scrape(web)
    web.flask("worker", "--once")  # its own process: events of a name it does not act on need no portal call
    after = [scrape(web) for _ in range(6)]
    processed = {value(s, "tb_events_processed_total", event="OTHER") for s in after}
    assert processed == {value(before, "tb_events_processed_total", event="OTHER") + rows}
    assert {value(s, "tb_worker_apply_seconds_count") for s in after} == {1}
    assert {value(s, "tb_inbox_pending") for s in after} == {0}
    web.flask("events", "list")  # a later command folds the finished worker's files: the counts stay
    assert not [
        f for f in web.registry.glob("*.db") if (pid := file_pid(f)) and not Path(f"/proc/{pid}").exists()
    ]
    assert value(scrape(web), "tb_events_processed_total", event="OTHER") == processed.pop()


def count_in_process(registry: Path, code: str) -> None:
    """Run `code` in a process of its own that counts into `registry`, to its end."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(registry)}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


def read(registry: Path) -> list:
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    scrape = CollectorRegistry()
    MultiProcessCollector(scrape, path=str(registry))
    return [s for family in scrape.collect() for s in family.samples]


def test_finished_processes_are_folded_into_one_archive_that_keeps_their_totals_and_caps_labels(
    tmp_path,
) -> None:
    for offset in (0, 150):  # two processes, 150 made-up outcomes each: 300 label sets in all
        count_in_process(
            tmp_path,
            "from app import metrics\n"
            f"for n in range({offset}, {offset + 150}): metrics.observe_call('batch', f'E{{n}}')\n"
            "metrics.EVENTS_SECONDS.observe(0.003)\n"
            "import os; os._exit(0)",  # no atexit, as if killed: its files stay for the next to fold
        )
    assert len(list(tmp_path.glob("counter_*.db"))) >= 2
    compact(tmp_path)
    assert sorted(f.name for f in tmp_path.glob("*.db")) == [
        f"counter_{ARCHIVE}.db",
        f"histogram_{ARCHIVE}.db",
    ]
    samples = read(tmp_path)
    calls = [s for s in samples if s.name == "tb_portal_calls_total"]
    assert sum(s.value for s in calls) == 300
    assert len(calls) <= 200 and {"method": "OTHER", "outcome": "OTHER"} in [s.labels for s in calls]
    assert [s.value for s in samples if s.name == "tb_events_request_seconds_count"] == [2]
    count_in_process(tmp_path, "from app import metrics\nmetrics.observe_call('batch', 'ok')")  # exits
    assert sorted(f.name for f in tmp_path.glob("*.db")) == ARCHIVES
    assert sum(s.value for s in read(tmp_path) if s.name == "tb_portal_calls_total") == 301
