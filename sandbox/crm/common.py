"""Helpers shared by the crm.activity.* handlers: errors, permissions, lookups, events, output."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sandbox.core import CallContext, RestError
from sandbox.crm.params import format_datetime, parse_datetime, portal_tz, to_int
from sandbox.crm.store import Activity, CrmStore

if TYPE_CHECKING:
    from sandbox.state import Owner

REST_APP = "REST_APP"
CONFIGURABLE = "CONFIGURABLE_REST_APP"
TODO = "CRM_TODO"
REQUIRED_CODE = (
    100  # notes §5.3: D7 controllers may answer with a numeric code; docs todo.add: "100 Required fields"
)


# --- errors -------------------------------------------------------------------------------------------------


def legacy_error(description: str) -> RestError:
    """Return a legacy error: docs crm.activity.add "Error Handling" shows error "" with HTTP 400."""
    return RestError("", description, 400)


def d7_error(code: str, description: str) -> RestError:
    """Return a D7 controller error: the first error, HTTP 400 (notes §5.3)."""
    return RestError(code, description, 400)


def missing_param(name: str) -> RestError:
    """Return the controller's "required parameter" error (docs todo.add etc.: code 100)."""
    error = RestError(str(REQUIRED_CODE), f"Could not find value for parameter {{{name}}}", 400)
    error.code = REQUIRED_CODE  # type: ignore[assignment]  # serialised as a JSON number like the portal's
    return error


def require_int_params(params: dict[str, Any], *names: str) -> list[int]:
    """Read required integer params of a D7 method in order; raise code 100 for the first missing one."""
    values = []
    for name in names:
        value = to_int(params.get(name))
        if value is None:
            raise missing_param(name)
        values.append(value)
    return values


# --- context ------------------------------------------------------------------------------------------------


def store(ctx: CallContext) -> CrmStore:
    return ctx.portal.crm


def tz(ctx: CallContext) -> timezone:
    return portal_tz(getattr(ctx.portal, "timezone_offset", "+00:00"))


def now(ctx: CallContext) -> datetime:
    return datetime.now(tz(ctx)).replace(microsecond=0)


def fmt(ctx: CallContext, value: datetime | None) -> str:
    return format_datetime(value, tz(ctx))


def parse_dt(ctx: CallContext, value: Any) -> datetime:
    """Parse a datetime param; raises ValueError for the caller to turn into its documented error."""
    return parse_datetime(value, tz(ctx))


def can_edit(ctx: CallContext) -> bool:
    return bool(ctx.user.can_edit_crm)


def require_crm_access(ctx: CallContext) -> None:
    """A user with no CRM access gets "Access denied." from every legacy crm.* method.

    crm/classes/general/restservice.php CCrmRestService::onRestServiceMethod:
    if(!CCrmPerms::IsAccessEnabled()) throw new RestException('Access denied.')
    (the error example of docs crm.activity.get and crm.activity.fields).
    """
    if ctx.user.crm_read == "none" and not ctx.user.is_admin:
        raise legacy_error("Access denied.")


def can_read_owner(ctx: CallContext, type_id: int, owner_id: int) -> bool:
    """CRM read right on one item: all, only items assigned to the user ("own"), or none; admins read all."""
    level = "all" if ctx.user.is_admin else ctx.user.crm_read
    if level == "own":
        item = owner(ctx, type_id, owner_id)
        return item is not None and str(item.fields.get("ASSIGNED_BY_ID")) == str(ctx.user.id)
    return level == "all"


def can_read(ctx: CallContext, activity: Activity) -> bool:
    """CCrmActivity::CheckReadPermission: an activity is readable when one of its bound items is."""
    return any(can_read_owner(ctx, type_id, owner_id) for type_id, owner_id in activity.bindings)


def owner(ctx: CallContext, type_id: int | None, owner_id: int | None) -> Owner | None:
    if type_id is None or owner_id is None:
        return None
    return ctx.portal.owners.get((type_id, owner_id))


def user_exists(ctx: CallContext, user_id: int | None) -> bool:
    user = ctx.portal.users.get(user_id) if user_id is not None else None
    return user is not None and user.active


def app_client_id(ctx: CallContext) -> str | None:
    return ctx.app.client_id if ctx.app is not None else None


def emit(ctx: CallContext, kind: str, activity_id: int) -> None:
    """Queue ONCRMACTIVITY{ADD,UPDATE,DELETE}: CRM events carry only the ID (notes §2.1)."""
    ctx.emit(f"ONCRMACTIVITY{kind}", {"FIELDS": {"ID": activity_id}})


def touch(ctx: CallContext, activity: Activity) -> None:
    activity.touch(ctx.user.id, now(ctx))


def require_creating_app(ctx: CallContext, activity: Activity) -> None:
    """REST_APP activities change only in their creating app's context (docs activity-app.md)."""
    app = ctx.require_app()  # AccessException: "Access denied! Application context required" (notes §3.5)
    if activity.client_id and app.client_id != activity.client_id:
        raise RestError(
            "ACCESS_DENIED",
            "Access denied! Incorrect PROVIDER_ID parameter for the activity created in the application"
            " context",
            403,
        )


# --- output -------------------------------------------------------------------------------------------------


def php_map(value: Any) -> Any:
    """Empty maps serialise as [] on the portal (notes §5.2)."""
    return [] if value in ({}, None) else value


def out_value(ctx: CallContext, value: Any) -> Any:
    """Externalise a stored value as legacy methods do: ids and numbers as strings (notes §5.2)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return fmt(ctx, value)
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | float):
        return str(value)
    return value
