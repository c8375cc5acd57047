"""Field descriptions of activities and communications, as crm.activity[.communication].fields give them."""

from __future__ import annotations

from typing import Any

# (name, type, flags, title) in the order of docs crm.activity.fields' example.
# Flags: R required, r read-only, I immutable, M multiple, D deprecated.
ACTIVITY_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("ID", "integer", "r", "ID"),
    ("OWNER_ID", "integer", "I", "Owner ID"),
    ("OWNER_TYPE_ID", "crm_enum_ownertype", "I", "Owner Type"),
    ("TYPE_ID", "crm_enum_activitytype", "RI", "Type"),
    ("PROVIDER_ID", "string", "", "Provider ID"),
    ("PROVIDER_TYPE_ID", "string", "", "Provider Type"),
    ("PROVIDER_GROUP_ID", "string", "", "Connector Type"),
    ("ASSOCIATED_ENTITY_ID", "integer", "r", "Associated Entity ID"),
    ("SUBJECT", "string", "R", "Subject"),
    ("START_TIME", "datetime", "", "Start"),
    ("END_TIME", "datetime", "", "Deadline"),
    ("DEADLINE", "datetime", "", "Execution Deadline"),
    ("COMPLETED", "char", "", "Completed"),
    ("STATUS", "crm_enum_activitystatus", "", "Status"),
    ("RESPONSIBLE_ID", "user", "R", "Responsible"),
    ("PRIORITY", "crm_enum_activitypriority", "", "Priority"),
    ("NOTIFY_TYPE", "crm_enum_activitynotifytype", "", "Notification Type"),
    ("NOTIFY_VALUE", "integer", "", "Notification Parameter"),
    ("DESCRIPTION", "string", "", "Description"),
    ("DESCRIPTION_TYPE", "crm_enum_contenttype", "", "Description Type"),
    ("DIRECTION", "crm_enum_activitydirection", "", "Direction"),
    ("LOCATION", "string", "", "Location"),
    ("CREATED", "datetime", "r", "Creation Date"),
    ("AUTHOR_ID", "user", "r", "Created By"),
    ("LAST_UPDATED", "datetime", "r", "Last Updated Date"),
    ("EDITOR_ID", "user", "r", "Edited By"),
    ("SETTINGS", "object", "", "Settings"),
    ("ORIGIN_ID", "string", "", "External Code"),
    ("ORIGINATOR_ID", "string", "", "External Source"),
    ("RESULT_STATUS", "integer", "", "RESULT_STATUS"),
    ("RESULT_STREAM", "integer", "", "RESULT_STREAM"),
    ("RESULT_SOURCE_ID", "string", "", "RESULT_SOURCE_ID"),
    ("PROVIDER_PARAMS", "object", "", "Provider Parameters"),
    ("PROVIDER_DATA", "string", "", "Provider Data"),
    ("RESULT_MARK", "integer", "", "RESULT_MARK"),
    ("RESULT_VALUE", "double", "", "RESULT_VALUE"),
    ("RESULT_SUM", "double", "", "RESULT_SUM"),
    ("RESULT_CURRENCY_ID", "string", "", "RESULT_CURRENCY_ID"),
    ("AUTOCOMPLETE_RULE", "integer", "", "Autocomplete"),
    ("BINDINGS", "crm_activity_binding", "rM", "Bindings"),
    ("COMMUNICATIONS", "crm_activity_communication", "RM", "Communication Channel"),
    ("FILES", "diskfile", "M", "Files"),
    ("WEBDAV_ELEMENTS", "diskfile", "MD", "Added Files"),
    ("IS_INCOMING_CHANNEL", "char", "r", "IS_INCOMING_CHANNEL"),
)

# docs crm.activity.communication.fields' example
COMMUNICATION_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("ID", "integer", "r", "ID"),
    ("ACTIVITY_ID", "integer", "r", "Activity"),
    ("ENTITY_ID", "integer", "", "Entity ID"),
    ("ENTITY_TYPE_ID", "integer", "", "Entity Type"),
    ("TYPE", "string", "", "Type"),
    ("VALUE", "string", "", "Value"),
)

FIELD_TYPES: dict[str, str] = {name: kind for name, kind, _, _ in ACTIVITY_FIELDS}
FIELD_TYPES["ORIGIN_VERSION"] = "string"  # docs crm.activity.add "Parameter fields"
READ_ONLY = frozenset(name for name, _, flags, _ in ACTIVITY_FIELDS if "r" in flags)
IMMUTABLE = frozenset(name for name, _, flags, _ in ACTIVITY_FIELDS if "I" in flags)
NUMERIC_KINDS = frozenset({"integer", "user"})


def kind_of(name: str) -> str:
    """Return a field's storage kind: int, float, datetime, char or str."""
    kind = FIELD_TYPES.get(name, "string")
    if kind in NUMERIC_KINDS or kind.startswith("crm_enum_"):
        return "int"
    return {"double": "float", "datetime": "datetime", "char": "char"}.get(kind, "str")


def describe(fields: tuple[tuple[str, str, str, str], ...]) -> dict[str, dict[str, Any]]:
    """Render field descriptions in the portal's format."""
    result = {}
    for name, kind, flags, title in fields:
        entry: dict[str, Any] = {
            "type": kind,
            "isRequired": "R" in flags,
            "isReadOnly": "r" in flags,
            "isImmutable": "I" in flags,
            "isMultiple": "M" in flags,
            "isDynamic": False,
        }
        if "D" in flags:
            entry["isDeprecated"] = True
        entry["title"] = title
        result[name] = entry
    return result
