"""A prepared call: method, checked params and the parser of its result; it runs alone or in a batch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from app.bitrix24.errors import InvalidParameter

T = TypeVar("T")


@dataclass(frozen=True)
class Request(Generic[T]):
    method: str
    params: dict[str, Any]
    parse: Callable[[Any], T]


def positive_int(method: str, name: str, value: Any) -> int:
    """An id: a positive int (digit strings accepted, as forms deliver them)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidParameter(name, f"must be a positive integer, not {type(value).__name__}", method=method)
    if isinstance(value, str) and not value.isdigit():
        raise InvalidParameter(name, f"must be a positive integer, not {value!r}", method=method)
    if int(value) <= 0:
        raise InvalidParameter(name, "must be a positive integer", method=method)
    return int(value)


def text(method: str, name: str, value: Any, *, required: bool = False, max_length: int = 65535) -> str:
    """A string parameter."""
    if not isinstance(value, str):
        raise InvalidParameter(name, f"must be a string, not {type(value).__name__}", method=method)
    if required and not value.strip():
        raise InvalidParameter(name, "is required and may not be empty", method=method)
    if len(value) > max_length:
        raise InvalidParameter(name, f"is longer than {max_length} characters", method=method)
    return value


def moment(method: str, name: str, value: Any) -> str:
    """A datetime parameter as ISO 8601 with an offset (an aware datetime, or such a string)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidParameter(name, "needs a timezone (an aware datetime)", method=method)
        return value.isoformat(timespec="seconds")
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise InvalidParameter(name, f"{value!r} is not an ISO 8601 date-time", method=method) from None
        return value
    if isinstance(value, date):
        raise InvalidParameter(name, "needs a date and a time, not a date", method=method)
    raise InvalidParameter(name, f"must be a datetime, not {type(value).__name__}", method=method)


def choice(
    method: str, name: str, value: Any, allowed: Mapping[Any, Any] | frozenset[Any] | tuple[Any, ...]
) -> Any:
    """One of a fixed set of values."""
    if value not in allowed:
        options = ", ".join(str(a) for a in allowed)
        raise InvalidParameter(name, f"must be one of {options}, not {value!r}", method=method)
    return value


def flag(value: bool) -> str:
    """Bitrix24's Y/N."""
    return "Y" if value else "N"


def as_int(value: Any, default: int = 0) -> int:
    """Parse an id or enum the portal may send as a string."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def as_datetime(value: Any) -> datetime | None:
    """Parse the portal's ISO 8601 date-times; empty values are None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
