"""PHP-style query strings (`fields[BINDINGS][0][OWNER_ID]=2`), as batch commands carry their parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote


def build_query(params: Mapping[str, Any]) -> str:
    """Encode nested params the way PHP's http_build_query does (True → 1, False → 0, None left out)."""
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in _flatten(params, ""))


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """Yield (bracketed key, scalar string) pairs."""
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        if value is not None:
            yield prefix, _scalar(value)
        return
    for key, item in items:
        yield from _flatten(item, f"{prefix}[{key}]" if prefix else str(key))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
