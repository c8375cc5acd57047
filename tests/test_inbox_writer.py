"""Group commit on POST /events: concurrent deliveries stored once, each answered after its commit."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import select, text

from app.extensions import db
from app.inbox.queue import INBOX, inbox_row
from app.inbox.writer import InboxWriter, Outcome, PendingRow, WriteFailed
from app.models import InboxEvent, InboxStatus, Portal, utcnow
from app.portals.store import digest, set_application_token
from tests.conftest import POSTGRES_URL, post_event
from tests.test_inbox import inbox_rows, real_auth


def stored_keys() -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(select(InboxEvent.dedup_key)))


def post_concurrently(live_app, auth: dict[str, str], ids: list[int], threads: int) -> list[tuple[int, dict]]:
    """Post one update per id from `threads` threads at once; return (id, answer) pairs."""
    start = threading.Barrier(threads)

    def post(item: tuple[int, int]) -> tuple[int, dict]:
        index, activity_id = item
        if index < threads:  # the first wave leaves together
            start.wait(10)
        response = post_event(live_app, "ONCRMACTIVITYUPDATE", auth, {"FIELDS][ID": str(activity_id)})
        assert response.status_code == 200, response.text
        return activity_id, response.json()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(post, enumerate(ids)))


def test_concurrent_deliveries_are_each_stored_once_and_answered_new_or_duplicate(
    installed, live_app, sandbox
) -> None:
    auth = real_auth(sandbox, installed)
    ids = [i for i in range(1, 101) for _ in range(3)]  # every event delivered three times, all at once
    answers = post_concurrently(live_app, auth, ids, threads=24)
    by_id: dict[int, list[str]] = {}
    for activity_id, body in answers:
        by_id.setdefault(activity_id, []).append(body["status"])
    assert {i: sorted(s) for i, s in by_id.items()} == {
        i: ["accepted", "duplicate", "duplicate"] for i in range(1, 101)
    }
    rows = inbox_rows()
    assert sorted(int(row.payload["data"]["FIELDS"]["ID"]) for row in rows) == list(range(1, 101))
    assert set(stored_keys().values()) == {1}


def test_every_answer_200_names_a_committed_row(installed, live_app, sandbox) -> None:
    """Checked from another connection the moment each answer arrives, not after the run."""
    auth = real_auth(sandbox, installed)
    missing = []
    engine = db.engine

    def post_and_check(activity_id: int) -> None:
        response = post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": str(activity_id)})
        assert response.status_code == 200
        with engine.connect() as connection:
            ids = {payload["data"]["FIELDS"]["ID"] for payload in connection.scalars(select(INBOX.c.payload))}
        if str(activity_id) not in ids:
            missing.append(activity_id)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post_and_check, range(1, 81)))
    assert missing == []
    assert len(inbox_rows()) == 80


def test_a_failed_commit_answers_503_and_says_the_event_is_lost(installed, live_app, sandbox, caplog) -> None:
    auth = real_auth(sandbox, installed)
    assert post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "1"}).status_code == 200
    with db.engine.begin() as connection:  # the database loses the table under the running app
        connection.execute(text("DROP TABLE inbox"))
    with caplog.at_level(logging.ERROR):
        response = post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "2"})
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert any("will not resend" in record.getMessage() for record in caplog.records)


def test_a_lone_event_is_not_held_back_waiting_for_company(installed, live_app, sandbox) -> None:
    auth = real_auth(sandbox, installed)
    response = post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "1"})
    assert response.status_code == 200
    assert response.elapsed.total_seconds() < 2.0  # generous: an idle flusher writes at once


def test_the_flask_test_client_goes_through_group_commit_too(installed, live_app, sandbox) -> None:
    client = live_app.app.test_client()
    auth = real_auth(sandbox, installed)
    form = {"event": "ONCRMACTIVITYDELETE", "ts": "1", "data[FIELDS][ID]": "4"}
    form |= {f"auth[{key}]": value for key, value in auth.items()}
    assert [client.post("/events", data=form).json["status"] for _ in range(2)] == ["accepted", "duplicate"]
    assert [row.event for row in inbox_rows()] == ["ONCRMACTIVITYDELETE"]


def group_writer(portal: Portal, token: str) -> InboxWriter:
    """A writer for the test database, with `token` as the portal's application_token."""
    set_application_token(portal, token)
    db.session.commit()
    return InboxWriter(db.engine, INBOX, Portal.__table__, max_batch=500)


