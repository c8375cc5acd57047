"""crm.item.list: one type's items by filter (nested `logic` groups), select, order and `start`.

docs api-reference/crm/universal/crm-item-list.md; the platform's \\Bitrix\\Crm\\Controller\\Item::listAction
(crm/lib/controller/item.php) checks the type (NOT_FOUND "Smart process not found"), turns field names to
upper case (convertFieldNamesToUpper: `assignedById` and `ASSIGNED_BY_ID` are one field), refuses a field the
type lacks (validateFilter / validateOrder: INVALID_ARG_VALUE "Invalid filter: field 'x' is not allowed in
filter", D7 being strict where the legacy methods drop it) and reads getItemsFilteredByPermissions: a user
sees only the items they may read, and one without CRM access simply finds nothing.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.core import CallContext, ListResult, method
from sandbox.crm.common import can_read_owner, d7_error, require_int_params
from sandbox.crm.filters import OPERATORS, null_first, split_key
from sandbox.crm.items import item_row
from sandbox.crm.params import as_list, ci_get, to_int
from sandbox.state import Owner

PAGE_SIZE = 50  # docs crm-item-list.md `start`: "The page size of results is always static — 50 records"
COMMON = ("id", "assignedById")
# The name fields of each type: contacts have no title (Bitrix\Crm\Item\Contact: NAME, LAST_NAME).
NAMES = {1: ("title", "name", "lastName"), 3: ("name", "lastName")}
TITLE_ONLY = ("title",)
NUMERIC = {"id", "assignedById"}
ALL_FIELDS = (*COMMON, "title", "name", "lastName")
SYSTEM_TYPES = {1, 2, 3, 4, 7, 31}  # lead, deal, contact, company, quote, invoice (CCrmOwnerType)


def fields_of(type_id: int) -> tuple[str, ...]:
    return COMMON + NAMES.get(type_id, TITLE_ONLY)


@method("crm.item.list", scope="crm")
def item_list(ctx: CallContext, params: dict[str, Any]) -> ListResult:
    """Return {"items": [...]} of the page, with total and next hoisted into the envelope."""
    (type_id,) = require_int_params(params, "entityTypeId")
    if type_id not in SYSTEM_TYPES and type_id not in ctx.portal.smart_types:
        raise d7_error("NOT_FOUND", "Smart process not found")
    known = fields_of(type_id)
    flt = group(ci_get(params, "filter"), "filter")
    check_filter(flt, known)
    order = parse_order(group(ci_get(params, "order"), "order"), known)
    rows = [
        row(item)
        for (t, item_id), item in sorted(ctx.portal.owners.items())
        if t == type_id and can_read_owner(ctx, type_id, item_id)
    ]
    rows = [r for r in rows if matches(r, flt)]
    for name, descending in reversed(order):
        rows.sort(key=lambda r, n=name: null_first(r.get(n)), reverse=descending)
    start = max(to_int(ci_get(params, "start")) or 0, 0)
    page = rows[start : start + PAGE_SIZE]
    chosen = parse_select(ci_get(params, "select"), known)
    following = start + PAGE_SIZE if start + PAGE_SIZE < len(rows) else None
    items = [{k: v for k, v in r.items() if k in chosen} for r in page]
    return ListResult({"items": items}, total=len(rows), next=following)


def row(item: Owner) -> dict[str, Any]:
    return item_row(item.type_id, item.fields)


def group(value: Any, name: str) -> dict[str, Any]:
    """A filter or order object; anything else is refused as the controller's argument check does."""
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise d7_error("INVALID_ARG_VALUE", f"Invalid {name}: must be an object")
    return {str(k): v for k, v in value.items()}


def check_filter(flt: dict[str, Any], known: tuple[str, ...]) -> None:
    """Every key names a field of the type (or is a nested group / its `logic`); else INVALID_ARG_VALUE."""
    for key, value in flt.items():
        if key.lower() == "logic":
            continue
        if isinstance(value, dict):
            check_filter({str(k): v for k, v in value.items()}, known)
            continue
        parsed = split_key(key)
        if parsed is None or field_of(parsed[1], known) is None:
            field = upper(parsed[1]) if parsed else key
            raise d7_error("INVALID_ARG_VALUE", f"Invalid filter: field '{field}' is not allowed in filter")


def upper(name: str) -> str:
    """A camelCase field name as the controller turns it: assignedById -> ASSIGNED_BY_ID; ID stays ID."""
    return name if name.isupper() else re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def field_of(name: str, known: tuple[str, ...]) -> str | None:
    """The item's (camelCase) field that a filter, order or select name means, if the type has it."""
    return next((field for field in known if upper(field) == upper(name)), None)


def matches(item: dict[str, Any], flt: dict[str, Any]) -> bool:
    """AND of the conditions, or OR when the group says `logic: OR` (docs crm-item-list.md `filter`)."""
    logic = next((str(v).upper() for k, v in flt.items() if k.lower() == "logic"), "AND")
    tests = [test(item, k, v) for k, v in flt.items() if k.lower() != "logic"]
    return any(tests) if logic == "OR" else all(tests)


def test(item: dict[str, Any], key: str, value: Any) -> bool:
    if isinstance(value, dict):
        return matches(item, {str(k): v for k, v in value.items()})
    parsed = split_key(key)
    name = field_of(parsed[1], ALL_FIELDS) if parsed else None
    assert parsed is not None and name is not None  # check_filter refused every other key
    op = parsed[0]
    values = as_list(value) if not isinstance(value, str) else None
    if values is not None:
        op = {"=": "@", "!": "!@", "!=": "!@"}.get(op, op)
        value = [typed(name, v) for v in values]
    else:
        value = typed(name, value)
    return OPERATORS[op](item.get(name), value)


def typed(name: str, value: Any) -> Any:
    return to_int(value) if name in NUMERIC and to_int(value) is not None else value


def parse_order(order: dict[str, Any], known: tuple[str, ...]) -> list[tuple[str, bool]]:
    """Fields of the type, ASC or DESC; anything else is INVALID_ARG_VALUE as the docs list."""
    parsed = []
    for asked, direction in order.items():
        name = field_of(asked, known)
        if name is None:
            raise d7_error(
                "INVALID_ARG_VALUE", f"Invalid order: field '{upper(asked)}' is not allowed in order"
            )
        if str(direction).upper() not in ("ASC", "DESC"):
            raise d7_error(
                "INVALID_ARG_VALUE",
                f"Invalid order: allowed sort directions are ASC, DESC. But got '{direction}' for field "
                f"'{name}'",
            )
        parsed.append((name, str(direction).upper() == "DESC"))
    return parsed or [("id", False)]


def parse_select(value: Any, known: tuple[str, ...]) -> set[str]:
    """The named fields of the type (`*`: all); id and entityTypeId always, as the portal gives them."""
    names = {str(v) for v in (as_list(value) or [])}
    if not names or "*" in names:
        return {*known, "entityTypeId"}
    return {"id", "entityTypeId", *filter(None, (field_of(n, known) for n in names))}
