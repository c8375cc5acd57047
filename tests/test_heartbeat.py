"""Worker heartbeats: each worker writes its row as it loops; health says when none is alive."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.inbox.heartbeat import ALIVE_FOR, Heartbeat, worker_health
from app.inbox.queue import Inbox
from app.inbox.worker import Worker
from app.models import WorkerHeartbeat
from tests.test_main import open_main_page
from tests.test_worker import FakeClock, accept_all, counting, event, make_activities

STALLED = "no worker has processed events for"


def rows() -> list[WorkerHeartbeat]:
    db.session.expire_all()
    return list(db.session.scalars(select(WorkerHeartbeat)))


def test_healthz_says_no_worker_processed_pending_events_for_n_minutes(
    connected_app, portal, sandbox
) -> None:
    [activity] = make_activities(sandbox, 1)
    clock = FakeClock()
    clock.advance(-7 * 60)  # the event arrived seven minutes ago, and nothing has run since
    accept_all(portal, [event("ONCRMACTIVITYADD", activity)], clock)
    answer = connected_app.test_client().get("/healthz")
    assert answer.status_code == 200  # the web process is fine: a load balancer must keep it
    workers = answer.get_json()["workers"]
    assert workers["alive"] == 0 and workers["pending"] == 1
    assert f"{STALLED} 7 minutes" in workers["warning"]


def test_a_worker_that_beats_is_alive_and_the_warning_goes(connected_app, portal, sandbox) -> None:
    [activity] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity)])
    Heartbeat(db.session).beat(0)  # alive, the event not yet claimed
    workers = connected_app.test_client().get("/healthz").get_json()["workers"]
    assert workers == {"alive": 1, "pending": 1}


def test_no_warning_without_pending_events(connected_app, portal) -> None:
    assert connected_app.test_client().get("/healthz").get_json()["workers"] == {"alive": 0, "pending": 0}


def test_the_worker_records_its_beat_and_what_it_processed(portal, sandbox) -> None:
    ids = make_activities(sandbox, 3)
    accept_all(portal, [event("ONCRMACTIVITYADD", i) for i in ids])
    clock = FakeClock()
    beat = Heartbeat(db.session, clock=clock, name="test-worker")
    Worker(Inbox(db.session), connect=counting([]), heartbeat=beat).run(once=True)
    [row] = rows()
    assert (row.worker_id, row.processed, row.processed_at) == ("test-worker", 3, clock.now)
    assert worker_health(db.session, clock.now).pending == 0


def test_idle_beats_are_written_every_few_seconds_not_every_loop(portal) -> None:
    clock = FakeClock()
    beat = Heartbeat(db.session, clock=clock, every=timedelta(seconds=5), name="idle")
    beat.beat(0)
    first = rows()[0].beat_at
    clock.advance(1)
    beat.beat(0)
    assert rows()[0].beat_at == first
    clock.advance(5)
    beat.beat(0)
    assert rows()[0].beat_at == clock.now


def test_a_silent_worker_is_dead_and_a_stopped_one_gone(portal, sandbox) -> None:
    [activity] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity)])
    clock = FakeClock()
    beat = Heartbeat(db.session, clock=clock)
    beat.beat(0)
    assert not worker_health(db.session, clock.now).stalled
    assert worker_health(db.session, clock.now + ALIVE_FOR + timedelta(seconds=1)).stalled
    beat.remove()
    assert rows() == [] and worker_health(db.session, clock.now).stalled


def test_the_worker_command_leaves_no_row_when_it_stops(runner, app) -> None:
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    with app.app_context():
        assert rows() == []


def test_the_admin_page_says_no_worker_is_processing(connected_app, portal, sandbox) -> None:
    [activity] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity)])
    page = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert 'id="workers-stalled"' in page
    assert "No worker has processed events for 1 minute, and 1 event is waiting: button clicks" in page
    russian = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    assert "Ни один обработчик не обрабатывал события уже 1 минуту, и ждёт 1 событие: " in russian
    Heartbeat(db.session).beat(0)
    page = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert 'id="workers-stalled"' not in page


def test_metrics_count_the_live_workers(connected_app, portal) -> None:
    client = connected_app.test_client()
    assert "\ntb_workers_alive 0.0\n" in client.get("/metrics").get_data(as_text=True)
    Heartbeat(db.session).beat(0)
    assert "\ntb_workers_alive 1.0\n" in client.get("/metrics").get_data(as_text=True)
