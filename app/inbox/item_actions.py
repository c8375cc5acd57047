"""Carrying out a click on a configurable activity's button (ONCRMTIMELINEITEMACTION), as the clicking user.

The event's `data` is the button's `actionParams` plus `entityTypeId`, `entityId`, `activityId` and `id`,
the action id (notes §3.6); `auth[user_id]` is who clicked. The item is read first, so carrying a click out
twice (a worker killed after the update, before settling) changes nothing the second time: the buttons
carry the layout's revision, every update raises it, and a click on an older revision is already done.

"done" completes the activity and updates the item (who and when, no buttons, badge cleared); "snooze" moves
the deadline a day on and updates the item. An unknown action or a deleted activity is settled with a note;
a click that names no activity, or an item the app cannot read or change (not its own, or an update the
portal or our own checks refuse), fails for good: no retry would help.
Other portal errors propagate, so the worker retries them with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.activities import configurable
from app.bitrix24 import activities
from app.bitrix24.client import Client
from app.bitrix24.errors import (
    AccessDenied,
    ApplicationContextRequired,
    AuthError,
    InvalidParameter,
    NotFound,
    ValidationError,
)
from app.inputs import as_id, bounded_int, plausible_date
from app.layout import ConfigurableLayout, LayoutError

EVENT = "ONCRMTIMELINEITEMACTION"
SNOOZE_BY = timedelta(days=1)
MAX_TS = 253402300799  # 9999-12-31 23:59:59 UTC: the last second datetime can hold


@dataclass(frozen=True)
class Outcome:
    """How a click ended: `settled` (done, or nothing to do, as `note` says) or failed for good."""

    settled: bool
    note: str | None = None


@dataclass(frozen=True)
class Click:
    """What the event says was clicked, by whom, when."""

    activity_id: int | None
    action: str
    rev: str
    user_id: str
    at: datetime
    user_name: str = ""  # as the portal's `profile` names the token's owner, once it has vouched for it


def read_click(payload: Mapping[str, Any], *, now: datetime) -> Click:
    """Read the stored event: data (strings after form decoding), auth[user_id], ts."""
    data = _mapping(payload.get("data"))
    auth = _mapping(payload.get("auth"))
    raw_id = str(data.get("activityId", ""))
    ts = str(payload.get("ts", ""))
    return Click(
        activity_id=as_id(raw_id),
        action=str(data.get("id", "")),
        rev=str(data.get("rev", "")),
        user_id=str(auth.get("user_id") or "?"),
        at=_moment(ts, now),
    )


def carry_out(client: Client | None, payload: Mapping[str, Any], *, now: datetime) -> Outcome:
    """Carry out one click as its clicking user (`client`); raise Bitrix24Error for what may pass later.

    The event is verified by an application_token any user may hold, so `auth[user_id]` proves nothing: the
    click runs with the token the event carried, which must be that user's (`profile`), and the portal then
    refuses what that user may not do. Without such a token the click is dropped: nothing is changed.
    """
    click = read_click(payload, now=now)
    if click.activity_id is None:
        return Outcome(False, "the click names no activity (data[activityId])")
    refused, name = clicker(client, click)
    if refused or client is None:
        return Outcome(False, f"dropped, nothing changed: {refused}")
    try:
        item = client.run(activities.configurable_get(click.activity_id))
    except NotFound:
        return Outcome(True, f"activity {click.activity_id} not found: nothing done")
    if not item:
        return Outcome(True, f"activity {click.activity_id} not found: nothing done")
    try:
        layout = configurable.read_layout(item.get("layout"))
    except LayoutError as error:
        return Outcome(False, f"the layout of activity {click.activity_id} is not the app's: {error}")
    try:
        return _apply(client, click.activity_id, replace(click, user_name=name), item, layout)
    except NotFound:
        return Outcome(True, f"activity {click.activity_id} was deleted meanwhile: nothing done")
    except ApplicationContextRequired as error:
        return Outcome(False, f"activity {click.activity_id} cannot be changed by the app: {error}")
    except AccessDenied as error:  # the clicking user may not change it: the portal's own rights
        return Outcome(
            False, f"user {click.user_id[:20]} may not change activity {click.activity_id}: {error}"
        )
    except AuthError as error:  # the user's token ran out (an hour) or was revoked: no retry can help
        return Outcome(False, f"the clicking user's token was refused: {error}")
    except (InvalidParameter, ValidationError) as error:  # the same update would be refused again
        return Outcome(False, f"the update of activity {click.activity_id} was refused: {error}")


def clicker(client: Client | None, click: Click) -> tuple[str, str]:
    """Why the click's token cannot act for its auth[user_id] ("" if it can), and that user's name.

    The portal says whose the token is (`profile`, which also names them: the status line needs no user.get).
    """
    if client is None:
        return "the event carried no access token of the clicking user", ""
    try:
        profile = client.call("profile")
    except AuthError as error:
        return f"the portal refused the clicking user's token ({error.code})", ""
    owner = as_id(profile.get("ID")) if isinstance(profile, Mapping) else None
    if owner is None or str(owner) != click.user_id:
        return f"the token is not user {click.user_id[:20]}'s (the portal says user {owner})", ""
    name = " ".join(str(profile.get(key) or "").strip() for key in ("NAME", "LAST_NAME")).strip()
    return "", name[:100]


def _apply(
    client: Client, activity_id: int, click: Click, item: Mapping[str, Any], layout: ConfigurableLayout
) -> Outcome:
    """Update the item for a click on its current buttons; a click on older ones was carried out before."""
    fields = _mapping(item.get("fields"))
    if click.action not in configurable.ACTIONS:
        # The portal keeps the item locked until an update; `fields` is required, so restate one.
        _update(client, activity_id, layout, {"completed": _completed(fields)})
        return Outcome(True, f"unknown action {click.action[:60]!r}: nothing done")
    current = configurable.revision(layout)
    if current is None or click.rev != str(current):
        return Outcome(True, f"{click.action} already carried out (the item is at revision {current})")
    if click.action == configurable.DONE:
        done = configurable.done_layout(layout, user_id=click.user_id, at=click.at, user_name=click.user_name)
        _update(client, activity_id, done, {"completed": True, "badgeCode": ""})
        return Outcome(True, None)
    if _completed(fields):
        _update(client, activity_id, layout, {"completed": True})
        return Outcome(True, "snooze: the activity is completed, nothing done")
    until = (_deadline(fields.get("deadline")) or click.at) + SNOOZE_BY
    snoozed = configurable.snoozed_layout(
        layout, user_id=click.user_id, at=click.at, until=until, rev=current + 1, user_name=click.user_name
    )
    _update(client, activity_id, snoozed, {"deadline": until.isoformat(timespec="seconds")})
    return Outcome(True, None)


def _update(client: Client, activity_id: int, layout: ConfigurableLayout, fields: Mapping[str, Any]) -> None:
    client.run(activities.configurable_update(activity_id, layout.to_wire(), fields))


def _completed(fields: Mapping[str, Any]) -> bool:
    return fields.get("completed") in (True, "Y", "1", 1, "true")


def _deadline(value: Any) -> datetime | None:
    """The item's deadline as configurable.get gives it (ISO 8601 with the portal's offset), if any."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not plausible_date(parsed):  # set elsewhere (the portal's own form): snooze from the click instead
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _moment(ts: str, now: datetime) -> datetime:
    """The event's `ts` (Unix seconds) as a time; `now` when it is none or beyond what a clock can say."""
    seconds = bounded_int(ts, -1, low=0, high=MAX_TS)
    return datetime.fromtimestamp(seconds, UTC) if seconds >= 0 else now
