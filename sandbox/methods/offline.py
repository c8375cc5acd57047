"""event.offline.get / clear / error / list and feature.get (sandbox/offline.py holds the queue).

Each rule names its source: the vendor pages api-reference/events/event-offline-*.md, offline-events.md,
common/system/feature-get.md, and the platform's rest module lib/api/event.php (`eventOffline*`,
`sanitizeFilter`) and lib/eventoffline.php (`markEvents`, `clearEvents`, `markError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sandbox.core import CallContext, ListResult, RestError, method
from sandbox.methods.events import lower_keys, require_app_auth
from sandbox.offline import FEATURES, OfflineRecord, feature_enabled, new_process_id, queue
from sandbox.state import InstalledApp

GET_FIELDS = ("ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID")  # event.php sanitizeFilter defaults
LIST_FIELDS = (*GET_FIELDS, "PROCESS_ID", "ERROR")  # event-offline-list.md
LIST_LIMIT = 50  # event-offline-get.md "By default 50"; event-offline-list.md page size 50
OPERATION = re.compile(r"^(>=|<=|!=|=|>|<|!)?([A-Z_]+)$")
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def require_admin(ctx: CallContext) -> InstalledApp:
    """event.php eventOffline*: app auth (WRONG_AUTH_TYPE), then CRestUtil::isAdmin() (AccessException)."""
    app = require_app_auth(ctx)
    if not ctx.user.is_admin:
        raise RestError("ACCESS_DENIED", "Access denied!", 403)
    return app


def connector(ctx: CallContext) -> str:
    """event.php: the source key is the call's own `auth_connector` (getAuthData), "" without one."""
    return ctx.auth_connector


def field_value(record: OfflineRecord, name: str) -> Any:
    """A record's value for filter and order, typed so that comparisons mean what they say."""
    return {
        "ID": record.id,
        "TIMESTAMP_X": record.timestamp,
        "EVENT_NAME": record.event,
        "MESSAGE_ID": record.message_id,
        "PROCESS_ID": record.process_id,
        "ERROR": record.error,
    }[name]


def typed(name: str, value: Any) -> Any:
    """A filter value in the field's type; TIMESTAMP_X is an ISO date (event.php sanitizeFilter callback)."""
    if isinstance(value, list | dict):
        raise RestError("ERROR_ARGUMENT", f"Filter value of {name} must be a scalar", 400, argument="filter")
    try:
        if name in ("ID", "ERROR"):
            return int(value)
        if name == "TIMESTAMP_X":
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError) as exc:
        raise RestError(
            "ERROR_ARGUMENT", f"Filter value of {name} is invalid", 400, argument="filter"
        ) from exc
    return str(value)


def parse_filter(raw: Any, fields: tuple[str, ...]) -> list[tuple[str, str, Any]]:
    """`filter` as (operation, field, value); the operation goes before the field name (event-offline-get)."""
    if raw in (None, "", []):
        return []
    if not isinstance(raw, dict):
        raise RestError("ERROR_ARGUMENT", "Filter must be an array", 400, argument="filter")
    out = []
    for key, value in raw.items():
        match = OPERATION.match(str(key).strip().upper())
        if not match or match.group(2) not in fields:
            raise RestError("ERROR_ARGUMENT", f"Filter field {key} is not allowed", 400, argument="filter")
        name = match.group(2)
        out.append((match.group(1) or "=", name, typed(name, value)))
    return out


def parse_order(raw: Any, fields: tuple[str, ...], default: dict[str, str]) -> list[tuple[str, bool]]:
    """`order` as (field, descending); the same fields as the filter, ASC|DESC (event-offline-get)."""
    order = raw if isinstance(raw, dict) and raw else default
    out = []
    for key, direction in order.items():
        name = str(key).upper()
        if name not in fields:
            raise RestError("ERROR_ARGUMENT", f"Order field {key} is not allowed", 400, argument="order")
        out.append((name, str(direction).upper() == "DESC"))
    return out


