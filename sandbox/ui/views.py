"""Portal UI routes: pages on the portal host, JSON endpoints under /_ui/ for the slider and timeline."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Response, abort, render_template, request, send_file
from markupsafe import Markup, escape

from sandbox.state import InstalledApp, Portal, Sandbox
from sandbox.ui import bp
from sandbox.ui.menus import menu_items, timeline_menu_code
from sandbox.ui.session import LANG_COOKIE, USER_COOKIE, current_lang, current_user, portal_or_404
from sandbox.ui.texts import translate
from sandbox.ui.timeline import (
    OWNER_SLUGS,
    TODO_COLORS,
    all_activities,
    owner_groups,
    owner_labels,
    owner_timeline,
    owner_url,
)
from sandbox.web import current_sandbox

SHIM = Path(__file__).parent / "static" / "bx24.js"
LIST_MENU = "CRM_ACTIVITY_LIST_MENU"  # notes §3.3


def locked(view: Callable[..., str]) -> Callable[..., str]:
    """Render under the sandbox lock so REST calls cannot change the state mid-page."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> str:
        with current_sandbox().lock:
            return view(*args, **kwargs)

    return run


@bp.after_request
def remember_choices(response: Response) -> Response:
    """Keep ?user_id= and ?lang= in cookies, as a login session would."""
    for arg, cookie in (("user_id", USER_COOKIE), ("lang", LANG_COOKIE)):
        value = request.args.get(arg)
        if value:
            response.set_cookie(cookie, value, samesite="Lax")
    return response


@bp.app_template_filter("nl2br")
def nl2br(value: str) -> Markup:
    """Escape text and turn newlines into <br> (notes §6.2: text `multiline`)."""
    return Markup("<br>").join(escape(value).split("\n"))


def registered_app(sandbox: Sandbox, portal: Portal) -> InstalledApp | None:
    """Return the registered app's row on this portal, or None when it was uninstalled."""
    reg = next(iter(sandbox.registrations.values()), None)
    return portal.apps.get(reg.client_id) if reg else None


def page_context(portal: Portal) -> dict[str, Any]:
    """Return what every page's header needs."""
    sandbox = current_sandbox()
    user = current_user(portal)
    lang = current_lang(portal)
    return {
        "portal": portal,
        "user": user,
        "users": sorted(portal.users.values(), key=lambda u: u.id),
        "lang": lang,
        "app": registered_app(sandbox, portal),
        "registration": next(iter(sandbox.registrations.values()), None),
        "tr": lambda value: translate(value, lang),
        "owner_url": owner_url,
        "owner_labels": owner_labels(portal),
        "owner_groups": owner_groups(portal),
        "todo_colors": TODO_COLORS,
        "notice": request.args.get("notice", ""),
        "list_menu": list_menu(portal, lang),
        "entries": entries,
    }


def entries(value: Any) -> list[Any]:
    """Return the items of an associative object or a list (layout DTOs accept both shapes)."""
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, dict)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def list_menu(portal: Portal, lang: str) -> list[dict[str, str]]:
    """CRM_ACTIVITY_LIST_MENU items: only placements bound by installed apps (notes §1.1, §3.3)."""
    return menu_items(portal, LIST_MENU, lang)


@bp.route("/")
@locked
def home() -> str:
    """Portal home: CRM items and the registered app with its install state."""
    portal = portal_or_404()
    items = sorted(portal.owners.values(), key=lambda o: o.id)
    owners = {t: [o for o in items if o.type_id == t] for t in [*OWNER_SLUGS, *portal.smart_types]}
    activities = list(portal.crm.activities.values())
    counts = {key: sum(1 for a in activities if key in a.bindings) for key in portal.owners}
    return render_template("ui/home.html", owners=owners, counts=counts, **page_context(portal))


@bp.route("/crm/<slug>/details/<int:owner_id>/")
@locked
def owner_card(slug: str, owner_id: int) -> str:
    """A CRM item card with its timeline (lead, deal, contact, company, estimate)."""
    type_id = next((t for t, s in OWNER_SLUGS.items() if s == slug), 0)
    return render_card(type_id, owner_id)


@bp.route("/crm/type/<int:type_id>/details/<int:owner_id>/")
@locked
def smart_card(type_id: int, owner_id: int) -> str:
    """A smart process item's card (the portal's /crm/type/<entityTypeId>/details/<id>/)."""
    return render_card(type_id, owner_id)


def render_card(type_id: int, owner_id: int) -> str:
    """Render an item's card: its fields and timeline, each activity with the ⋯ menu of the item's type."""
    portal = portal_or_404()
    owner = portal.owners.get((type_id, owner_id))
    if owner is None:
        abort(404, description="CRM item is not found")
    rows = owner_timeline(portal, owner)
    scheduled = [r for r in rows if r.scheduled]
    history = [r for r in rows if not r.scheduled]
    context = page_context(portal)
    menu = menu_items(portal, timeline_menu_code(portal, type_id), context["lang"])
    return render_template(
        "ui/owner.html", owner=owner, scheduled=scheduled, history=history, timeline_menu=menu, **context
    )


@bp.route("/crm/activity/list/")
@locked
def activity_list() -> str:
    """The activity grid; each row's context menu lists CRM_ACTIVITY_LIST_MENU placements (notes §3.3)."""
    portal = portal_or_404()
    rows = all_activities(portal)
    owner = (request.args.get("owner_type_id", type=int), request.args.get("owner_id", type=int))
    if owner[0] and owner[1]:
        rows = [r for r in rows if owner in r.activity.bindings]
    return render_template("ui/activities.html", rows=rows, **page_context(portal))


@bp.route("/favicon.ico")
def favicon() -> Response:
    """No icon (keeps the browser console clean)."""
    return Response(status=204)


@bp.route("/bx24.js")
@bp.route("/api/v1/")
def bx24_shim() -> Response:
    """Serve the BX24 shim where B24_JS_URL points (the vendor serves it at //api.bitrix24.com/api/v1/)."""
    response = send_file(SHIM, mimetype="text/javascript", max_age=0)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
