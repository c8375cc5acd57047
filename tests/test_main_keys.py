"""The API keys section of the administrators' main page: a new key is shown once; keys are revoked."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.api import keys
from app.extensions import db
from app.models import ApiKey
from tests.test_main import open_main_page, page_token
from tests.test_main_rules import admin_token

KEY = re.compile(r'<code id="new-api-key-value" data-key-id="(\d+)">(tb_[0-9a-f]{12}_[A-Za-z0-9_-]+)</code>')


def stored() -> list[ApiKey]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))


def test_the_admin_page_has_the_keys_section(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert 'id="api-keys"' in html and 'id="no-api-keys"' in html and 'action="/api-keys"' in html
    assert "http://127.0.0.1:5000/api/v1" in html


def test_the_label_example_is_in_the_portal_language(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    assert 'placeholder="Служба поддержки"' in html and 'placeholder="Helpdesk"' not in html


def test_a_new_key_is_shown_once_works_and_is_stored_as_a_digest(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    response = client.post("/api-keys", data={"page_token": token, "lang": "en", "label": "Helpdesk"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    key_id, full = KEY.search(html).groups()
    assert "Copy this key now: it is shown only once" in html and "Key \u201cHelpdesk\u201d created." in html
    [key] = stored()
    assert (str(key.id), key.label, key.member_id) == (key_id, "Helpdesk", portal.member_id)
    assert key.secret_sha256 == keys.digest(full.split("_", 2)[2]) and full.split("_", 2)[2] not in str(
        vars(key)
    )
    later = open_main_page(client, sandbox).get_data(as_text=True)
    assert full not in later and f"tb_{key.prefix}_…" in later and "Helpdesk" in later
    answer = client.put(
        "/api/v1/activities/1/layout", json={"layout": {}}, headers={"Authorization": f"Bearer {full}"}
    )
    assert answer.status_code == 400  # authenticated: only the body is wrong


def test_revoking_a_key_refuses_it_from_then_on(connected_app, sandbox, portal) -> None:
    key, full = keys.create_key(portal.member_id, "ERP")
    db.session.commit()
    client = connected_app.test_client()
    response = client.post(
        f"/api-keys/{key.id}/revoke", data={"page_token": admin_token(portal), "lang": "en"}
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 200 and "Key \u201cERP\u201d revoked" in html and 'data-revoked="yes"' in html
    )
    assert stored()[0].revoked_at is not None
    refused = client.put("/api/v1/activities/1/layout", json={}, headers={"Authorization": f"Bearer {full}"})
    assert refused.status_code == 401


def test_keys_of_other_portals_and_non_administrators_are_refused(connected_app, sandbox, portal) -> None:
    theirs, _ = keys.create_key("o" * 32, "theirs")
    db.session.commit()
    client = connected_app.test_client()
    other = client.post(
        f"/api-keys/{theirs.id}/revoke", data={"page_token": admin_token(portal), "lang": "en"}
    )
    assert other.status_code == 404 and stored()[0].revoked_at is None
    user = client.post("/api-keys", data={"page_token": admin_token(portal, is_admin=False), "lang": "en"})
    assert user.status_code == 403 and len(stored()) == 1
    long = client.post(
        "/api-keys", data={"page_token": admin_token(portal), "lang": "en", "label": "x" * 300}
    )
    assert long.status_code == 400 and len(stored()) == 1
