"""Actions that cannot repeat by accident: a page token's nonce is spent when its form's action runs."""

from __future__ import annotations

import threading
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from app.activities import templates
from app.extensions import db
from app.models import ApiKey, UsedNonce, utcnow
from app.portals import nonces, page_tokens
from tests.test_app_activities import made, opened_page, seeded_todo
from tests.test_main import open_main_page, page_token

ALREADY = "This form was already sent, so nothing was done again."


def create_form(connected_app, sandbox, portal):
    """The activity page's "Add a linked activity" form, as the browser would post it."""
    todo = seeded_todo(sandbox)
    client, token = opened_page(connected_app, sandbox, todo.id)
    template = templates.find_template(portal.member_id, "Follow-up call")
    form = {"page_token": token, "lang": "en", "template_id": str(template.id)}
    return client, f"/activity/{todo.id}/create", form


def test_a_reload_after_adding_a_linked_activity_adds_nothing(connected_app, sandbox, portal) -> None:
    client, url, form = create_form(connected_app, sandbox, portal)
    before = set(made(sandbox))
    first = client.post(url, data=form)
    assert first.status_code == 200 and len(set(made(sandbox)) - before) == 1
    reload = client.post(url, data=form)  # what the browser re-sends on reload
    assert reload.status_code == 200 and ALREADY in unescape(reload.get_data(as_text=True))
    assert len(set(made(sandbox)) - before) == 1
    again = client.post(url, data={**form, "page_token": page_token(first)})  # the answer page's form
    assert again.status_code == 200 and len(set(made(sandbox)) - before) == 2


def test_two_submits_at_once_add_one_activity(connected_app, sandbox, portal) -> None:
    _client, url, form = create_form(connected_app, sandbox, portal)
    before = set(made(sandbox))
    answers: list[int] = []

    def submit() -> None:
        answers.append(connected_app.test_client().post(url, data=form).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [200, 200] and len(set(made(sandbox)) - before) == 1


def test_a_reload_after_creating_an_api_key_creates_none_and_shows_no_key(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    form = {"page_token": token, "lang": "en", "label": "Helpdesk"}
    assert client.post("/api-keys", data=form).status_code == 200
    reload = client.post("/api-keys", data=form)
    html = reload.get_data(as_text=True)
    assert reload.status_code == 200 and 'id="already-done"' in html and "new-api-key-value" not in html
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_spent_nonces_are_forgotten_once_their_token_has_expired(app) -> None:
    now = utcnow()
    with app.test_request_context():
        old = page_tokens.read(page_tokens.issue(member_id="m" * 32, user_id=1, is_admin=True, now=now))
        assert nonces.spend(old, now=now) and not nonces.spend(old, now=now)
        fresh = page_tokens.read(page_tokens.issue(member_id="m" * 32, user_id=1, is_admin=True))
        assert nonces.spend(fresh, now=now + page_tokens.LIFETIME + timedelta(seconds=1))
        assert [row.nonce for row in db.session.scalars(select(UsedNonce))] == [fresh.nonce]