def select(
    records: list[OfflineRecord], where: list[tuple[str, str, Any]], order: list[tuple[str, bool]]
) -> list:
    """Filter, then sort by each order key (the last key sorted first, so the first one wins)."""
    rows = [r for r in records if all(COMPARE[op](field_value(r, name), v) for op, name, v in where)]
    for name, descending in reversed(order):
        rows.sort(key=partial(sort_key, name=name), reverse=descending)
    return rows


def sort_key(record: OfflineRecord, *, name: str) -> Any:
    return field_value(record, name)


def int_param(params: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError) as exc:
        raise RestError("ERROR_ARGUMENT", f"Value of {name.upper()} must be an integer", 400) from exc


def process_id_param(params: dict[str, Any], *, required: bool) -> str | None:
    """`process_id`, trimmed; required by clear and error (ArgumentNullException PROCESS_ID)."""
    value = params.get("process_id")
    if value is None or (required and str(value).strip() == ""):
        if required:
            raise RestError(
                "ERROR_ARGUMENT", "Argument 'PROCESS_ID' is null or empty", 400, argument="PROCESS_ID"
            )
        return None
    return str(value).strip()


@method("event.offline.get", scope="basic")
def event_offline_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Reserve (clear=0) or take (clear=1, the default) the next records of this app and source key.

    event.php eventOfflineGet: clear=0 needs rest_offline_extended (LicenseException); a new call marks up
    to `limit` unreserved records with a fresh process_id (markEvents), so parallel callers never overlap
    (offline-events, event-offline-get); with `process_id` it re-reads that process's records; clear=1
    deletes every record of the process it read (clearEvents); `error=1` reads the error-marked records.
    """
    app = require_admin(ctx)
    params = lower_keys(params)
    clear = int_param(params, "clear", 1)
    process_id = process_id_param(params, required=False)
    if not clear and not feature_enabled(ctx.sandbox, ctx.portal, "rest_offline_extended"):
        raise RestError(
            "WRONG_LICENSE",
            "This feature is not enabled for the current license: extended offline events handling",
            403,
        )  # licenseexception.php: an AccessException, code WRONG_LICENSE
    limit = int_param(params, "limit", LIST_LIMIT)
    if limit <= 0:
        raise RestError("ERROR_ARGUMENT", "Value must be positive integer", 400, argument="LIMIT")
    where = parse_filter(params.get("filter"), GET_FIELDS)
    order = parse_order(params.get("order"), GET_FIELDS, {"TIMESTAMP_X": "ASC"})
    state = queue(app)
    mine = [
        r for r in state.records if r.connector == connector(ctx) and r.error == int_param(params, "error", 0)
    ]
    returned = process_id is not None or not clear
    if process_id is None:
        process_id = new_process_id()
        for record in select([r for r in mine if r.process_id == ""], where, order)[:limit]:
            record.process_id = process_id
    rows = select([r for r in mine if r.process_id == process_id], where, order)[:limit]
    if clear and rows:  # eventoffline.php clearEvents: every record of the process, this source key
        state.records[:] = [
            r for r in state.records if not (r.process_id == process_id and r.connector == connector(ctx))
        ]
    return {
        "process_id": process_id if returned else None,
        "events": [r.row(ctx.portal, full=False) for r in rows],
    }


def message_ids(value: Any) -> list[str]:
    """`message_id[]`: an array of 32-character MESSAGE_ID values (event.php eventOfflineClear)."""
    values = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(values, list) or any(len(str(v).strip()) != 32 for v in values):
        raise RestError(
            "ERROR_ARGUMENT", "Value must be array of MESSAGE_ID values", 400, argument="message_id"
        )
    return [str(v).strip() for v in values]


def record_ids(value: Any) -> list[int]:
    """`id[]`: an array of positive integers (event.php eventOfflineClear)."""
    values = list(value.values()) if isinstance(value, dict) else value
    try:
        ids = [int(v) for v in values] if isinstance(values, list) else []
    except (TypeError, ValueError):
        ids = []
    if not isinstance(values, list) or len(ids) != len(values) or any(i <= 0 for i in ids):
        raise RestError("ERROR_ARGUMENT", "Value must be array of integers", 400, argument="id")
    return ids


@method("event.offline.clear", scope="basic")
def event_offline_clear(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Delete a process's records: all of them, or those in `id[]`, or else those in `message_id[]`.

    event-offline-clear.md: `message_id` is "Ignored if the `id` parameter is specified"; the platform's
    event.php reads `message_id` first. This follows the page.
    """
    app = require_admin(ctx)
    params = lower_keys(params)
    process_id = process_id_param(params, required=True)
    state = queue(app)

    def chosen(record: OfflineRecord) -> bool:
        if record.process_id != process_id or record.connector != connector(ctx):
            return False
        if "id" in params:
            return record.id in ids
        if "message_id" in params:
            return record.message_id in messages
        return True

    ids = record_ids(params["id"]) if "id" in params else []
    messages = message_ids(params["message_id"]) if "message_id" in params and "id" not in params else []
    state.records[:] = [r for r in state.records if not chosen(r)]
    return True


