"""The per-field checks of the portal's DTO validators, run by ``_Reader`` over untrusted layout JSON.

The checks mirror the portal's DTO validators (crm/lib/activity/entity/configurablerestapp/dto): each object
runs its own checks, then the unknown-property check, then its nested objects, so ``problems[0]`` is the error
the portal would return. Where the portal is lenient (it casts scalars, takes a block without a type) the app
refuses anyway; such problems are marked ``strict`` and sorted after the ones the portal itself would report.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

from app.layout.links import as_browser_reads, leaves_the_page_host
from app.layout.models import _camel
from app.layout.problems import N_, Code, LayoutError, Problem, problem
from app.layout.schema import SIMPLE_BLOCK_TYPES

T = TypeVar("T")
Data: TypeAlias = Mapping[str, Any]  # one JSON object of untrusted input

_KEY = re.compile(r"[a-zA-Z0-9_-]+")
# A refusal lists this many problems at most: nobody reads more, and each is worded and sent back, so a
# body of a thousand bad items would cost a thousand times what the largest layout the editor makes does.
MAX_PROBLEMS = 50


def _join(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


def _as_object(value: Any) -> dict[str, Any] | None:
    """Return a JSON object; PHP sends an empty map as ``[]``, so that counts as one too."""
    if isinstance(value, dict):
        return value
    return {} if value == [] else None


def _as_map(value: Any) -> dict[str, Any] | None:
    """Return a keyed collection; a JSON array is a PHP map keyed 0..n-1 (blocks.get returns such maps so)."""
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return _as_object(value)


def _show(value: Any) -> str:
    """Return a value as JSON for a message, cut short so a huge value cannot flood the editor."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def is_web_address(uri: str) -> bool:
    """Whether a uri is an http(s) URL with a host or a path on the portal ("/crm/deal/details/1/")."""
    read = as_browser_reads(uri)
    if read != uri or any(char.isspace() for char in read):
        return False  # tabs, newlines or spaces inside: no link a person typed on purpose
    parts = urlsplit(read)
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.hostname) and read.lower().startswith(parts.scheme.lower() + "://")
    return not parts.scheme and read.startswith("/") and not leaves_the_page_host(read)


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


class _Enough(Exception):
    """The layout is refused already and more of it would cost more than it tells: the walk stops."""


