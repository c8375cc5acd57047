"""The list filter engine: `filter` keys with operator prefixes (docs crm.activity.list `filter`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sandbox.crm.params import as_list

# Longest first, so ">=" wins over ">" and "!%=" over "!%". docs crm.activity.list: >=, >, <=, <, @, !@, %,
# =%, %=, !%, !=% (printed "=%" in the NOT LIKE row), !%=, =, !=, !.
PREFIXES = ("!%=", "!=%", "!@", "!%", "!=", ">=", "<=", "=%", "%=", "@", "%", ">", "<", "=", "!")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")

Coerce = Callable[[Any], Any]


@dataclass(frozen=True)
class Condition:
    op: str
    field: str
    value: Any

    def test(self, row_value: Any) -> bool:
        return OPERATORS[self.op](row_value, self.value)


def split_key(key: str) -> tuple[str, str] | None:
    """Split "!>=FIELD"-style keys into (operator, field) as written; None for keys that name no field."""
    op = next((p for p in PREFIXES if key.startswith(p)), "=")
    name = key[len(op) :] if key.startswith(op) else key
    return (op, name) if KEY.match(name) else None


def compile_conditions(
    flt: dict[str, Any], coerce: Callable[[str, Any], Any], known: Collection[str]
) -> list[Condition]:
    """Turn a filter object into conditions; `coerce(field, value)` types each value like its field.

    crm/classes/general/restservice.php CCrmRestProxyBase::internalizeFilterFields looks each field up
    exactly in the entity's fields info and unsets the key when it is missing: an unknown or wrongly-cased
    key is dropped and the rest still filters (a filter of only unknown keys returns everything).
    """
    conditions = []
    for key, raw in flt.items():
        parsed = split_key(str(key))
        if parsed is None or parsed[1] not in known:
            continue
        op, name = parsed
        values = as_list(raw) if not isinstance(raw, str) else None
        if values is not None:  # an array means IN / NOT IN for the equality operators
            op = {"=": "@", "!": "!@", "!=": "!@"}.get(op, op)
            conditions.append(Condition(op, name, [coerce(name, v) for v in values]))
        else:
            conditions.append(Condition(op, name, coerce(name, raw)))
    return conditions


def like(pattern: str) -> re.Pattern[str]:
    """Compile an SQL LIKE pattern: % any run, _ one character; case-insensitive like MySQL's collation."""
    parts = ("." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def equal(row: Any, value: Any) -> bool:
    if value in (None, ""):
        return row in (None, "")
    if isinstance(row, str) and isinstance(value, str):
        return row.lower() == value.lower()
    return row == value


def ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Wrap a comparison so that NULLs and mismatched types never match (SQL semantics)."""

    def compare(row: Any, value: Any) -> bool:
        try:
            return row is not None and value is not None and test(row, value)
        except TypeError:
            return False

    return compare


def contains(row: Any, value: Any) -> bool:
    return row is not None and str(value).lower() in str(row).lower()


def matches_like(row: Any, value: Any) -> bool:
    return row is not None and bool(like(str(value)).match(str(row)))


def in_list(row: Any, values: Any) -> bool:
    return any(equal(row, v) for v in (values if isinstance(values, list) else [values]))


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": equal,
    "!": lambda row, value: not equal(row, value),
    "!=": lambda row, value: not equal(row, value),
    ">": ordered(lambda row, value: row > value),
    ">=": ordered(lambda row, value: row >= value),
    "<": ordered(lambda row, value: row < value),
    "<=": ordered(lambda row, value: row <= value),
    "@": in_list,
    "!@": lambda row, values: not in_list(row, values),
    "%": contains,
    "!%": lambda row, value: not contains(row, value),
    "=%": matches_like,
    "%=": matches_like,
    "!=%": lambda row, value: not matches_like(row, value),
    "!%=": lambda row, value: not matches_like(row, value),
}


def sort_rows(rows: list[Any], order: list[tuple[str, bool]], value: Callable[[Any, str], Any]) -> list[Any]:
    """Sort by several keys, each ascending or descending; NULLs first when ascending (MySQL)."""
    for name, descending in reversed(order):
        rows = sorted(rows, key=sort_key(value, name), reverse=descending)
    return rows


def sort_key(value: Callable[[Any, str], Any], name: str) -> Callable[[Any], tuple[int, Any]]:
    return lambda row: null_first(value(row, name))


def null_first(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, "")
    return (1, value.lower() if isinstance(value, str) else value)
