"""The administrators' API keys on the main page: create (the key is shown once) and revoke."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue

from app.api import keys
from app.extensions import db
from app.main.admin import Admin, as_admin
from app.main.blueprint import bp
from app.main.pages import render_page
from app.main.texts import texts
from app.models import ApiKey, Portal


@bp.post("/api-keys")
@as_admin("create API key")
def create_api_key(admin: Admin) -> ResponseReturnValue:
    """Create a key for the page token's portal and show it this once (never cached, never again)."""
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    label = request.form.get("label", "").strip()
    if len(label) > keys.LABEL_LENGTH:
        return keys_page(portal, lang, page_token, message=texts(lang)["api_key_label_long"]), 400
    key, full = keys.create_key(portal.member_id, label)
    db.session.commit()
    notice = texts(lang)["api_key_created"].format(label=key.label or keys.shown(key))
    html = keys_page(portal, lang, page_token, notice=notice, new_key=full, new_key_id=key.id)
    return html, 200, {"Cache-Control": "no-store"}


@bp.post("/api-keys/<int:key_id>/revoke")
@as_admin("revoke API key")
def revoke_api_key(admin: Admin, key_id: int) -> ResponseReturnValue:
    """Revoke one of the portal's keys: requests carrying it are refused from now on."""
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    key = keys.find_key(portal.member_id, key_id)
    if key is None:
        return keys_page(portal, lang, page_token, message=texts(lang)["api_key_missing"]), 404
    keys.revoke(key)
    db.session.commit()
    notice = texts(lang)["api_key_revoked_notice"].format(label=key.label or keys.shown(key))
    return keys_page(portal, lang, page_token, notice=notice)


def keys_page(portal: Portal, lang: str, page_token: str, **context: Any) -> str:
    """The portal's keys after an action."""
    rows = keys.portal_keys(portal.member_id)
    return render_page("main/api_keys.html", lang, api_keys=rows, page_token=page_token, **context)


@bp.app_template_global()
def portal_api_keys(member_id: str) -> list[ApiKey]:
    """The admin page's keys section reads the list itself (templates/main/_api_keys.html)."""
    return keys.portal_keys(member_id)


@bp.app_template_global()
def api_base_url() -> str:
    """Where external systems send their requests."""
    return str(current_app.config["APP_BASE_URL"]).rstrip("/") + url_for("api.openapi_json").rsplit("/", 1)[0]
