"""PHP-style query strings (`fields[BINDINGS][0][OWNER_ID]=2`), as batch commands carry their parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote


def build_query(params: Mapping[str, Any]) -> str:
    """Encode nested params the way PHP's http_build_query does, but booleans as Y/N; None is left out.

    http_build_query writes true as "1", which the portal's DTO BoolCaster (crm/lib/Dto/Caster/BoolCaster.php)
    reads as false: only the strings TRUE and Y are true there, and Y/N is also what legacy char fields take.
    """
    return "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in _flatten(params, ""))


SHORT = 64  # keys, ids and `$result[…]` references: the same few recur in every batch


@lru_cache(maxsize=2048)
def _quote_short(text: str) -> str:
    return quote(text, safe="")


def _quoted(text: str) -> str:
    """Percent-encode a key or value; short ones from a bounded cache (quoting was most of the encoding)."""
    return _quote_short(text) if len(text) <= SHORT else quote(text, safe="")


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
