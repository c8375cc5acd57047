"""crm.activity.list: select, filter (incl. BINDINGS), order and `start` pagination."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, ListResult, method
from sandbox.crm.common import can_read, legacy_error, parse_dt, require_crm_access, store
from sandbox.crm.fields_meta import FIELD_TYPES, kind_of
from sandbox.crm.filters import compile_conditions, sort_rows
from sandbox.crm.params import as_list, ci_get, to_bool, to_float, to_int
from sandbox.crm.render import render
from sandbox.crm.store import DEFAULT_SELECT, EXTRA_SELECT, Activity

PAGE_SIZE = 50  # notes §5.4: IRestService::LIST_LIMIT
SELECTABLE = set(DEFAULT_SELECT) | set(EXTRA_SELECT)
SELECT_ALIASES = {"STORAGE_ELEMENT_IDS": "FILES"}  # docs crm.activity.list "Retrieving Attachments"
OWNER_KEYS = ("OWNER_TYPE_ID", "OWNER_ID")
Row = tuple[Activity, tuple[int, int] | None]


@method("crm.activity.list", scope="crm")
def activity_list(ctx: CallContext, params: dict[str, Any]) -> ListResult:
    """Return one page of activities (docs crm.activity.list; pagination notes §5.4)."""
    require_crm_access(ctx)
    flt = mapping(ci_get(params, "filter"), "filter")
    select = parse_select(ci_get(params, "select"))
    order = parse_order(mapping(ci_get(params, "order"), "order"))
    visible = [a for a in store(ctx).activities.values() if can_read(ctx, a)]  # CCrmActivity::GetList checks
    rows = binding_rows(
        visible, flt.pop("BINDINGS", None)
    )  # read rights per row: unreadable ones are left out
    rows = owner_filtered(rows, {k: flt.pop(k) for k in OWNER_KEYS if k in flt})
    conditions = compile_conditions(flt, lambda name, value: coerce(ctx, name, value), FIELD_TYPES)
    rows = [row for row in rows if all(c.test(row[0].fields.get(c.field)) for c in conditions)]
    rows = sort_rows(
        sorted(rows, key=lambda row: row[0].id), order, lambda row, name: row[0].fields.get(name)
    )
    return paginate(rows, to_int(ci_get(params, "start")) or 0, lambda row: render(ctx, row[0], select))


def mapping(value: Any, name: str) -> dict[str, Any]:
    """Return a filter/order object with its keys as written; an empty PHP array arrives as [] or ""."""
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise legacy_error(f"The parameter '{name}' must be array.")
    return {str(k): v for k, v in value.items()}


def parse_select(value: Any) -> list[str]:
    """Expand `*` to the default fields; extra fields only when named (docs crm.activity.list `select`).

    Names are matched exactly: CCrmRestProxyBase::internalizeSelectFields keeps only names found in the
    fields info (crm/classes/general/restservice.php), so "subject" selects nothing and ID is still given.
    """
    names = [str(v) for v in (as_list(value) or [])]
    if not names:
        return list(DEFAULT_SELECT)
    chosen = ["ID"]
    for name in names:
        expanded = DEFAULT_SELECT if name == "*" else [SELECT_ALIASES.get(name, name)]
        chosen += [n for n in expanded if n in SELECTABLE and n not in chosen]
    return chosen


def parse_order(order: dict[str, Any]) -> list[tuple[str, bool]]:
    """Read `order`; the default is START_TIME ascending (docs crm.activity.list `order`).

    Field names exactly (CCrmRestProxyBase::internalizeOrderFields drops misses); the direction in any case.
    """
    parsed = [(str(k), str(v).upper() == "DESC") for k, v in order.items() if str(k) in SELECTABLE]
    return parsed or [("START_TIME", False)]


def coerce(ctx: CallContext, name: str, value: Any) -> Any:
    """Type a filter value like its field; an uncoercible value is kept and simply matches nothing."""
    kind = kind_of(name)
    if kind == "int":
        converted: Any = to_int(value)
    elif kind == "float":
        converted = to_float(value)
    elif kind == "char":
        flag = to_bool(value)
        converted = None if flag is None else "Y" if flag else "N"
    elif kind == "datetime":
        converted = parse_or_none(ctx, value)
    else:
        return value if value is None else str(value)
    return value if converted is None else converted


def parse_or_none(ctx: CallContext, value: Any) -> Any:
    try:
        return parse_dt(ctx, value)
    except ValueError:
        return None


def binding_rows(activities: Any, bindings: Any) -> list[Row]:
    """Apply filter[BINDINGS]: one row per matching binding, so one may repeat (docs "Using BINDINGS")."""
    if bindings in (None, "", []):
        return [(activity, None) for activity in activities]
    wanted = [binding_pattern(item) for item in as_list(bindings) or [bindings]]
    return [(a, b) for a in activities for b in a.bindings if any(fits(b, w) for w in wanted)]


def binding_pattern(item: Any) -> tuple[int | None, int | None]:
    if not isinstance(item, dict):
        raise legacy_error("The parameter 'filter[BINDINGS]' must be array.")
    return to_int(item.get("OWNER_TYPE_ID")), to_int(item.get("OWNER_ID"))  # exact keys, like every field


def fits(binding: tuple[int, int], wanted: tuple[int | None, int | None]) -> bool:
    return all(w is None or w == b for b, w in zip(binding, wanted, strict=True))


def owner_filtered(rows: list[Row], owner: dict[str, Any]) -> list[Row]:
    """Plain OWNER_TYPE_ID/OWNER_ID filters match any binding: the activity shows in each bound timeline."""
    if not owner:
        return rows
    type_ids = {to_int(v) for v in (as_list(owner.get("OWNER_TYPE_ID")) or [owner.get("OWNER_TYPE_ID")])}
    owner_ids = {to_int(v) for v in (as_list(owner.get("OWNER_ID")) or [owner.get("OWNER_ID")])}
    type_ok = (lambda t: t in type_ids) if "OWNER_TYPE_ID" in owner else (lambda t: True)
    id_ok = (lambda i: i in owner_ids) if "OWNER_ID" in owner else (lambda i: True)
    return [row for row in rows if any(type_ok(t) and id_ok(i) for t, i in row[0].bindings)]


def paginate(rows: list[Row], start: int, render_row: Any) -> ListResult:
    """Cut a page of 50; start=-1 gives the first page with no total and no next (notes §5.4)."""
    if start == -1:
        return ListResult([render_row(row) for row in rows[:PAGE_SIZE]], None, None)
    offset = max(start, 0) // PAGE_SIZE * PAGE_SIZE  # legacy lists round start down to a page (notes §5.4)
    page = rows[offset : offset + PAGE_SIZE]
    more = offset + PAGE_SIZE < len(rows)
    return ListResult([render_row(row) for row in page], len(rows), offset + PAGE_SIZE if more else None)
