"""The API's work: whose portal a key opens, creating an activity once per idempotency key, setting blocks.

Idempotency: the (portal, key) row in `api_requests` is inserted and committed before the portal is called,
so of two concurrent requests with one key only one proceeds; the other gets 409 while it runs and the
stored result once it is done. The key also goes to the portal as ORIGIN_ID, so a request whose process died
between creating and recording is finished by the next retry after the lease: it looks the activity up by
ORIGIN_ID (app.activities.rest_app.resume_app_activity) instead of creating another one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.activities import templates
from app.activities.rest_app import Created, create_app_activity, resume_app_activity
from app.api.bodies import CreateBody
from app.api.errors import ApiError, layout_problems, portal_error
from app.bitrix24 import activities
from app.bitrix24.errors import Bitrix24Error, NotFound, PortalBusy, ServerError, TransportError
from app.extensions import db
from app.layout import LayoutError
from app.models import ApiKey, ApiRequest, ApiRequestState, Portal, PortalState
from app.portals import store
from app.portals.connections import client_for
from app.portals.lifecycle import same_host

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a pending key older than this belongs to a request that died: take it over
ORIGIN_PREFIX = "tb-api:"  # ORIGIN_ID = prefix + key: never equal to an id another integration wrote


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class _Claim:
    row: ApiRequest
    takeover: bool


def key_portal(key: ApiKey, claimed: str) -> Portal:
    """The key's portal, which the request's `portal` (member_id or domain) must name; 403 otherwise."""
    portal = store.find(key.member_id)
    named = claimed.strip().lower()
    if named != key.member_id.lower() and not (portal is not None and same_host(portal.domain, named)):
        raise ApiError(403, "wrong_portal", "This API key belongs to another portal than the one named.")
    if portal is None or portal.state is PortalState.UNINSTALLED or portal.access_token_enc is None:
        raise ApiError(403, "portal_unavailable", "The app is not installed on this portal any more.")
    return portal


def create(portal: Portal, body: CreateBody, *, now: datetime | None = None) -> Answer:
    """Create the activity once for this idempotency key; a retry gets the first result."""
    claim = _claim(portal.member_id, body, now or datetime.now(UTC))
    if isinstance(claim, Answer):
        return claim  # a retry gets the first result even if its template has changed since
    try:
        plan = _plan(portal, body)
    except ApiError:
        _release(claim.row, unknown=False)
        raise
    client = client_for(portal, interactive=True)
    origin_id = ORIGIN_PREFIX + body.idempotency_key
    try:
        if claim.takeover:
            created = resume_app_activity(client, origin_id=origin_id, **plan)
        else:
            created = create_app_activity(client, origin_id=origin_id, **plan)
    except Bitrix24Error as error:
        # A busy bucket may strike after the first step: let a retry resume by ORIGIN_ID, as after a timeout.
        _release(claim.row, unknown=isinstance(error, TransportError | ServerError | PortalBusy))
        raise portal_error(error) from None
    return _record(claim.row, created)


def _plan(portal: Portal, body: CreateBody) -> dict[str, Any]:
    """What to create: the body's texts and layout, or its template filled from the request's fields."""
    plan: dict[str, Any] = {
        "owner_type_id": body.owner_type_id,
        "owner_id": body.owner_id,
        "subject": body.subject,
        "description": body.description,
        "layout": body.layout,
        # The key acts with the installation's token, whose user is the installer: no user.current asked.
        "responsible_id": body.responsible_id
        if body.responsible_id is not None
        else portal.installed_by_user_id,
        "deadline": body.deadline,
    }
    if body.template is None:
        return plan
    template = templates.find_template(portal.member_id, body.template)
    if template is None:
        raise ApiError(404, "template_not_found", f"This portal has no template {body.template!r}.")
    try:
        rendered = templates.render(template, _values(body))
    except LayoutError as error:
        message = f"The template \u201c{template.name}\u201d filled with this request is not a valid layout."
        raise ApiError(
            422, "template_unfit", message, problems=layout_problems(error, "template.layout")
        ) from None
    return plan | {
        "subject": rendered.subject,
        "description": rendered.description,
        "layout": rendered.layout,
    }


def _values(body: CreateBody) -> dict[str, Any]:
    """Placeholder values: the body's `fields`, then what the request itself says."""
    own = {
        "SUBJECT": body.subject,
        "DESCRIPTION": body.description,
        "OWNER_TYPE_ID": body.owner_type_id,
        "OWNER_ID": body.owner_id,
        "RESPONSIBLE_ID": body.responsible_id,
        "DEADLINE": body.deadline.isoformat() if body.deadline else None,
    }
    return {**body.fields, **{k: v for k, v in own.items() if v not in (None, "")}}