def test_one_group_with_a_key_twice_stores_it_once_and_answers_one_new(portal, connected_app) -> None:
    writer = group_writer(portal, "real-token")
    event = {"event": "ONCRMACTIVITYADD", "ts": "5", "data": {"FIELDS": {"ID": "3"}}}
    start = threading.Barrier(20)
    member_id = portal.member_id

    def write(_: int) -> Outcome:
        start.wait(10)
        return writer.write(inbox_row(event, member_id, utcnow()), digest("real-token"))

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(write, range(20)))
    assert sorted(o.value for o in outcomes) == ["duplicate"] * 19 + ["stored"]
    assert len(inbox_rows()) == 1


def test_a_group_checks_each_sender_and_stores_only_the_real_ones(portal, connected_app) -> None:
    writer = group_writer(portal, "real-token")
    real_member = portal.member_id

    def write(n: int) -> Outcome:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        member_id = real_member if n % 4 else "0" * 32  # every 4th claims an unknown portal
        token = "real-token" if n % 3 else "forged"  # every 3rd presents a wrong token
        return writer.write(inbox_row(event, member_id, utcnow()), digest(token))

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(write, range(20)))
    genuine = [n for n in range(20) if n % 4 and n % 3]
    assert [n for n, o in enumerate(outcomes) if o is Outcome.STORED] == genuine
    assert all(o is Outcome.REFUSED for n, o in enumerate(outcomes) if n not in genuine)
    assert sorted(int(row.payload["data"]["FIELDS"]["ID"]) for row in inbox_rows()) == genuine


def test_a_writer_whose_database_is_gone_raises_instead_of_answering(tmp_path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite3'}")
    writer = InboxWriter(engine, INBOX, Portal.__table__)
    with pytest.raises(WriteFailed):
        writer.write({"dedup_key": "k", "event": "E", "member_id": "m", "payload": {}}, digest("t"))
    engine.dispose()


def test_a_forged_event_is_refused_and_nothing_is_stored(installed, live_app, sandbox) -> None:
    auth = {"member_id": installed.member_id, "application_token": "0" * 32}
    assert post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "1"}).status_code == 401
    assert requests.get(live_app.url + "/healthz", timeout=5).status_code == 200
    assert inbox_rows() == []


