"""crm.type.list: the portal's smart processes (docs crm/universal/user-defined-object-types)."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method

PAGE = 50  # the REST list page size (notes §5)


@method("crm.type.list", scope="crm")
def type_list(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """{"types": [...]} of the smart processes in entityTypeId order, 50 per page from `start`."""
    raw = params.get("start", 0)
    start = int(raw) if str(raw).isdigit() else 0
    rows = [
        {"id": n, "entityTypeId": type_id, "title": title, "code": "", "isCategoriesEnabled": "N"}
        for n, (type_id, title) in enumerate(sorted(ctx.portal.smart_types.items()), start=1)
    ]
    return {"types": rows[start : start + PAGE]}