class _Reader:
    """Walks untrusted layout JSON, collecting problems in the order the portal's validators run."""

    def __init__(
        self,
        languages: Collection[str] | None,
        *,
        icons: Collection[str] | None = None,
        logos: Collection[str] | None = None,
        blank_text: bool = False,
    ) -> None:
        self.problems: list[Problem] = []
        self.unread: set[str] = set()  # the paths of collections over their limit: their items are not read
        self.blank_text = blank_text  # an empty text passes (what a filled-in template's empty field gives)
        self.languages = None if languages is None else frozenset(languages)
        self.icons = None if icons is None else tuple(icons)
        self.logos = None if logos is None else tuple(logos)

    def report(self, code: Code, path: str, words: str, *, strict: bool = False, **values: str) -> None:
        """Note a problem: `words` is an N_ msgid, `values` fill its placeholders."""
        self.problems.append(problem(code, path, words, strict=strict, **values))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Enough

    def mark(self) -> int:
        return len(self.problems)

    def failed(self, mark: int) -> bool:
        return len(self.problems) > mark

    def build(self, mark: int, cls: Callable[..., T], data: Mapping[str, Any], **nested: Any) -> T | None:
        """Build a model from checked wire data, unless a problem was found since ``mark``."""
        if self.failed(mark):
            return None
        names = {_camel(item.name): item.name for item in fields(cast(Any, cls))}
        values = {
            names[key]: _copy(value) for key, value in data.items() if key in names and value is not None
        }
        return cls(**(values | nested))

    def read(self, walk: Callable[[_Reader, Any], T | None], data: Any) -> T:
        """Walk `data` and return the model built; LayoutError with the problems found before it stopped."""
        try:
            value = walk(self, data)
        except _Enough:
            value = None
        return self.result(value)

    def result(self, value: T | None) -> T:
        """Return the built model, or raise every problem, the portal's own first."""
        if self.problems:
            raise LayoutError(sorted(self.problems, key=lambda problem: problem.strict))
        assert value is not None
        return value

    # One method per portal validator; each checks one field of an object at ``path``.

    def required(self, data: Data, path: str, name: str, what: str, *, strict: bool = False) -> None:
        where = _join(path, name)
        if name not in data:
            self.report(
                Code.FIELD_IS_REQUIRED,
                where,
                N_("{what} needs '{name}'."),
                strict=strict,
                what=what,
                name=name,
            )
        elif data[name] is None:  # the portal only checks that the key exists
            words = N_("{what} needs '{name}', not null.")
            self.report(Code.FIELD_IS_REQUIRED, where, words, strict=True, what=what, name=name)

    def nonempty(self, data: Data, path: str, name: str, what: str, *, strict: bool = False) -> None:
        if data.get(name) in ({}, []):
            words = N_("{what} needs at least one block in '{name}'.")
            self.report(Code.FIELD_IS_REQUIRED, _join(path, name), words, strict=strict, what=what, name=name)

    def text(self, data: Data, path: str, name: str) -> None:
        """Check a textWithTranslation: a string, or a non-empty map of installed languages to strings."""
        value = data.get(name)
        where = _join(path, name)
        if value is None or isinstance(value, str):
            return
        if isinstance(value, list) and value and self.languages is not None:
            # A JSON array is a PHP map keyed 0..n-1, and TextWithTranslationField takes 0 for a language.
            words = N_("'{name}' must be a map of language ids to strings, not a list.")
            self.report(Code.WRONG_LANG, _join(where, 0), words, name=name)
        if not isinstance(value, dict) or not value:  # the portal casts scalars and takes an empty map as ""
            words = N_("'{name}' must be a string or a non-empty map of language ids to strings.")
            self.report(Code.WRONG_FIELD_VALUE, where, words, strict=True, name=name)
            return
        for lang, item in value.items():
            if self.languages is not None and lang not in self.languages:
                installed = ", ".join(sorted(self.languages))
                words = N_("Language {lang} is not installed on the portal; use one of: {installed}.")
                self.report(Code.WRONG_LANG, _join(where, lang), words, lang=repr(lang), installed=installed)
            elif not isinstance(item, str):
                words = N_("The {lang} text must be a string, not {value}.")
                self.report(
                    Code.WRONG_FIELD_VALUE, _join(where, lang), words, lang=repr(lang), value=_show(item)
                )

    def flag(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        # The portal casts anything to a boolean; the app wants a real one.
        if value is not None and not isinstance(value, bool):
            words = N_("'{name}' must be true or false, not {value}.")
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, strict=True, name=name, value=_show(value)
            )

    def string(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            words = N_("'{name}' must be a string, not {value}.")
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, strict=True, name=name, value=_show(value)
            )

    def integer(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            words = N_("'{name}' must be a whole number, not {value}.")
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, strict=True, name=name, value=_show(value)
            )

    def enum(self, data: Data, path: str, name: str, values: Sequence[str], *, strict: bool = False) -> None:
        if name in data and data[name] not in values:  # null too: the portal's in_array refuses it
            words = N_("{value} is not a valid '{name}'; use one of: {allowed}.")
            shown, allowed = _show(data[name]), ", ".join(values)
            self.report(
                Code.ENUM_FIELD,
                _join(path, name),
                words,
                strict=strict,
                value=shown,
                name=name,
                allowed=allowed,
            )

    def text_color(self, data: Data, path: str, name: str, values: Sequence[str]) -> None:
        """A text block's colour: the portal's REST check (TextDto) takes its four greys only, although its
        own items also use green and purple; the refusal says which colours there are, in words."""
        if name in data and data[name] not in values:
            words = N_(
                "{value} is not a text colour Bitrix24 takes from apps: use base_50 (light grey), base_60 "
                "(grey), base_70 (dark grey) or base_90 (almost black), or leave the colour out."
            )
            self.report(Code.ENUM_FIELD, _join(path, name), words, value=_show(data[name]))

    def pattern(self, data: Data, path: str, name: str, regex: re.Pattern[str], hint: str) -> None:
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and regex.fullmatch(value)):
            words = N_("'{name}' must be {hint}, not {value}.")
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, name=name, hint=hint, value=_show(value)
            )

    def object_field(self, data: Data, path: str, name: str) -> None:
        value = data.get(name, {})
        if _as_object(value) is None:
            # A non-empty JSON array is a PHP array, so the portal takes it; the app wants an object.
            strict = isinstance(value, list)
            words = N_("'{name}' must be a JSON object, not {value}.")
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, strict=strict, name=name, value=_show(value)
            )

    def web_address(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        # The portal passes any uri on (its docs ask for "a valid link URI, for example https://example.com or
        # /crm/deal/details/1/", action.md); the app takes exactly those two shapes: no javascript: link, no
        # scheme-relative one (//evil.com, \\evil.com) that leaves the portal (app.layout.links), no "not a
        # url".
        if isinstance(value, str) and not is_web_address(value):
            words = N_(
                "'{name}' must be a portal path such as /crm/deal/details/1/ or an http(s) URL such as "
                "https://example.com/, not {value}."
            )
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), words, strict=True, name=name, value=_show(value)
            )

    def filled(self, data: Data, path: str, name: str, what: str) -> None:
        value = data.get(name)
        if self.blank_text:
            return
        # The portal takes an empty text and shows an empty line; the app refuses what would show nothing.
        blank = isinstance(value, str) and not value.strip()
        if blank or (isinstance(value, dict) and value and all(_blank(item) for item in value.values())):
            words = N_("{what} needs some text in '{name}'; an empty one would show nothing.")
            self.report(Code.FIELD_IS_REQUIRED, _join(path, name), words, strict=True, what=what, name=name)

    def key(self, key: object, path: str) -> None:
        if isinstance(key, int):  # PHP map keys may be integers; only string keys are pattern-checked
            return
        if not (isinstance(key, str) and _KEY.fullmatch(key)):
            words = N_("Key {key} may contain only Latin letters, digits, '-' and '_'.")
            self.report(Code.KEY_CONTAIN_WRONG_SYMBOLS, _join(path, key), words, key=repr(key))

    def count(self, items: Collection[Any], path: str, name: str, limit: int) -> None:
        if len(items) > limit:
            self.problems.append(too_many(path, name, len(items), limit))
            self.unread.add(path)  # refused whole: reading thousands of its items would tell nothing more

    def block_map(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check an object of blocks keyed by block id (the portal's ObjectCollectionField)."""
        where = _join(path, name)
        items = _as_map(data.get(name, {}))
        if items is None:
            self.report(
                Code.WRONG_FIELD_VALUE,
                where,
                N_("'{name}' must be a JSON object keyed by block id."),
                name=name,
            )
            return
        for key, item in items.items():
            self.key(key, where)
            if _as_object(item) is None:
                self.report(Code.WRONG_FIELD_VALUE, _join(where, key), N_("A block must be a JSON object."))
        self.count(items, where, name, limit)

    def keyed_objects(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check tags, buttons or menu items: objects keyed by the app's ids (a JSON array: keys 0..n-1)."""
        where = _join(path, name)
        if name not in data:
            return
        items = _as_map(data[name])  # null too: the portal's ObjectCollectionField wants an array
        if items is None:
            self.report(
                Code.WRONG_FIELD_VALUE, where, N_("'{name}' must be a JSON object keyed by id."), name=name
            )
            return
        for key, item in items.items():
            self.key(key, where)
            if _as_object(item) is None:
                words = N_("Each item of '{name}' must be a JSON object, not {value}.")
                self.report(Code.WRONG_FIELD_VALUE, _join(where, key), words, name=name, value=_show(item))
        self.count(items, where, name, limit)

    def scalar_map(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check actionParams: a flat object of strings, numbers or booleans."""
        where = _join(path, name)
        if name not in data:
            return
        items = _as_object(data[name])
        if items is None:
            strict = isinstance(data[name], list)
            words = N_("'{name}' must be a JSON object of strings, numbers or booleans.")
            self.report(Code.WRONG_FIELD_VALUE, where, words, strict=strict, name=name)
            return
        for key, item in items.items():
            self.key(key, where)
            if item is None or isinstance(item, dict | list):
                words = N_("Parameter {key} must be a string, number or boolean, not {value}.")
                self.report(
                    Code.WRONG_FIELD_VALUE, _join(where, key), words, key=repr(key), value=_show(item)
                )
        self.count(items, where, name, limit)

    def simple_types(self, data: Data, path: str, name: str, *, many: bool) -> None:
        """Check that nested blocks are text, link or deadline (the portal's SimpleContentBlockField)."""
        where = _join(path, name)
        if many:
            children = [(_join(where, key), block) for key, block in (_as_map(data.get(name)) or {}).items()]
        else:
            children = [(where, data.get(name))]
        objects = [(at, block) for at, block in children if isinstance(block, dict)]
        for position, (at, block) in enumerate(objects, start=1):
            if block.get("type") in SIMPLE_BLOCK_TYPES:
                continue
            got = _show(block["type"]) if "type" in block else N_("a block without a type")
            words = N_("Only text, link or deadline blocks can be nested here, not {got}.")
            # The portal keeps only the last child's verdict, so an earlier bad child slips through there.
            self.report(
                Code.WRONG_FIELD_VALUE, _join(at, "type"), words, strict=position < len(objects), got=got
            )

    def no_extra(
        self,
        data: Mapping[str, Any],
        path: str,
        allowed: Sequence[str],
        what: str,
        *,
        lenient: Collection[str] = (),
    ) -> None:
        """Refuse unknown properties; ``lenient`` names are ones the portal would let through."""
        for name in data:
            if name in allowed:
                continue
            hint = difflib.get_close_matches(str(name), allowed, n=1)
            words = (
                N_("{what} has no property '{name}'. Did you mean '{guess}'? Allowed: {allowed}.")
                if hint
                else N_("{what} has no property '{name}'. Allowed: {allowed}.")
            )
            values = {"what": what, "name": str(name), "allowed": ", ".join(allowed)} | (
                {"guess": hint[0]} if hint else {}
            )
            self.report(Code.FIELD_IS_REDUNDANT, _join(path, name), words, strict=name in lenient, **values)


def too_many(path: str, name: str, items: int, limit: int) -> Problem:
    """TOO_MANY_ITEMS for a collection of `items` where `limit` may be."""
    words = N_("'{name}' has too many items ({items}); the most allowed is {limit}.")
    return problem(Code.TOO_MANY_ITEMS, path, words, name=name, items=str(items), limit=str(limit))