@contextmanager
def inbox_locked() -> Iterator[None]:
    """Another connection holds the lock an insert into the inbox needs, until the block ends."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE inbox IN EXCLUSIVE MODE"))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's write lock (its busy wait is 5 s)
        yield
        connection.rollback()


def test_a_row_that_waits_past_its_timeout_is_answered_503_never_written_and_the_lead_survives(
    portal, connected_app
) -> None:
    writer = group_writer(portal, "real-token")
    member_id = portal.member_id

    def row(n: int) -> dict:
        return inbox_row(
            {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}},
            member_id,
            utcnow(),
        )

    with ThreadPoolExecutor(1) as pool, inbox_locked():
        leader = pool.submit(writer.write, row(1), digest("real-token"))
        deadline = time.monotonic() + 5
        while not writer._writing and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(WriteFailed, match="no commit within"):
            writer.write(row(2), digest("real-token"), timeout=0.3)  # queued behind the stuck group
    assert leader.result(10) is Outcome.STORED
    assert writer.write(row(3), digest("real-token"), timeout=5) is Outcome.STORED  # someone leads again
    assert sorted(int(r.payload["data"]["FIELDS"]["ID"]) for r in inbox_rows()) == [1, 3]


def test_many_threads_form_groups_and_every_row_is_stored_once(portal, connected_app) -> None:
    writer = group_writer(portal, "real-token")
    member_id = portal.member_id
    start = threading.Barrier(16)

    def write(n: int) -> Outcome:
        if n < 16:
            start.wait(10)
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return writer.write(inbox_row(event, member_id, utcnow()), digest("real-token"))

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(write, range(400)))
    assert outcomes == [Outcome.STORED] * 400
    assert sorted(int(r.payload["data"]["FIELDS"]["ID"]) for r in inbox_rows()) == list(range(400))
    assert not writer._writing and not writer._queue  # the last leader let go


def test_a_row_promoted_before_it_first_waits_leads_its_group_and_is_answered(portal, connected_app) -> None:
    """The interleaving the events bench hit under load: the leader promotes a row whose thread has queued
    it but not yet waited. That row must take its signal, write its group and answer, not crash the lead."""
    writer = group_writer(portal, "real-token")
    writer.max_batch = 1  # the second row stays queued behind the first group, to be promoted
    writer.groups_led = 1
    member_id = portal.member_id

    def row(n: int) -> dict:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return inbox_row(event, member_id, utcnow())

    first = writer._enqueue(row(1), digest("real-token"))
    second = writer._enqueue(row(2), digest("real-token"))  # queued, and its thread has not waited yet
    assert writer._await(first, 5) is Outcome.STORED  # writes [1], promotes the second (its signal given)
    assert second.leads and not second.written
    assert writer._await(second, 5) is Outcome.STORED
    assert not writer._writing and not writer._queue
    assert sorted(int(r.payload["data"]["FIELDS"]["ID"]) for r in inbox_rows()) == [1, 2]


def test_a_leader_writes_the_groups_queued_behind_its_own_before_handing_the_lead_on(
    portal, connected_app
) -> None:
    writer = group_writer(portal, "real-token")
    writer.max_batch, writer.groups_led = 1, 2  # groups of one row; the leader writes two of them
    member_id = portal.member_id

    def row(n: int) -> dict:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return inbox_row(event, member_id, utcnow())

    rows = [writer._enqueue(row(n), digest("real-token")) for n in (1, 2, 3)]
    assert writer._await(rows[0], 5) is Outcome.STORED
    assert rows[1].written and not rows[1].leads  # written by the first leader: no hand-off
    assert rows[2].leads and not rows[2].written  # the third group is the next leader's
    assert writer._await(rows[2], 5) is Outcome.STORED and writer._await(rows[1], 5) is Outcome.STORED
    assert not writer._writing and not writer._queue


@pytest.mark.skipif(
    not POSTGRES_URL, reason="TEST_DATABASE_URL not set: needs a server whose backend can be killed"
)
def test_a_writer_whose_connection_died_writes_the_next_group_on_a_new_one(portal, connected_app) -> None:
    writer = group_writer(portal, "real-token")
    member_id = portal.member_id

    def row(n: int) -> dict:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return inbox_row(event, member_id, utcnow())

    assert writer.write(row(1), digest("real-token")) is Outcome.STORED
    backend = writer._connection.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
    with db.engine.connect() as killer:  # what a database restart does to every open connection
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    assert writer.write(row(2), digest("real-token")) is Outcome.STORED
    assert sorted(int(r.payload["data"]["FIELDS"]["ID"]) for r in inbox_rows()) == [1, 2]


def test_a_row_written_by_the_group_reads_back_through_the_models_unchanged(portal, connected_app) -> None:
    writer = group_writer(portal, "real-token")
    event = {"event": "ONCRMACTIVITYADD", "ts": "7", "data": {"FIELDS": {"ID": "7"}}, "auth": {"domain": "x"}}
    now = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)
    values = inbox_row(event, portal.member_id, now)
    assert writer.write(values, digest("real-token")) is Outcome.STORED
    [row] = inbox_rows()
    assert (row.dedup_key, row.event, row.member_id) == (
        values["dedup_key"],
        "ONCRMACTIVITYADD",
        portal.member_id,
    )
    assert row.payload == values["payload"] and row.status is InboxStatus.PENDING and row.attempts == 0
    assert row.received_at == now and row.next_attempt_at == now


def test_a_forged_copy_in_the_same_group_neither_blocks_nor_rides_on_the_real_event(
    portal, connected_app
) -> None:
    writer = group_writer(portal, "real-token")
    event = {"event": "ONCRMACTIVITYADD", "ts": "9", "data": {"FIELDS": {"ID": "9"}}}
    tokens = ["forged", "real-token", "forged", "real-token"]  # the copy with a wrong token comes first
    group = [PendingRow(inbox_row(event, portal.member_id, utcnow()), digest(token)) for token in tokens]
    writer._commit(group)  # one group, exactly as the leader writes it
    assert [row.outcome for row in group] == [
        Outcome.REFUSED,
        Outcome.STORED,
        Outcome.REFUSED,
        Outcome.DUPLICATE,
    ]
    assert len(inbox_rows()) == 1


@contextmanager
def inbox_trigger(postgres_body: str, sqlite_body: str | None) -> Iterator[None]:
    """A BEFORE INSERT trigger on the inbox, run for every row, until the block ends."""
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "CREATE FUNCTION inbox_test_trigger() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {postgres_body}; RETURN NEW; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER inbox_test BEFORE INSERT ON inbox FOR EACH ROW "
                "EXECUTE FUNCTION inbox_test_trigger()"
            )
        elif sqlite_body is None:
            pytest.skip("SQLite has no way to make one statement wait")
        else:
            connection.exec_driver_sql(
                f"CREATE TRIGGER inbox_test BEFORE INSERT ON inbox BEGIN {sqlite_body}; END"
            )
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "DROP TRIGGER inbox_test" + (" ON inbox" if db.engine.dialect.name == "postgresql" else "")
            )
            if db.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("DROP FUNCTION inbox_test_trigger()")


def test_a_leader_whose_group_failed_hands_the_lead_on_instead_of_writing_more(portal, connected_app) -> None:
    """A failing database answers the leader's own 503 after its group, not after three more failing ones."""
    writer = group_writer(portal, "real-token")
    writer.max_batch = 1
    member_id = portal.member_id

    def row(n: int) -> dict:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return inbox_row(event, member_id, utcnow())

    refused = "RAISE EXCEPTION 'refused by the test'", "SELECT RAISE(ABORT, 'refused by the test')"
    with inbox_trigger(*refused):
        first, second = (writer._enqueue(row(n), digest("real-token")) for n in (1, 2))
        with pytest.raises(WriteFailed):
            writer._await(first, 5)
        assert second.leads and not second.written  # handed on, not written by the failed leader
        with pytest.raises(WriteFailed):
            writer._await(second, 5)
    assert inbox_rows() == []
    assert writer.write(row(3), digest("real-token")) is Outcome.STORED


