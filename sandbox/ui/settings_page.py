"""The sandbox portal's own settings page: its disputed-behaviour switches, each with why it exists."""

from __future__ import annotations

from flask import redirect, render_template, request
from werkzeug.wrappers import Response

from sandbox.ui import bp
from sandbox.ui.session import portal_or_404
from sandbox.ui.views import locked, page_context
from sandbox.web import current_sandbox

# (setting, title, why) — README "Disputed behaviours and their switches"; notes §3.5, §9.10.
SWITCHES = (
    (
        "rest_app_blocks_allowed",
        "Content blocks on REST_APP activities",
        "The vendor documents do not say whether a portal accepts content blocks on an app's own REST_APP "
        "activities (notes §3.5, §9.10); the sandbox refuses them by default "
        "(UNSUITABLE_ACTIVITY_TYPE_ERROR), "
        "and the app then makes a to-do with the blocks instead. Turn this on to see the other outcome.",
    ),
)


@bp.get("/settings/")
@locked
def settings_page() -> str:
    """The switches and their current values."""
    portal = portal_or_404()
    sandbox = current_sandbox()
    switches = [(key, title, why, bool(sandbox.setting(key))) for key, title, why in SWITCHES]
    return render_template("ui/settings.html", switches=switches, **page_context(portal))


@bp.post("/settings/")
def save_settings() -> Response:
    """Set each switch from the form, then show the page again (Post/Redirect/Get: a reload sends nothing)."""
    portal_or_404()
    sandbox = current_sandbox()
    with sandbox.lock:
        for key, _title, _why in SWITCHES:
            sandbox.settings[key] = request.form.get(key) == "on"
    return redirect("/settings/?notice=Settings+saved.", code=303)
