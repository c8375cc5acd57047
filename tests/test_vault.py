"""The token vault: encryption at rest, rotation across keys, a typed error for a lost key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text

from app.models import Portal
from app.portals import store
from app.portals.vault import TokenVault, UndecryptableSecret

ACCESS = "4991e86600715db20058f18a00000001302a076f538759f623791a7dece3ebd357ae95"
REFRESH = "3910106700715db20058f18a00000001302a07aec4e4fe2f9bcbe401caff9773d9e489"


def add_portal(db, member_id: str) -> Portal:
    portal = Portal(
        member_id=member_id,
        domain=f"{member_id[:6]}.bitrix24.com",
        client_endpoint=f"https://{member_id[:6]}.bitrix24.com/rest/",
    )
    store.store_tokens(
        portal,
        access_token=ACCESS + member_id[:2],
        refresh_token=REFRESH + member_id[:2],
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    db.session.add(portal)
    db.session.commit()
    return portal


def use_keys(app: Flask, keys: list[str]) -> None:
    app.extensions["vault"] = TokenVault(keys)


def test_round_trip_and_nothing_in_clear_text(app: Flask, db) -> None:
    portal = add_portal(db, "a" * 32)
    tokens = store.read_tokens(portal)
    assert (tokens.access_token, tokens.refresh_token, tokens.version) == (ACCESS + "aa", REFRESH + "aa", 1)
    raw = db.session.execute(text("SELECT access_token_enc, refresh_token_enc FROM portals")).one()
    assert ACCESS not in "".join(raw) and REFRESH not in "".join(raw)


def test_each_store_bumps_the_token_version(app: Flask, db) -> None:
    portal = add_portal(db, "b" * 32)
    store.store_tokens(portal, access_token="x" * 70, refresh_token="y" * 70, expires_at=datetime.now(UTC))
    assert store.read_tokens(portal).version == 2


def test_rotation_with_two_keys(app: Flask, db, runner) -> None:
    old, new = app.config["TOKEN_KEYS"][0], Fernet.generate_key().decode()
    for n in range(5):
        add_portal(db, f"{n:02d}" + "c" * 30)
    use_keys(app, [new, old])
    assert (
        store.read_tokens(db.session.get(Portal, 1)).access_token == ACCESS + "00"
    )  # old ciphertext readable

    result = runner.invoke(args=["vault", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "rotated 10 secrets; 0 already under the first key" in result.output
    again = runner.invoke(args=["vault", "rotate"])
    assert "rotated 0 secrets; 10 already under the first key" in again.output

    use_keys(app, [new])  # the old key is dropped: everything still reads
    db.session.expire_all()
    for portal in db.session.query(Portal):
        assert store.read_tokens(portal).refresh_token.startswith(REFRESH)


def test_a_secret_no_key_decrypts_names_the_portal(app: Flask, db, runner) -> None:
    add_portal(db, "d" * 32)
    use_keys(app, [Fernet.generate_key().decode()])
    portal = db.session.query(Portal).one()
    with pytest.raises(UndecryptableSecret) as raised:
        store.read_tokens(portal)
    assert raised.value.member_id == "d" * 32 and "d" * 32 in str(raised.value)
    result = runner.invoke(args=["vault", "rotate"])
    assert result.exit_code == 1 and "d" * 32 in result.output and "Traceback" not in result.output


def test_erased_tokens_read_as_none(app: Flask, db) -> None:
    portal = add_portal(db, "e" * 32)
    store.erase_tokens(portal)
    assert store.read_tokens(portal) is None


def test_application_token_is_kept_only_as_a_digest(app: Flask, db) -> None:
    portal = add_portal(db, "f" * 32)
    token = "51856fefc120afa4b628cc82d3935cce"
    store.set_application_token(portal, token)
    db.session.commit()
    assert token not in str(db.session.execute(text("SELECT * FROM portals")).all())
    assert store.application_token_matches(portal, token)
    assert not store.application_token_matches(portal, token[:-1] + "f")
    assert not store.application_token_matches(portal, "")
