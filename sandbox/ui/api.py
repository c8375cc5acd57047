"""Endpoints the portal pages call: open the app in the slider, lifecycle buttons, timeline changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from sandbox import apps
from sandbox.state import InstalledApp, Portal, Sandbox
from sandbox.ui import actions, bp, frame
from sandbox.ui.menus import is_timeline_menu, timeline_menu_code, timeline_options
from sandbox.ui.session import current_lang, current_user, portal_or_404
from sandbox.ui.timeline import creating_app
from sandbox.web import current_sandbox

LIST_MENU = "CRM_ACTIVITY_LIST_MENU"  # notes §3.3


def json_error(message: str, status: int) -> tuple[Response, int]:
    """Answer a refused JSON call with {"error": message}."""
    return jsonify({"error": message}), status


def json_body() -> dict[str, Any]:
    """Return the JSON object the page sent, or an empty one."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def safe_next(default: str = "/") -> str:
    """Return the local page to go back to after a form POST."""
    target = request.form.get("next") or request.args.get("next") or default
    return target if target.startswith("/") and not target.startswith("//") else default


def back(notice: str = "", **extra: str) -> BaseResponse:
    """Redirect to the page the form came from, with a notice for the user."""
    target = safe_next()
    query = {k: v for k, v in {"notice": notice, **extra}.items() if v}
    joiner = "&" if "?" in target else "?"
    return redirect(target + (joiner + urlencode(query) if query else ""), 303)


def _app(sandbox: Sandbox, portal: Portal, client_id: str | None) -> InstalledApp:
    if client_id:
        app = portal.apps.get(client_id)
    else:
        reg = next(iter(sandbox.registrations.values()), None)
        app = portal.apps.get(reg.client_id) if reg else None
    if app is None:
        raise frame.FrameRefused("The application is not installed on this portal", 404)
    return app


def _flat(params: Any) -> dict[str, Any]:
    """Keep the scalar entries of actionParams (notes §6.2: a flat scalar map)."""
    if not isinstance(params, dict):
        return {}
    return {str(k): v for k, v in params.items() if isinstance(v, str | int | float | bool)}


def _activity_id(body: dict[str, Any]) -> int:
    try:
        return int(body.get("activity_id") or 0)
    except (TypeError, ValueError):
        return 0


def resolve(
    sandbox: Sandbox, portal: Portal, body: dict[str, Any]
) -> tuple[InstalledApp, str, str | None, dict[str, Any]]:
    """Turn an open request into (app, PLACEMENT, handler, PLACEMENT_OPTIONS)."""
    mode = str(body.get("mode") or "app")
    if mode == "activity":
        activity = portal.crm.activity(_activity_id(body))
        app = creating_app(portal, activity) if activity else None
        if activity is None or app is None:
            raise frame.FrameRefused("This activity has no application to open", 404)
        # notes §3.5: openApplication(appId, {action:'view_activity', activity_id}) → DEFAULT, string values
        return app, "DEFAULT", None, {"action": "view_activity", "activity_id": str(activity.id)}
    app = _app(sandbox, portal, body.get("client_id"))
    if mode == "openRestApp":
        # notes §3.6: actionParams + entityTypeId, entityId, activityId, all strings
        options = _flat(body.get("action_params"))
        options.update(entityTypeId=body.get("owner_type_id"), entityId=body.get("owner_id"))
        options["activityId"] = str(_activity_id(body))
        return app, "DEFAULT", None, options
    if mode == "placement":
        if not body.get("placement"):
            raise frame.FrameRefused("No placement given", 400)
        return (
            app,
            str(body.get("placement") or ""),
            body.get("handler"),
            placement_options(sandbox, portal, body),
        )
    return app, "DEFAULT", None, {}


def timeline_placement_options(portal: Portal, code: str, body: dict[str, Any]) -> dict[str, Any]:
    """Options of a timeline ⋯ menu open: only for an activity shown in that item's timeline (notes §3.4)."""
    try:
        owner = (int(body.get("owner_type_id") or 0), int(body.get("owner_id") or 0))
    except (TypeError, ValueError):
        owner = (0, 0)
    if owner not in portal.owners or timeline_menu_code(portal, owner[0]) != code:
        raise frame.FrameRefused(f"{code} is not shown on this item's card", 400)
    activity = portal.crm.activity(_activity_id(body))
    if activity is None or owner not in activity.bindings:
        raise frame.FrameRefused("This activity is not in this item's timeline", 404)
    return timeline_options(portal, activity, owner)


def placement_options(sandbox: Sandbox, portal: Portal, body: dict[str, Any]) -> dict[str, Any]:
    """PLACEMENT_OPTIONS of a widget: {"ID"} for list menus (notes §3.3), plus "URI" where enabled (§9.1)."""
    options = _flat(body.get("options"))
    code = str(body.get("placement") or "").upper()
    if code == LIST_MENU:
        options = {"ID": str(_activity_id(body))}
    elif is_timeline_menu(code):
        options = timeline_placement_options(portal, code, body)
    uri = str(body.get("uri") or "")
    if uri and sandbox.setting("frame_uri_option"):
        options["URI"] = uri  # notes §1.2: path + query of the page the widget was opened from
    return options


