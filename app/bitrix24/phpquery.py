"""PHP-style query strings (`fields[BINDINGS][0][OWNER_ID]=2`), as batch commands carry their parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote


def build_query(params: Mapping[str, Any]) -> str:
    """Encode nested params the way PHP's http_build_query does, but booleans as Y/N; None is left out.

    http_build_query writes true as "1", which the portal's DTO BoolCaster (crm/lib/Dto/Caster/BoolCaster.php)
    reads as false: only the strings TRUE and Y are true there, and Y/N is also what legacy char fields take.
    """
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
        return "Y" if value else "N"
    return str(value)
