"""Reading the `fields` of crm.activity.add / update: coercion, communications, bindings, files."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sandbox.core import CallContext
from sandbox.crm.common import legacy_error, owner, parse_dt
from sandbox.crm.fields_meta import FIELD_TYPES, READ_ONLY, kind_of
from sandbox.crm.params import as_list, ci_get, to_bool, to_float, to_int

# Fields the caller may write; DEADLINE "is not set directly" (docs crm.activity.add "Parameter fields").
NOT_WRITABLE = READ_ONLY | {"BINDINGS", "COMMUNICATIONS", "FILES", "WEBDAV_ELEMENTS", "DEADLINE"}
WRITABLE = tuple(name for name in FIELD_TYPES if name not in NOT_WRITABLE)
# docs crm.enum.activitytype (notes §8.2): 1 meeting, 2 call, 3 task, 4 e-mail, 5 action, 6 provider
TYPE_PROVIDERS = {1: ("CRM_MEETING", "MEETING"), 2: ("VOXIMPLANT_CALL", "CALL"), 4: ("CRM_EMAIL", "EMAIL")}
COMMUNICATION_TYPES = {2: "PHONE", 4: "EMAIL"}


def fields_param(params: dict[str, Any]) -> dict[str, Any]:
    """Return the `fields` object with its keys as written.

    The parameter name is found in any case (notes §5.1), but the field names inside are not:
    CCrmRestProxyBase::internalizeFields (crm/classes/general/restservice.php) looks each name up exactly in
    the fields info and drops misses, so {"subject": …} is no SUBJECT at all.
    """
    raw = ci_get(params, "fields")
    if not isinstance(raw, dict):
        raise legacy_error("The parameter 'fields' must be array.")
    return {str(k): v for k, v in raw.items()}


def coerce_fields(ctx: CallContext, raw: dict[str, Any], names: tuple[str, ...] = WRITABLE) -> dict[str, Any]:
    """Coerce the given writable fields to their stored types; a bad value fails like a missing one."""
    values = {}
    for name in names:
        if name in raw:
            values[name] = coerce(ctx, name, raw[name])
    return values


def coerce(ctx: CallContext, name: str, value: Any) -> Any:
    """Coerce one field value by its crm.activity.fields type."""
    kind = kind_of(name)
    if value is None or value == "":
        return {"char": "N", "str": ""}.get(kind)  # an empty value clears the field
    converted: Any
    if kind == "int":
        converted = to_int(value)
    elif kind == "float":
        converted = to_float(value)
    elif kind == "char":
        flag = to_bool(value)
        converted = None if flag is None else ("Y" if flag else "N")
    elif kind == "datetime":
        converted = parse_date_or_none(ctx, value)
    elif FIELD_TYPES.get(name) == "object":
        converted = value if isinstance(value, dict) else ({} if value == [] else None)
    else:
        converted = (
            value if isinstance(value, str) else str(value) if isinstance(value, int | float) else None
        )
    if converted is None:
        raise legacy_error(f"The field {name} is not defined or invalid")
    return converted


def parse_date_or_none(ctx: CallContext, value: Any) -> Any:
    try:
        return parse_dt(ctx, value)
    except ValueError:
        return None


def read_communications(
    raw: Any, type_id: int | None, owner: tuple[int | None, int | None] = (None, None)
) -> list[dict[str, Any]]:
    """Read COMMUNICATIONS as CCrmActivityRestProxy::innerAdd/innerUpdate prepare them.

    crm/classes/general/restservice.php: a communication with no VALUE, or whose TYPE does not fit the
    activity's type (a call takes PHONE, an e-mail EMAIL), is skipped; with none left the field is
    "not defined or invalid" (docs crm.activity.add "Possible Error Codes"). A communication without
    ENTITY_TYPE_ID/ENTITY_ID is taken to be the owner's.
    """
    items = as_list(raw) or []
    result = [comm for item in items if (comm := read_communication(item, type_id, owner)) is not None]
    if not result:
        raise legacy_error("The field COMMUNICATIONS is not defined or invalid")
    if type_id == 2 and len(result) > 1:
        raise legacy_error("The only one communication is allowed for activity of specified type")
    return result


def read_communication(
    item: Any, type_id: int | None, owner: tuple[int | None, int | None]
) -> dict[str, Any] | None:
    """Return one communication with exact keys (as every field), or None when the platform skips it."""
    if not isinstance(item, dict):
        return None
    value, wanted = item.get("VALUE"), COMMUNICATION_TYPES.get(type_id or 0)
    kind = str(item.get("TYPE") or wanted or "")
    if not isinstance(value, str | int) or str(value) == "" or (wanted and kind != wanted):
        return None
    entity_type_id, entity_id = to_int(item.get("ENTITY_TYPE_ID")), to_int(item.get("ENTITY_ID"))
    if entity_type_id is None or entity_id is None:
        entity_type_id, entity_id = owner  # filled in from the activity's owner
    if entity_type_id is None or entity_id is None:
        return None
    return {"TYPE": kind, "VALUE": str(value), "ENTITY_ID": entity_id, "ENTITY_TYPE_ID": entity_type_id}


def check_email_recipients(type_id: int | None, direction: Any, comms: list[dict[str, Any]]) -> None:
    """An outgoing e-mail needs e-mail addresses (docs crm.activity.add: "Invalid email is specified")."""
    if type_id == 4 and direction == 2 and any("@" not in c["VALUE"] for c in comms):
        raise legacy_error("Email send error. Invalid email is specified")


def build_bindings(
    ctx: CallContext, values: dict[str, Any], comms: list[dict[str, Any]]
) -> list[tuple[int, int]]:
    """Bind to the owner and to the communications' entities (docs crm.activity.list "Using BINDINGS")."""
    type_id, owner_id = values.get("OWNER_TYPE_ID"), values.get("OWNER_ID")
    bindings: list[tuple[int, int]] = []
    if type_id is not None or owner_id is not None:
        if owner(ctx, type_id, owner_id) is None:
            raise binding_error()
        bindings.append((type_id, owner_id))  # type: ignore[arg-type]  # both checked by owner()
    for comm in comms:
        pair = (comm["ENTITY_TYPE_ID"], comm["ENTITY_ID"])
        if pair not in bindings and owner(ctx, *pair) is not None:
            bindings.append(pair)
    if not bindings:
        raise binding_error()
    return bindings


def binding_error() -> Exception:
    return legacy_error(
        "Could not build binding. Please ensure that owner info and communications are defined correctly"
    )


def read_files(ctx: CallContext, raw: Any) -> list[dict[str, Any]]:
    """Store FILES given as [{"fileData": [name, base64]}] (docs crm.activity.add example)."""
    items = as_list(raw)
    if items is None:
        raise legacy_error("The field FILES is not defined or invalid")
    return [read_file(ctx, item) for item in items]


def read_file(ctx: CallContext, item: Any) -> dict[str, Any]:
    data = as_list(item.get("fileData")) if isinstance(item, dict) else as_list(item)
    if not data or len(data) < 2 or not isinstance(data[0], str) or not isinstance(data[1], str):
        raise legacy_error("The field FILES is not defined or invalid")
    try:
        size = len(base64.b64decode(data[1], validate=False))
    except (binascii.Error, ValueError):
        raise legacy_error("The field FILES is not defined or invalid") from None
    return {"id": ctx.portal.next_id("file", 1000), "name": data[0], "size": size}
