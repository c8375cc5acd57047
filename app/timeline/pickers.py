"""The pickers' searches, as the page's user: users by name (user.search), CRM items by title (crm.item.list).

The user's own token asks, so the portal shows only what it lets that user see; each call goes through
the portal's bucket like every other. A form sent without JavaScript carries the typed text instead of a
chosen id: `resolve_user` / `resolve_item` take it when exactly one match fits (or one matches exactly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from app.bitrix24.client import Client
from app.bitrix24.hosts import vouchable_url
from app.i18n import NP_, counted
from app.inputs import MAX_ID, as_id
from app.timeline import texts as words
from app.timeline.actions import Problem
from app.timeline.service import item_title

MAX_QUERY = 100  # a name or a title; longer text is no search anyone types
TOO_LONG = NP_(
    "The search text is too long: at most {count} character.",
    "The search text is too long: at most {count} characters.",
)
SHOWN = 10  # options in the list; the portal answers pages of 50
NAMED_IN_REFUSAL = 5  # matches named when the text fits several
# The fields a type's item is named by (docs crm-item-list.md; a contact has no title, crm.item.fields).
NAME_FIELDS: dict[int, tuple[str, ...]] = {1: ("title", "name", "lastName"), 3: ("name", "lastName")}


@dataclass(frozen=True)
class Option:
    """One choice in a picker's list: what the form posts (id) and what the person reads."""

    id: int
    label: str
    detail: str = ""
    avatar: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def query_text(raw: Any, lang: str) -> str:
    """The typed text, trimmed; Problem (400) when it is not text or longer than MAX_QUERY."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise Problem(words.texts(lang)["pick_not_text"])
    text = " ".join(raw.split())
    if len(text) > MAX_QUERY:
        raise Problem(counted(lang, TOO_LONG, MAX_QUERY))
    return text


def item_type(raw: Any, lang: str) -> int:
    """A CRM type the page offers (or a smart process's, 128 up); Problem (400) in words otherwise."""
    type_id = as_id(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    if type_id is None or not (type_id in words.OWNER_TYPES or words.DYNAMIC_TYPE_START <= type_id <= MAX_ID):
        raise Problem(words.texts(lang)["pick_bad_type"])
    return type_id


def find_users(client: Client, query: str, portal_origin: str) -> list[Option]:
    """Active users whose names (or position, department) start with the typed words."""
    flt: dict[str, Any] = {"ACTIVE": True}
    if query:
        flt["FIND"] = query
    found = client.call("user.search", {"FILTER": flt})
    users = [u for u in found if isinstance(u, Mapping)] if isinstance(found, list) else []
    return [option for u in users[:SHOWN] if (option := user_option(u, portal_origin))]


def user_option(user: Mapping[str, Any], portal_origin: str) -> Option | None:
    user_id = as_id(user.get("ID"))
    if user_id is None:
        return None
    name = " ".join(str(user.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()
    label = name or str(user.get("EMAIL") or "").strip() or f"#{user_id}"
    detail = str(user.get("WORK_POSITION") or "").strip()
    return Option(user_id, label, detail, avatar_url(user.get("PERSONAL_PHOTO"), portal_origin))


def avatar_url(value: Any, portal_origin: str) -> str:
    """The photo's URL when it is on the portal itself, or https by a DNS name; nothing else reaches an <img>.

    By name: the viewer's browser loads the picture, so an address (https://192.168.0.1/, [::1], 0x7f.1,
    localhost) would point it at the viewer's own network; the portal's CDN is always a name.
    """
    if not isinstance(value, str) or len(value) > 2048:
        return ""
    parts = urlsplit(value)
    own = f"{parts.scheme}://{parts.netloc}".lower() == portal_origin.lower()
    if own and parts.scheme in ("http", "https"):
        return value
    return value if vouchable_url(value) else ""


def find_items(client: Client, type_id: int, query: str, lang: str) -> list[Option]:
    """Items of the type whose title (a contact's name) contains the typed text, newest first."""
    fields = NAME_FIELDS.get(type_id, ("title",))
    params = {
        "entityTypeId": type_id,
        "select": ["id", *fields],
        "filter": item_filter(fields, query),
        "order": {"id": "DESC"},
    }
    found = client.call("crm.item.list", params)
    rows = found.get("items") if isinstance(found, Mapping) else None
    items = [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []
    kind = words.owner_type(type_id, lang)
    options = []
    for item in items[:SHOWN]:
        item_id = as_id(item.get("id"))
        if item_id is not None:
            options.append(Option(item_id, f"{kind}: {item_title(item) or f'#{item_id}'}"))
    return options


def item_filter(fields: tuple[str, ...], query: str) -> dict[str, Any]:
    """`%title` for most types; for names, each typed word in the first or the last name (logic OR)."""
    if not query:
        return {}
    if fields == ("title",):
        return {"%title": query}
    groups: dict[str, Any] = {}
    for n, word in enumerate(query.split()):
        groups[str(n)] = {"logic": "OR", **{f"%{field}": word for field in fields}}
    return groups


def resolve_user(client: Client, query: str, portal_origin: str, lang: str) -> int:
    """The one active user the typed text names; Problem in words when none or several fit."""
    t = words.texts(lang)
    if not query:
        raise Problem(t["pick_user_missing"])
    options = find_users(client, query, portal_origin)
    return one_of(options, query, t["pick_no_user"], t["pick_many_users"])


def resolve_item(client: Client, type_id: int, query: str, lang: str) -> int:
    """The one item of the type the typed text names; Problem in words when none or several fit."""
    t = words.texts(lang)
    if not query:
        raise Problem(t["pick_item_missing"])
    options = find_items(client, type_id, query, lang)
    kind = words.owner_type(type_id, lang)
    return one_of(options, query, t["pick_no_item"].replace("{type}", kind), t["pick_many_items"])


def one_of(options: list[Option], query: str, none: str, many: str) -> int:
    """The single option, or the one whose name is exactly the text; else refuse naming the candidates."""
    if len(options) == 1:
        return options[0].id
    wanted = plain(query)
    exact = [o for o in options if plain(o.label) == wanted or plain(o.label).endswith(": " + wanted)]
    if len(exact) == 1:
        return exact[0].id
    if not options:
        raise Problem(none.format(query=query))
    names = ", ".join(o.label for o in options[:NAMED_IN_REFUSAL])
    raise Problem(many.format(query=query, names=names))


def plain(text: str) -> str:
    return " ".join(text.split()).casefold()
