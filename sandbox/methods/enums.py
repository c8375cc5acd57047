"""crm.enum.* (notes §8): fixed tables, undefined (0) entry included."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method

# notes §8.1: user-facing owner types returned by crm.enum.ownertype
OWNER_TYPES: list[tuple[int, str, str | None, str | None]] = [
    (1, "Lead", "LEAD", "L"),
    (2, "Deal", "DEAL", "D"),
    (3, "Contact", "CONTACT", "C"),
    (4, "Company", "COMPANY", "CO"),
    (5, "Invoice (old version)", "INVOICE", "I"),
    (31, "Invoice", "SMART_INVOICE", "SI"),
    (7, "Estimate", "QUOTE", "Q"),
    (8, "Requisite", "REQUISITE", "RQ"),
    (36, "Document", "SMART_DOCUMENT", "DO"),
    (39, "E-signature for HR", "SMART_B2E_DOC", "SBD"),
]
# notes §8.2
ACTIVITY_TYPES = ["", "Meeting", "Call", "Task", "E-mail", "Activity", "User Action"]
ACTIVITY_STATUSES = ["", "Pending", "Completed", "Auto completed"]
ACTIVITY_PRIORITIES = ["", "Low", "Medium", "High"]
ACTIVITY_DIRECTIONS = ["", "Incoming", "Outgoing"]


def enum_rows(names: list[str]) -> list[dict[str, Any]]:
    """Render an id-ordered name list in the enum shape (notes §8.2)."""
    return [
        {"ID": i, "NAME": name, "SYMBOL_CODE": None, "SYMBOL_CODE_SHORT": None}
        for i, name in enumerate(names)
    ]


@method("crm.enum.ownertype", scope="crm")
def ownertype(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List user-facing CRM owner types (notes §8.1)."""
    return [{"ID": i, "NAME": n, "SYMBOL_CODE": c, "SYMBOL_CODE_SHORT": s} for i, n, c, s in OWNER_TYPES]


@method("crm.enum.activitytype", scope="crm")
def activitytype(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List activity TYPE_IDs (notes §8.2)."""
    return enum_rows(ACTIVITY_TYPES)


@method("crm.enum.activitystatus", scope="crm")
def activitystatus(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List activity STATUS values (notes §8.2)."""
    return enum_rows(ACTIVITY_STATUSES)


@method("crm.enum.activitypriority", scope="crm")
def activitypriority(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List activity PRIORITY values (notes §8.2)."""
    return enum_rows(ACTIVITY_PRIORITIES)


@method("crm.enum.activitydirection", scope="crm")
def activitydirection(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List activity DIRECTION values (notes §8.2)."""
    return enum_rows(ACTIVITY_DIRECTIONS)
