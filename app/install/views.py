"""POST /install: the installer page, framed by the portal."""

from __future__ import annotations

import logging

from flask import current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from app import metrics
from app.bitrix24.errors import Bitrix24Error
from app.events.views import receive
from app.install.blueprint import bp
from app.install.service import install_from_frame
from app.portals import throttle
from app.portals.lifecycle import NotVerified
from app.portals.trust import NotAdministrator
from app.web.frames import parse_frame

log = logging.getLogger(__name__)


@bp.post("/install")
def install() -> ResponseReturnValue:
    """Verify, store, register, then let the page call BX24.installFinish()."""
    if "event" in request.form:
        # An API-only app's install URL is bound as its ONAPPINSTALL handler (notes §1.1).
        return receive()
    frame = parse_frame(request)
    g.frame_origin = frame.origin
    try:
        outcome = install_from_frame(frame)
    except NotVerified as error:
        log.warning("install refused for member_id=%s (%s): %s", frame.member_id, frame.domain, error.reason)
        not_admin = isinstance(error, NotAdministrator)
        return render_template("install/refused.html", not_admin=not_admin, lang=frame.lang), 403
    except throttle.Throttled as throttled:
        metrics.count_throttled(throttled.scope)  # a counter, not a log line: a flood must not flood the log
        page = render_template("install/refused.html", retry_after=throttled.retry_after, lang=frame.lang)
        return page, 429, {"Retry-After": str(throttled.retry_after)}
    except Bitrix24Error as error:
        log.warning("install failed for member_id=%s: %s", frame.member_id, error)
        return render_template("install/failed.html", error=error, steps=[], lang=frame.lang), 502
    status = 200 if outcome.report.ok else 502
    template = "install/done.html" if outcome.report.ok else "install/failed.html"
    return render_template(
        template,
        steps=outcome.report.steps,
        portal=outcome.portal,
        bx24_js=current_app.config["B24_JS_URL"],
        lang=frame.lang,
    ), status
