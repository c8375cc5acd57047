"""What an activity page open costs the database, and the caches behind it: never another language's words
or another portal's data."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import event

from app.activities import templates
from app.extensions import db
from app.i18n import gettext
from app.main import texts as main_texts
from app.models import TemplateSeed
from app.timeline import configurable_texts, editor
from app.timeline import texts as page_texts
from sandbox.apps import find_app
from sandbox.ui.frame import open_frame
from tests.conftest import install_portal
from tests.test_timeline_page import bind_list_menu

LAYOUT = {"blocks": {"a": {"type": "text", "properties": {"value": "{{SUBJECT}}"}}}}
EDITOR_TEXTS = re.compile(r'<script id="tb-editor-texts" type="application/json">(.*?)</script>', re.S)
# One msgid from each table the page shows: the page's own, the create form's, the configurable form's,
# the CRM types' and the block editor's.
WORDS = (
    page_texts.TEXTS["bindings"],
    main_texts.TEXTS["create_title"],
    configurable_texts.TEXTS["heading"],
    page_texts.OWNER_TYPES[2],
)


def open_from_menu(
    client: FlaskClient,
    sandbox: Any,
    where: Any,
    activity_id: int,
    lang: str,
    status: int = 200,
    **fields: str,
) -> str:
    """The portal's slider opening CRM_ACTIVITY_LIST_MENU for `activity_id` on portal `where`, in `lang`."""
    opened = open_frame(
        sandbox.state,
        where,
        find_app(sandbox.state, where),
        where.users[1],
        lang=lang,
        placement="CRM_ACTIVITY_LIST_MENU",
        options={"ID": activity_id},
    )
    url = urlsplit(opened.url)
    response = client.post(f"{url.path}?{urlencode(parse_qsl(url.query))}", data={**opened.fields, **fields})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def editor_texts(html: str) -> dict[str, Any]:
    found = EDITOR_TEXTS.search(html)
    assert found, "the page carries no block editor texts"
    return json.loads(found.group(1))


def test_pages_in_two_languages_in_a_row_each_speak_their_own(connected_app, sandbox, portal) -> None:
    bind_list_menu(portal)
    activity_id = min(sandbox.portal.crm.activities)
    client = connected_app.test_client()
    for msgid in (*WORDS, editor.TYPES["largeText"]):
        assert gettext("de", msgid) != gettext("ru", msgid), msgid  # else this test could not tell them apart
    for lang, tag, other in (
        ("de", "de", "ru"),
        ("ru", "ru", "de"),
        ("de_DE", "de", "ru"),
        ("br", "pt-BR", "de"),
    ):
        html = open_from_menu(client, sandbox, sandbox.portal, activity_id, lang)
        locale = tag.replace("-", "_")
        for msgid in WORDS:
            assert str(escape(gettext(locale, msgid))) in html, (lang, msgid)
            assert str(escape(gettext(other, msgid))) not in html, (lang, other, msgid)
        said = editor_texts(html)
        assert said["lang"] == tag and said["types"]["largeText"] == gettext(locale, "Large text")


def test_two_portals_in_a_row_each_list_their_own_templates(connected_app, sandbox, portal) -> None:
    other = install_portal(sandbox, portal=sandbox.portals[1])
    for row in (portal, other):
        bind_list_menu(row)
        name = f"Only {row.member_id[:8]}"
        templates.add_template(
            row.member_id, {"name": name, "subject": "S", "description": "", "layout": LAYOUT}
        )
        db.session.commit()  # before the next portal's registration calls it (the limiter writes)
    client = connected_app.test_client()
    for _ in range(2):
        for where, row, stranger in (
            (sandbox.portals[0], portal, other),
            (sandbox.portals[1], other, portal),
        ):
            html = open_from_menu(client, sandbox, where, min(where.crm.activities), "en")
            assert f">Only {row.member_id[:8]}</option>" in html
            assert f"Only {stranger.member_id[:8]}" not in html


def test_a_page_open_reads_three_times_then_writes_the_shared_bucket_once(
    connected_app, sandbox, portal
) -> None:
    bind_list_menu(portal)
    activity_id = min(sandbox.portal.crm.activities)
    client = connected_app.test_client()
    open_from_menu(client, sandbox, sandbox.portal, activity_id, "en")  # seeds the default templates
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        open_from_menu(client, sandbox, sandbox.portal, activity_id, "en")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    kinds = [statement.split()[0] for statement in seen]
    assert kinds == ["SELECT", "SELECT", "SELECT", "UPDATE"], seen
    assert "FROM portals LEFT OUTER JOIN rate_limits" in seen[0]  # the portal with its bucket, at once
    assert "FROM activity_templates" in seen[1]  # the create form's choices, before the write below
    assert "FROM verify_throttle" in seen[2]  # the unverified-token budgets
    assert seen[3].startswith("UPDATE rate_limits")  # the shared bucket's one conditional UPDATE


def test_the_default_templates_reach_a_never_seeded_portal_only_once_its_user_is_verified(
    connected_app, sandbox, portal
) -> None:
    bind_list_menu(portal)
    activity_id = min(sandbox.portal.crm.activities)
    client = connected_app.test_client()
    open_from_menu(client, sandbox, sandbox.portal, activity_id, "en", status=401, AUTH_ID="x" * 32)
    assert db.session.get(TemplateSeed, portal.member_id) is None  # a refused token wrote nothing
    html = open_from_menu(client, sandbox, sandbox.portal, activity_id, "en")
    assert db.session.get(TemplateSeed, portal.member_id) is not None
    assert '<option value="' in html and ">Follow-up call</option>" in html
