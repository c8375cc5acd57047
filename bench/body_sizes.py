"""What the portal really sends, and the biggest legitimate API body, against the body limits in force.

Frames and events are built by the sandbox's own code (sandbox/ui/frame.py, sandbox/events.py: the
vendor's wire format), with the newest docs' extra frame fields on and the longest values the portal
uses; the API body and the editor's form carry the biggest layout app.layout accepts that a person would
write: 20 blocks of 2,000 Cyrillic characters each, plus a 10,000-character description. Each line prints
the size and its ratio to the limit (the headroom).

Run: .venv/bin/python -m bench.body_sizes
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from app.api.bodies import DESCRIPTION_LENGTH, SUBJECT_LENGTH
from app.layout import MAX_ACTION_PARAMS, MAX_BLOCKS
from app.web.limits import DEFAULTS
from sandbox.apps import find_app
from sandbox.events import auth_block, event_body
from sandbox.testing import start_sandbox
from sandbox.ui.frame import open_frame

TEXT = "Проверка связи с клиентом по договору " * 60  # ~2,000 Cyrillic characters


def frames(state, portal, app) -> dict[str, int]:
    """Frame POST bodies (form-encoded) for the installer, the main page and the list-menu placement."""
    state.settings["frame_extra_fields"] = True
    app.placements.append({"placement": "CRM_ACTIVITY_LIST_MENU", "handler": "/placements/activity-menu"})
    user = portal.users[1]
    opens = {
        "frame POST / (view_activity)": open_frame(
            state, portal, app, user, lang="ru", options={"action": "view_activity", "activity_id": 2**31 - 1}
        ),
        "frame POST /placements/activity-menu": open_frame(
            state, portal, app, user, lang="ru", placement="CRM_ACTIVITY_LIST_MENU", options={"ID": 2**31 - 1}
        ),
    }
    return {name: len(urlencode(opened.fields)) for name, opened in opens.items()}


def events(state, portal, app) -> dict[str, int]:
    """Event bodies as the portal's queue posts them (PHP http_build_query), with the longest auth block."""
    params = {f"param{n:02d}": "v" * 64 for n in range(MAX_ACTION_PARAMS - 4)}
    click = {**params, "action": "done", "rev": "2147483647"}
    click |= {"entityTypeId": "2", "entityId": "2147483647", "activityId": "2147483647", "id": "done"}
    cases = {
        "ONCRMACTIVITYUPDATE": {"FIELDS": {"ID": "2147483647"}},
        "ONAPPINSTALL": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "ru"},
        f"ONCRMTIMELINEITEMACTION ({MAX_ACTION_PARAMS} actionParams)": click,
    }
    sizes = {}
    for name, data in cases.items():
        event = name.split()[0]
        sizes[f"event {name}"] = len(
            event_body(event, 2**31 - 1, data, auth_block(state, portal, app, event, 1))
        )
    return sizes


def biggest_layout() -> dict:
    blocks = {f"b{n:02d}": {"type": "largeText", "properties": {"value": TEXT}} for n in range(MAX_BLOCKS)}
    return {"blocks": blocks}


def api_and_editor() -> dict[str, int]:
    body = {
        "portal": "0" * 32,
        "owner": {"type_id": 2, "id": 2**31 - 1},
        "subject": "Т" * SUBJECT_LENGTH,
        "description": "Д" * DESCRIPTION_LENGTH,
        "layout": biggest_layout(),
        "idempotency_key": "k" * 100,
    }
    # Python clients escape non-ASCII (\uXXXX, 6 bytes a character); browsers send UTF-8 percent-encoded.
    editor = {
        "page_token": "t" * 600,
        "lang": "ru",
        "layout": json.dumps(biggest_layout(), ensure_ascii=False),
    }
    return {
        f"API POST /api/v1/activities ({MAX_BLOCKS} blocks, ASCII-escaped JSON)": len(json.dumps(body)),
        "editor form POST /activity/<id>/blocks (the same layout)": len(urlencode(editor)),
    }


def limit_for(name: str) -> int:
    if name.startswith("event"):
        return DEFAULTS["BODY_LIMIT_EVENTS"]
    return DEFAULTS["BODY_LIMIT_API"] if name.startswith("API") else DEFAULTS["BODY_LIMIT_PAGES"]


def main() -> None:
    sandbox = start_sandbox(portals=1)
    try:
        state, portal = sandbox.state, sandbox.portal
        app = find_app(state, portal)
        sizes = {**frames(state, portal, app), **events(state, portal, app), **api_and_editor()}
    finally:
        sandbox.stop()
    print(f"{'body':78} {'bytes':>9} {'limit':>9} {'limit/size':>10}")
    for name, size in sizes.items():
        limit = limit_for(name)
        print(f"{name:78} {size:9d} {limit:9d} {limit / size:10.1f}")
    print(f"form fields: at most {DEFAULTS['FORM_FIELDS_LIMIT']} per body (the biggest event above has < 40)")


if __name__ == "__main__":
    main()
