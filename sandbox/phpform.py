"""PHP's form codec: `parse_str` for bracket keys in, `http_build_query` for event bodies (§2.1, §5.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus


def _split_key(key: str) -> list[str] | None:
    """Split `a[b][]` into ["a", "b", ""]; None when PHP would drop the pair."""
    open_at = key.find("[")
    if open_at == -1:
        base, rest = key, ""
    else:
        base, rest = key[:open_at], key[open_at:]
    base = base.lstrip(" ").replace(" ", "_").replace(".", "_")
    if not base:
        return None
    parts = [base]
    while rest.startswith("["):
        close = rest.find("]")
        if close == -1:
            break
        parts.append(rest[1:close])
        rest = rest[close + 1 :]
    return parts


def _next_index(node: dict[str, Any]) -> str:
    """Return the key PHP gives to `a[]`: one past the largest integer key."""
    ints = [int(k) for k in node if k.lstrip("-").isdigit()]
    return str(max(ints) + 1) if ints else "0"


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build nested dicts from flat bracket keys the way PHP's parse_str does."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        if parts is None:
            continue
        node = result
        for part in parts[:-1]:
            part = part or _next_index(node)
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1] or _next_index(node)] = value
    return listify(result)


def parse_query(raw: str) -> dict[str, Any]:
    """Parse an urlencoded string with PHP bracket keys."""
    return parse_pairs(parse_qsl(raw, keep_blank_values=True))


def listify(value: Any) -> Any:
    """Turn dicts keyed exactly "0".."n-1" into lists, recursively (as PYSDK does, notes §2.1)."""
    if isinstance(value, dict):
        value = {k: listify(v) for k, v in value.items()}
        if value and list(value) == [str(i) for i in range(len(value))]:
            return list(value.values())
        return value
    if isinstance(value, list):
        return [listify(v) for v in value]
    return value


def php_urlencode(text: str) -> str:
    """Encode like PHP's urlencode: spaces as '+', only `-_.` and alphanumerics kept."""
    return quote_plus(text, safe="-_.").replace("~", "%7E")


def php_scalar(value: Any) -> str:
    """Render a scalar as http_build_query does (true → "1", false → "0")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _flatten(data: Mapping[str, Any] | list[Any], prefix: str) -> Iterable[tuple[str, str]]:
    items = data.items() if isinstance(data, Mapping) else enumerate(data)
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping | list | tuple):
            yield from _flatten(value if not isinstance(value, tuple) else list(value), name)
        elif value is not None:  # http_build_query skips nulls
            yield name, php_scalar(value)


def flatten(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the flat (bracket key, string value) pairs http_build_query would write."""
    return list(_flatten(data, ""))


def build_query(data: Mapping[str, Any]) -> str:
    """Encode nested data exactly as PHP's http_build_query (RFC 1738 flavour)."""
    return "&".join(f"{php_urlencode(k)}={php_urlencode(v)}" for k, v in flatten(data))


def php_json(value: Any) -> Any:
    """Mimic PHP json_encode of arrays: sequential int keys become lists, empty maps become []."""
    if isinstance(value, dict):
        if list(value) == [str(i) for i in range(len(value))]:  # includes {} → []
            return [php_json(v) for v in value.values()]
        return {k: php_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [php_json(v) for v in value]
    return value
