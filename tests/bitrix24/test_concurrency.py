"""Many processes, one portal: exactly one refresh per expiry, and no 503 reaching a caller."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from flask import Flask

from app.extensions import db
from app.models import Portal
from tests.bitrix24 import processes

PROCESSES = 4


def child_config(app: Flask) -> dict:
    keys = (
        "APP_ENV",
        "SECRET_KEY",
        "TOKEN_KEYS",
        "SQLALCHEMY_DATABASE_URI",
        "B24_CLIENT_ID",
        "B24_CLIENT_SECRET",
        "B24_OAUTH_URL",
        "B24_ALLOWED_HOSTS",
        "APP_BASE_URL",
    )
    return {key: app.config[key] for key in keys}


def run_processes(app: Flask, member_id: str, *, threads: int, calls: int) -> Counter:
    """Run PROCESSES children of `threads` threads each, released together; count every outcome."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES * threads)
    out = context.Queue()
    children = [
        context.Process(
            target=processes.call_many, args=(child_config(app), member_id, threads, calls, barrier, out)
        )
        for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    outcomes = Counter()
    for _ in children:
        outcomes.update(out.get(timeout=180))
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    return outcomes


def refreshes(sandbox) -> int:
    """How many refresh grants the sandbox's OAuth server honoured."""
    return sum(1 for token in sandbox.state.refresh_tokens.values() if token.refresh_used)


def test_an_expiry_hit_by_64_threads_in_4_processes_refreshes_exactly_once(
    connected_app, portal, sandbox
) -> None:
    sandbox.configure(limits_enabled=False)
    stored = db.session.get(Portal, portal.id)
    from app.portals import read_tokens

    sandbox.state.tokens[read_tokens(stored).access_token].expires_at = 0
    outcomes = run_processes(connected_app, portal.member_id, threads=16, calls=1)
    assert outcomes["call:ok"] == PROCESSES * 16
    assert not [o for o in outcomes if o.startswith("call:") and o != "call:ok"], outcomes
    assert refreshes(sandbox) == 1
    db.session.expire_all()
    assert db.session.get(Portal, portal.id).token_version == 2


@pytest.mark.slow
def test_4_processes_share_the_bucket_and_no_503_reaches_a_caller(connected_app, portal, sandbox) -> None:
    sandbox.configure(limits_enabled=True, rate=10, burst=10)
    portal.rate_limit.rate, portal.rate_limit.burst = 10.0, 10
    db.session.commit()
    outcomes = run_processes(connected_app, portal.member_id, threads=1, calls=100)
    assert outcomes["call:ok"] == PROCESSES * 100
    assert outcomes["call:QueryLimitExceeded"] == 0
    assert outcomes["http:QUERY_LIMIT_EXCEEDED"] == 0, (
        "the shared bucket should keep every request under the limit"
    )
