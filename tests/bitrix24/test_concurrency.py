"""Many processes, one portal: exactly one refresh per expiry, and no 503 reaching a caller."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Portal
from app.portals.store import read_tokens
from bench import loadgen

PROCESSES = 4


def refreshes(sandbox) -> int:
    """How many refresh grants the sandbox's OAuth server honoured."""
    return sum(1 for token in sandbox.state.refresh_tokens.values() if token.refresh_used)


def test_an_expiry_hit_by_64_threads_in_4_processes_refreshes_exactly_once(
    connected_app, portal, sandbox
) -> None:
    sandbox.configure(limits_enabled=False)
    sandbox.state.tokens[read_tokens(portal).access_token].expires_at = 0
    outcomes = loadgen.run_processes(
        connected_app.config, PROCESSES, portal.member_id, threads=16, calls=1
    ).outcomes
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
    outcomes = loadgen.run_processes(
        connected_app.config, PROCESSES, portal.member_id, threads=1, calls=100
    ).outcomes
    assert outcomes["call:ok"] == PROCESSES * 100
    assert outcomes["call:QueryLimitExceeded"] == 0
    assert outcomes["http:QUERY_LIMIT_EXCEEDED"] == 0, (
        "the shared bucket should keep every request under the limit"
    )
