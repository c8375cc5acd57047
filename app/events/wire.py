"""The event wire format: form-encoded PHP bracket keys (`auth[member_id]`, `data[FIELDS][ID]`), nested."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from flask import Request, current_app
from werkzeug.exceptions import BadRequest

from app.inputs import JsonRefused, load_json

MAX_DEPTH = 8
KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
NAME_CACHED = 64  # longer field names (no portal sends one) are decoded and split every time, never kept


def parse_body(request: Request) -> dict[str, Any]:
    """Parse an event body as a PHP server would (parse_str), or as JSON; refuse odd input.

    The body was read bounded (BODY_LIMIT_EVENTS) and a form's fields counted by app.web.limits already.
    """
    raw = request.get_data(cache=True)
    if request.mimetype == "application/json":
        return _json_body(raw)
    if request.mimetype == "application/x-www-form-urlencoded" and raw:
        return nest(form_pairs(raw, max_keys()), max_keys())
    return nest(list(request.form.items(multi=True)))  # multipart, a form a view has read already, or none


def max_keys() -> int:
    return int(current_app.config["FORM_FIELDS_LIMIT"])


def form_pairs(raw: bytes, limit: int) -> list[tuple[str, str]]:
    """The body's fields in order, decoded as werkzeug decodes a form (UTF-8, bad bytes replaced)."""
    # Read from the cached body directly: werkzeug's form parser wraps it in streams again.
    if raw.count(b"&") + 1 > limit:
        raise BadRequest(f"An event carries at most {limit} fields.")
    if not raw.isascii():  # as a portal never sends it: the standard parser's own decoding, exactly
        return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    pairs = []
    for field in raw.decode("ascii").split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_field_name(name) if len(name) <= NAME_CACHED else _unquote(name), _unquote(value)))
    return pairs


def _unquote(text: str) -> str:
    """An ASCII form field's name or value decoded, as parse_qsl decodes it (`+` a space, %XX UTF-8)."""
    # parse_qsl's own path costs 6x this on an event (py-spy: 13 % of a worker's GIL time under load):
    # a regex split and a call per field, where most values carry no escape at all.
    text = text.replace("+", " ")
    return unquote_to_bytes(text).decode("utf-8", "replace") if "%" in text else text


@lru_cache(maxsize=512)
def _field_name(raw: str) -> str:
    """A short field name decoded once per process: every event repeats the same two dozen names."""
    return _unquote(raw)


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = load_json(raw)
    except JsonRefused as refused:
        raise BadRequest(f"The event body {refused}.") from None
    if not isinstance(body, dict):
        raise BadRequest("The event body must be a JSON object.")
    return body


def nest(pairs: list[tuple[str, str]], limit: int | None = None) -> dict[str, Any]:
    """Build nested dicts from bracket keys; maps keyed 0..n-1 become lists, as PHP arrays would be used."""
    limit = max_keys() if limit is None else limit
    if len(pairs) > limit:
        raise BadRequest(f"An event carries at most {limit} fields.")
    root: dict[str, Any] = {}
    for key, value in pairs:
        _put(root, _known_path(key) if len(key) <= NAME_CACHED else _path(key), value)
    return {  # the body itself stays a map
        key: _listify(value) if isinstance(value, dict) else value for key, value in root.items()
    }


@lru_cache(maxsize=512)
def _known_path(key: str) -> tuple[str, ...]:
    """A short key's parts, split once per process (a refused key raises, and nothing is kept)."""
    return tuple(_path(key))


def _path(key: str) -> list[str]:
    if not KEY.match(key):
        raise BadRequest(f"The field name {key[:40]!r} is not a form key a portal sends.")
    # KEY admits only `name[a][b]…` with no bracket inside a part, so splitting on "][" is exact.
    head, _, rest = key.partition("[")
    parts = [head, *rest[:-1].split("][")] if rest else [head]
    if len(parts) > MAX_DEPTH:
        raise BadRequest(f"The field name {key[:40]!r} is nested deeper than {MAX_DEPTH} levels.")
    return parts


def _put(root: dict[str, Any], path: Sequence[str], value: str) -> None:
    node = root
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise BadRequest("A field is given both as a value and as a group.")
        node = child
    last = path[-1] if path[-1] != "" else str(len(node))  # `a[]=x` appends, as in PHP
    if isinstance(node.get(last), dict):
        raise BadRequest("A field is given both as a value and as a group.")
    node[last] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) if isinstance(value, dict) else value for key, value in node.items()}
    # Keys exactly "0" … "n-1" (so "00" or a non-ASCII digit keeps the map, as PHP keeps it a string key);
    # a map without "0" is rejected at its first look, which is every map an event holds but a list.
    if items and all(str(index) in items for index in range(len(items))):
        return [items[str(index)] for index in range(len(items))]
    return items