@bp.post("/_ui/frame")
def open_app() -> Response | tuple[Response, int]:
    """Build the frame form for the slider: installer, main page, placement or activity view."""
    portal = portal_or_404()
    sandbox = current_sandbox()
    body = json_body()
    user, lang = current_user(portal), current_lang(portal)
    with sandbox.lock:
        try:
            app, placement, handler, options = resolve(sandbox, portal, body)
            opened = frame.open_frame(
                sandbox, portal, app, user, lang=lang, placement=placement, handler=handler, options=options
            )
        except frame.FrameRefused as refused:
            return json_error(refused.message, refused.status)
    return jsonify({**opened.as_dict(), "client_id": app.client_id, "title": app.code})


@bp.post("/_ui/bx24/install-finish")
def install_finish() -> Response | tuple[Response, int]:
    """The slider's answer to BX24.installFinish(): set_installed, then ONAPPINSTALL (notes §1.3)."""
    portal = portal_or_404()
    sandbox = current_sandbox()
    body = json_body()
    user = current_user(portal)
    with sandbox.lock:
        try:
            app = apps.finish_install(sandbox, portal, body.get("client_id") or None, user_id=user.id)
        except apps.LifecycleError as error:
            return json_error(str(error), 403)
    return jsonify({"installed": app.installed, "client_id": app.client_id})


@bp.post("/_ui/app/<step>")
def app_step(step: str) -> BaseResponse:
    """Home-page buttons: install (opens the installer), update, uninstall; administrators only."""
    portal = portal_or_404()
    sandbox = current_sandbox()
    user = current_user(portal)
    if not user.is_admin:
        return back("Only administrators can manage applications")
    client_id = request.form.get("client_id") or None
    with sandbox.lock:
        try:
            return _run_step(sandbox, portal, step, client_id, user.id)
        except apps.LifecycleError as error:
            return back(str(error))


def _run_step(
    sandbox: Sandbox, portal: Portal, step: str, client_id: str | None, user_id: int
) -> BaseResponse:
    """Run one lifecycle step and go back to the page with its outcome."""
    if step == "install":
        app = apps.install_app(sandbox, portal, client_id, user_id=user_id)
        if app.installed:
            return back("Application installed")
        return back("", open_app="1")  # notes §1.1: the admin gets the installer in the slider
    if step == "update":
        app = apps.update_app(sandbox, portal, client_id, user_id=user_id)
        return back(f"Application updated to version {app.version}")
    if step == "uninstall":
        clean = request.form.get("clean") == "1"
        apps.uninstall_app(sandbox, portal, client_id, clean=clean)
        return back("Application uninstalled")
    return back(f"Unknown step {step}")


def act(change: Callable[..., object], *args: object, done: str) -> BaseResponse:
    """Run a UI change as the current user and go back with `done`, or with the portal's refusal."""
    portal = portal_or_404()
    try:
        change(current_sandbox(), portal, current_user(portal), *args)
    except actions.UiRefused as refused:
        return back(refused.message)
    return back(done)


@bp.post("/_ui/activity/<int:activity_id>/complete")
def complete_activity(activity_id: int) -> BaseResponse:
    """Complete an activity from the timeline."""
    return act(actions.complete, activity_id, done="Activity completed")


@bp.post("/_ui/activity/<int:activity_id>/delete")
def delete_activity(activity_id: int) -> BaseResponse:
    """Delete an activity from the timeline or the grid."""
    return act(actions.delete, activity_id, done="Activity deleted")


@bp.post("/_ui/activity/<int:activity_id>/deadline")
def change_deadline(activity_id: int) -> BaseResponse:
    """Change a deadline from an editable `deadline` block (a datetime-local value, portal time)."""
    value = request.form.get("deadline", "")
    return act(actions.change_deadline, activity_id, value, done="Deadline changed")


@bp.post("/_ui/owner/<int:type_id>/<int:owner_id>/todo")
def quick_todo(type_id: int, owner_id: int) -> BaseResponse:
    """Add a quick to-do to a CRM item (due tomorrow)."""
    title = request.form.get("title", "")
    return act(actions.add_todo, (type_id, owner_id), title, done="To-do added")


@bp.post("/_ui/activity/<int:activity_id>/rest-event")
def rest_event(activity_id: int) -> Response | tuple[Response, int]:
    """A restEvent button or link: ONCRMTIMELINEITEMACTION to the owning app (notes §3.6)."""
    portal = portal_or_404()
    body = json_body()
    try:
        owner = (int(body.get("owner_type_id") or 0), int(body.get("owner_id") or 0))
    except (TypeError, ValueError):
        return json_error("Bad owner", 400)
    try:
        sent = actions.rest_event(
            current_sandbox(),
            portal,
            current_user(portal),
            activity_id=activity_id,
            client_id=str(body.get("client_id") or ""),
            action_id=str(body.get("action_id") or ""),
            owner=owner,
        )
    except actions.UiRefused as refused:
        return json_error(refused.message, refused.status)
    return jsonify({"sent": sent})