def _claim(member_id: str, body: CreateBody, now: datetime) -> _Claim | Answer:
    """Insert the key's row (committed), or answer from the row another request holds."""
    row = ApiRequest(
        member_id=member_id,
        idempotency_key=body.idempotency_key,
        request_sha256=body.fingerprint,
        state=ApiRequestState.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    try:
        db.session.commit()
        return _Claim(row, takeover=False)
    except IntegrityError:
        db.session.rollback()
    return _existing(member_id, body, now)


def _existing(member_id: str, body: CreateBody, now: datetime) -> _Claim | Answer:
    query = select(ApiRequest).where(
        ApiRequest.member_id == member_id, ApiRequest.idempotency_key == body.idempotency_key
    )
    row = db.session.scalar(query)
    if row is None:  # its request failed and released it just now
        raise _in_progress()
    if row.request_sha256 != body.fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key for a new activity.",
        )
    if row.state is ApiRequestState.DONE:
        return Answer(200, dict(row.result or {}), replayed=True)
    if row.updated_at > now - LEASE:
        raise _in_progress()
    taken = db.session.execute(
        update(ApiRequest)
        .where(
            ApiRequest.id == row.id,
            ApiRequest.state == ApiRequestState.PENDING,
            ApiRequest.updated_at == row.updated_at,
        )
        .values(updated_at=now)
    )
    db.session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise _in_progress()
    log.info("member_id=%s: resuming a request that did not finish", member_id)
    return _Claim(row, takeover=True)


def _in_progress() -> ApiError:
    return ApiError(
        409,
        "request_in_progress",
        "A request with this Idempotency-Key is still being processed. Retry in a few seconds "
        "to get its result; nothing more will be created.",
    )


def _record(row: ApiRequest, created: Created) -> Answer:
    body = created.as_dict()
    row.state, row.activity_id, row.result = ApiRequestState.DONE, created.activity_id, body
    db.session.commit()
    return Answer(201, body)


def _release(row: ApiRequest, *, unknown: bool) -> None:
    """After a failure: free the key (nothing was left behind), or, when the portal may have acted without
    answering, leave it pending and due at once so the next retry looks the activity up by ORIGIN_ID."""
    db.session.rollback()
    if unknown:
        db.session.execute(
            update(ApiRequest).where(ApiRequest.id == row.id).values(updated_at=datetime.now(UTC) - LEASE)
        )
    else:
        db.session.execute(delete(ApiRequest).where(ApiRequest.id == row.id))
    db.session.commit()


def set_layout(portal: Portal, activity_id: int, layout: dict[str, Any]) -> dict[str, Any]:
    """Set the app's blocks on an activity of the portal (its owner read first)."""
    client = client_for(portal, interactive=True)
    try:
        activity = client.run(activities.get(activity_id))
        client.run(activities.blocks_set(activity.owner_type_id, activity.owner_id, activity_id, layout))
    except NotFound:
        raise ApiError(404, "activity_not_found", f"The portal has no activity {activity_id}.") from None
    except Bitrix24Error as error:
        raise portal_error(error) from None
    return {"activity_id": activity_id, "blocks_set": True}


def forget_answered(before: datetime) -> int:
    """Delete the answered idempotency keys made before `before`; a key older than that creates anew."""
    query = delete(ApiRequest).where(ApiRequest.state == ApiRequestState.DONE, ApiRequest.created_at < before)
    return int(db.session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