@method("event.offline.error", scope="basic")
def event_offline_error(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Mark a process's records as errors: unreserved again, ERROR=1 (eventoffline.php markError).

    markError first deletes unmarked copies of those messages outside the process (a newer change of the
    same object joins the error record), then sets ERROR=1 and PROCESS_ID='' on the process's own. Where an
    error record of that message already exists, the sandbox keeps that one (the merge key allows one).
    """
    app = require_admin(ctx)
    params = lower_keys(params)
    process_id = process_id_param(params, required=True)
    if not isinstance(params.get("message_id"), list | dict):
        raise RestError(
            "ERROR_ARGUMENT", "Value must be array of MESSAGE_ID values", 400, argument="message_id"
        )
    messages = set(message_ids(params["message_id"]))
    state = queue(app)
    ours = [r for r in state.records if r.connector == connector(ctx) and r.message_id in messages]
    dropped = {id(r) for r in ours if r.error == 0 and r.process_id != process_id}
    for record in ours:
        if record.error == 0 and record.process_id == process_id:
            known = any(
                o.error == 1 and o.process_id == "" and o.message_id == record.message_id for o in ours
            )
            if known:
                dropped.add(id(record))
            else:
                record.error, record.process_id = 1, ""
    state.records[:] = [r for r in state.records if id(r) not in dropped]
    return True


@method("event.offline.list", scope="basic")
def event_offline_list(ctx: CallContext, params: dict[str, Any]) -> ListResult:
    """Read the queue without changing it: filter and order by ID, TIMESTAMP_X, EVENT_NAME, MESSAGE_ID,
    PROCESS_ID, ERROR; default order ID ASC; pages of 50 by `start` (event-offline-list.md)."""
    app = require_admin(ctx)
    params = lower_keys(params)
    where = parse_filter(params.get("filter"), LIST_FIELDS)
    order = parse_order(params.get("order"), LIST_FIELDS, {"ID": "ASC"})
    rows = select([r for r in queue(app).records if r.connector == connector(ctx)], where, order)
    start = max(int_param(params, "start", 0), 0)
    page = rows[start : start + LIST_LIMIT]
    following = start + LIST_LIMIT if start + LIST_LIMIT < len(rows) else None
    return ListResult([r.row(ctx.portal, full=True) for r in page], total=len(rows), next=following)


@method("feature.get", scope="basic")
def feature_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, str]:
    """{"value": "Y"|"N"} for a plan feature; unknown codes answer Y (feature-get.md), no CODE: CODE_EMPTY."""
    code = str(lower_keys(params).get("code") or "").strip()
    if code in ("", "0"):
        raise RestError("CODE_EMPTY", "CODE can't be empty", 400)
    if code not in FEATURES:
        return {"value": "Y"}
    return {"value": "Y" if feature_enabled(ctx.sandbox, ctx.portal, code) else "N"}