def test_a_group_that_fails_answers_every_waiter_and_acknowledges_none(portal, connected_app) -> None:
    """A leader's group and the followers queued behind it all fail with the statement; none is stored."""
    writer = group_writer(portal, "real-token")
    member_id = portal.member_id

    def write(n: int) -> Outcome | str:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        try:
            return writer.write(inbox_row(event, member_id, utcnow()), digest("real-token"), timeout=20)
        except WriteFailed:
            return "failed"

    refused = "RAISE EXCEPTION 'refused by the test'", "SELECT RAISE(ABORT, 'refused by the test')"
    with inbox_trigger(*refused), ThreadPoolExecutor(16) as pool:
        with inbox_locked():  # the first group waits on the lock, so the other fifteen queue behind it
            answers = [pool.submit(write, n) for n in range(16)]
            deadline = time.monotonic() + 10
            while len(writer._queue) < 15 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(writer._queue) == 15  # followers, waiting for the next group
        assert [answer.result(30) for answer in answers] == ["failed"] * 16
    assert inbox_rows() == []
    assert write(99) is Outcome.STORED  # the trigger gone, the next row leads and is stored


def test_a_row_whose_timeout_passes_while_its_group_is_written_gets_that_groups_outcome(
    portal, connected_app
) -> None:
    """Taken into a group already being written, a row cannot be withdrawn: it answers with the group."""
    writer = group_writer(portal, "real-token")
    member_id = portal.member_id

    def write(n: int, timeout: float) -> Outcome:
        event = {"event": "ONCRMACTIVITYADD", "ts": str(n), "data": {"FIELDS": {"ID": str(n)}}}
        return writer.write(inbox_row(event, member_id, utcnow()), digest("real-token"), timeout=timeout)

    with inbox_trigger("PERFORM pg_sleep(1)", None), ThreadPoolExecutor(3) as pool:
        first = pool.submit(write, 1, 30)  # its group of one takes 1 s
        while not writer._writing or writer._queue:  # until its leader has taken it as a group
            time.sleep(0.01)
        second = pool.submit(write, 2, 30)  # promoted at ~1 s, it leads 2 and 3: written from ~1 s to ~3 s
        third = pool.submit(write, 3, 1.7)  # gives up at ~1.7 s, in the middle of that group
        assert [future.result(30) for future in (first, second, third)] == [Outcome.STORED] * 3
    assert sorted(int(r.payload["data"]["FIELDS"]["ID"]) for r in inbox_rows()) == [1, 2, 3]
