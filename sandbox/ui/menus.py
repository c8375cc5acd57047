"""The timeline's ⋯ menu placements: the code an item card uses and what the portal puts in its options."""

from __future__ import annotations

from typing import Any

from sandbox.crm.store import Activity
from sandbox.state import Portal
from sandbox.ui.texts import placement_title

# notes §3.4 (crm/lib/integration/intranet/bindingmenu/codebuilder.php):
# CRM_#ENTITY_TYPE_NAME#_ACTIVITY_TIMELINE_MENU; intranet/lib/binding/menu.php has the CONTACT and COMPANY
# lines commented out, so their cards list no apps
TIMELINE_ENTITIES = {1: "LEAD", 2: "DEAL", 7: "QUOTE", 31: "SMART_INVOICE"}
ACTIVITY_TYPE_ID = "6"  # notes §3.4: ASSOCIATED_ENTITY_TYPE_ID is the activity's CRM type, 6
TIMELINE_TYPE_ACTIVITY = "1"  # the lead capture's TYPE_ID "1": a timeline entry of the activity type


def timeline_menu_code(portal: Portal, type_id: int) -> str | None:
    """Return the timeline menu placement of an item type, or None where the portal has none."""
    if type_id in TIMELINE_ENTITIES:
        return f"CRM_{TIMELINE_ENTITIES[type_id]}_ACTIVITY_TIMELINE_MENU"
    if type_id in portal.smart_types:
        return f"CRM_DYNAMIC_{type_id}_ACTIVITY_TIMELINE_MENU"
    return None


def is_timeline_menu(code: str) -> bool:
    """Tell a CRM_<TYPE>_ACTIVITY_TIMELINE_MENU code (any type, including CRM_DYNAMIC_<id>_…)."""
    return code.upper().startswith("CRM_") and code.upper().endswith("_ACTIVITY_TIMELINE_MENU")


def menu_items(portal: Portal, code: str | None, lang: str) -> list[dict[str, str]]:
    """Return the "Extensions" items of a placement: each installed app's binding of `code` (notes §1.1)."""
    items: list[dict[str, str]] = []
    if code is None:
        return items
    for app in portal.apps.values():
        if not app.installed:
            continue
        for row in app.placements:
            if row.get("placement") == code:
                title = placement_title(row, lang)
                items.append(
                    {"client_id": app.client_id, "handler": row["handler"], "title": title, "placement": code}
                )
    return items


def timeline_options(portal: Portal, activity: Activity, owner: tuple[int, int]) -> dict[str, Any]:
    """PLACEMENT_OPTIONS of a timeline menu open, as the vendor's captures show them (notes §3.4): strings."""
    options: dict[str, Any] = {
        "ENTITY_ID": str(owner[1]),
        "ASSOCIATED_ENTITY_ID": str(activity.id),
        "ASSOCIATED_ENTITY_TYPE_ID": ACTIVITY_TYPE_ID,
    }
    if owner[0] == 1:  # the lead capture also carries the timeline entry: its type, category and id
        options = {
            "ENTITY_ID": options["ENTITY_ID"],
            "TYPE_ID": TIMELINE_TYPE_ACTIVITY,
            "TYPE_CATEGORY_ID": str(activity.fields.get("TYPE_ID") or 0),
            "ASSOCIATED_ENTITY_ID": options["ASSOCIATED_ENTITY_ID"],
            "ASSOCIATED_ENTITY_TYPE_ID": ACTIVITY_TYPE_ID,
            "TIMELINE_ITEM_ID": str(timeline_item_id(portal, activity.id)),
        }
    return options


def timeline_item_id(portal: Portal, activity_id: int) -> int:
    """Return the activity's timeline entry id; the portal numbers entries apart from activities."""
    key = f"timeline_item:{activity_id}"
    if key not in portal.next_ids:
        portal.next_ids[key] = portal.next_id("timeline_item", start=1001)
    return portal.next_ids[key]
