"""Activity records as the legacy methods return them (docs crm.activity.get / crm.activity.list examples)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.core import CallContext
from sandbox.crm.common import fmt, out_value, php_map
from sandbox.crm.fields_meta import kind_of
from sandbox.crm.store import Activity

CONTACT_SETTINGS = ("HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE", "COMPANY_ID")


def render(ctx: CallContext, activity: Activity, names: Iterable[str]) -> dict[str, Any]:
    """Return the selected fields of an activity, ids and numbers as strings (notes §5.2)."""
    return {name: render_field(ctx, activity, name) for name in names}


def render_field(ctx: CallContext, activity: Activity, name: str) -> Any:
    special = {
        "BINDINGS": render_bindings,
        "COMMUNICATIONS": render_communications,
        "FILES": render_files,
        "WEBDAV_ELEMENTS": render_files,
    }.get(name)
    if special:
        return special(ctx, activity)
    value = activity.fields.get(name)
    if kind_of(name) == "datetime":
        return fmt(ctx, value)
    if name in ("SETTINGS", "PROVIDER_PARAMS"):
        return php_map(value)
    return out_value(ctx, value)


def render_bindings(ctx: CallContext, activity: Activity) -> list[dict[str, str]]:
    return [{"OWNER_ID": str(oid), "OWNER_TYPE_ID": str(tid)} for tid, oid in activity.bindings]


def render_communications(ctx: CallContext, activity: Activity) -> list[dict[str, Any]]:
    """Render communications like docs crm.activity.list "Retrieving COMMUNICATIONS"."""
    return [
        {
            "ID": str(comm["ID"]),
            "TYPE": comm["TYPE"],
            "VALUE": comm["VALUE"],
            "ENTITY_ID": str(comm["ENTITY_ID"]),
            "ENTITY_TYPE_ID": str(comm["ENTITY_TYPE_ID"]),
            "ENTITY_SETTINGS": entity_settings(ctx, comm["ENTITY_TYPE_ID"], comm["ENTITY_ID"]),
        }
        for comm in activity.communications
    ]


def entity_settings(ctx: CallContext, type_id: int, entity_id: int) -> Any:
    """Return the name parts of a communication's contact or lead (docs list example: HONORIFIC, NAME, …)."""
    owner = ctx.portal.owners.get((type_id, entity_id))
    if owner is None:
        return []
    settings = {key: str(owner.fields[key]) for key in CONTACT_SETTINGS if owner.fields.get(key) is not None}
    return settings or {"NAME": owner.title}


def render_files(ctx: CallContext, activity: Activity) -> list[dict[str, Any]]:
    """Render files like docs crm.activity.list "Retrieving Attachments"."""
    base = ctx.portal.base_url
    return [
        {
            "id": item["id"],
            "url": f"{base}/bitrix/tools/crm_show_file.php?fileId={item['id']}&ownerTypeId=6"
            f"&ownerId={activity.id}&auth=",
        }
        for item in activity.files
    ]
