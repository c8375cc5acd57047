"""Page tokens: sealed (signed and encrypted), short-lived, bound to one portal."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from app.portals import page_tokens
from app.portals.page_tokens import ExpiredPageToken, ForeignPageToken, TamperedPageToken
from app.portals.vault import UndecryptableSecret

MEMBER = "a" * 32
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def issue(**overrides: object) -> str:
    fields = {
        "member_id": MEMBER,
        "user_id": 7,
        "is_admin": True,
        "access_token": "f" * 70,
        "activity_id": 42,
        "now": NOW,
        **overrides,
    }
    return page_tokens.issue(**fields)  # type: ignore[arg-type]


def test_a_token_reads_back_what_was_issued(app) -> None:
    session = page_tokens.read(issue(), member_id=MEMBER, now=NOW + timedelta(minutes=59))
    assert session.member_id == MEMBER and session.user_id == 7 and session.is_admin is True
    assert session.access_token == "f" * 70 and session.activity_id == 42
    assert session.expires_at == NOW + page_tokens.LIFETIME


def test_the_token_hides_what_it_carries(app) -> None:
    token = issue()
    padded = token + "=" * (-len(token) % 4)
    raw = base64.urlsafe_b64decode(padded)
    assert b"f" * 20 not in raw and MEMBER.encode() not in raw and "ffff" not in token


def test_an_optional_activity_and_a_non_admin_round_trip(app) -> None:
    session = page_tokens.read(issue(is_admin=False, activity_id=None, access_token=""), now=NOW)
    assert session.is_admin is False and session.activity_id is None and session.access_token == ""


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
        lambda t: t[:20] + ("x" if t[20] != "x" else "y") + t[21:],
        lambda t: t[: len(t) // 2],
        lambda t: "",
        lambda t: "not a token at all",
    ],
    ids=["changed-signature", "changed-body", "truncated", "empty", "garbage"],
)
def test_an_altered_token_is_refused(app, mangle) -> None:
    with pytest.raises(TamperedPageToken):
        page_tokens.read(mangle(issue()), now=NOW)


def test_a_token_made_with_another_secret_key_is_refused(app) -> None:
    token = issue()
    app.config["SECRET_KEY"] = "another-secret-key-" + "y" * 32
    with pytest.raises(TamperedPageToken):
        page_tokens.read(token, now=NOW)


def test_a_vault_key_cannot_read_a_page_token(app) -> None:
    with pytest.raises(UndecryptableSecret):
        app.extensions["vault"].decrypt(issue(), member_id=MEMBER, field="access_token")


def test_an_expired_token_is_refused(app) -> None:
    token = issue()
    with pytest.raises(ExpiredPageToken):
        page_tokens.read(token, now=NOW + page_tokens.LIFETIME)
    assert page_tokens.read(token, now=NOW + page_tokens.LIFETIME - timedelta(seconds=1))


def test_a_token_of_another_portal_is_refused(app) -> None:
    with pytest.raises(ForeignPageToken):
        page_tokens.read(issue(), member_id="b" * 32, now=NOW)


def test_every_refusal_is_a_page_token_error_with_a_reason(app) -> None:
    for error in (TamperedPageToken(), ExpiredPageToken(), ForeignPageToken()):
        assert isinstance(error, page_tokens.PageTokenError) and error.reason
