"""One reader for every DTO: its checks in the portal's order, unknown fields refused, its parts, its model.

Both wire formats (reader.py's content blocks and configurable_reader.py's LayoutDto) describe each DTO as a
`Dto` table of checks; `Dto.read` is the only code that walks one, so a rule is written once for both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app.layout.checks import _as_object, _join, _Reader
from app.layout.models import _wire_names
from app.layout.schema import SCOPES

T = TypeVar("T")
Data = dict[str, Any]
Check = Callable[[_Reader, Data, str, str], None]  # reader, the object, its path, what it is (for messages)
Part = Callable[[_Reader, Any, str], Any]  # reads a nested value at its path into a model (or None)


@dataclass(frozen=True)
class Dto(Generic[T]):
    """A DTO as the portal validates it: checks, the wire names it allows, and the parts read into models."""

    cls: Callable[..., T]
    what: str  # "A link block": how messages name it
    checks: Sequence[Check]
    parts: Mapping[str, tuple[str, Part]] = field(default_factory=dict)  # model field -> (wire name, reader)
    allowed: Sequence[str] | None = None  # the wire names; the model's own by default
    lenient: Sequence[str] = ()  # extra names the portal itself lets through

    def read(self, r: _Reader, data: Data, path: str) -> T | None:
        """Check ``data`` at ``path`` and build the model, unless a problem was found in it."""
        mark = r.mark()
        for check in self.checks:
            check(r, data, path, self.what)
        allowed = self.allowed if self.allowed is not None else _wire_names(self.cls)
        r.no_extra(data, path, allowed, self.what, lenient=self.lenient)
        parts = {
            name: None if _join(path, wire) in r.unread else read(r, data.get(wire), _join(path, wire))
            for name, (wire, read) in self.parts.items()
        }
        return r.build(mark, self.cls, data, **parts)

    def read_object(self, r: _Reader, value: Any, path: str) -> T | None:
        """Read ``value`` if it is an object; its parent reported it otherwise."""
        data = _as_object(value)
        return None if data is None else self.read(r, data, path)


# The checks, one per portal validator (_Reader's methods), named for the tables.


def required(name: str, *, strict: bool = False) -> Check:
    return lambda r, data, path, what: r.required(data, path, name, what, strict=strict)


def nonempty(name: str, *, strict: bool = False) -> Check:
    return lambda r, data, path, what: r.nonempty(data, path, name, what, strict=strict)


def text(name: str) -> Check:
    return lambda r, data, path, what: r.text(data, path, name)


def flag(name: str) -> Check:
    return lambda r, data, path, what: r.flag(data, path, name)


def string(name: str) -> Check:
    return lambda r, data, path, what: r.string(data, path, name)


def integer(name: str) -> Check:
    return lambda r, data, path, what: r.integer(data, path, name)


def enum(name: str, values: Sequence[str] | Callable[[_Reader], Sequence[str] | None]) -> Check:
    """One of ``values``; a callable gives them per reader (the portal's icon codes), None meaning any."""

    def check(r: _Reader, data: Data, path: str, what: str) -> None:
        allowed = values(r) if callable(values) else values
        if allowed is not None:
            r.enum(data, path, name, allowed)

    return check


def text_color(name: str, values: Sequence[str]) -> Check:
    return lambda r, data, path, what: r.text_color(data, path, name, values)


def pattern(name: str, regex: re.Pattern[str], hint: str) -> Check:
    return lambda r, data, path, what: r.pattern(data, path, name, regex, hint)


def web_address(name: str) -> Check:
    return lambda r, data, path, what: r.web_address(data, path, name)


def filled(name: str) -> Check:
    return lambda r, data, path, what: r.filled(data, path, name, what)


def objects(name: str) -> Check:
    return lambda r, data, path, what: r.object_field(data, path, name)


def block_map(name: str, limit: int) -> Check:
    return lambda r, data, path, what: r.block_map(data, path, name, limit)


def keyed_objects(name: str, limit: int) -> Check:
    return lambda r, data, path, what: r.keyed_objects(data, path, name, limit)


def scalar_map(name: str, limit: int) -> Check:
    return lambda r, data, path, what: r.scalar_map(data, path, name, limit)


def simple_types(name: str, *, many: bool) -> Check:
    return lambda r, data, path, what: r.simple_types(data, path, name, many=many)


def scope() -> Check:
    # Content blocks carry no scope validator on the portal; the app still wants web or mobile.
    return lambda r, data, path, what: r.enum(data, path, "scope", SCOPES, strict=True)
