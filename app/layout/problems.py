"""What the portal would refuse in a layout: error codes, problems and the error that carries them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Mark an English msgid for `make messages`; the app translates it where people read it (the views)."""
    return message


class Code(enum.StrEnum):
    """The portal's validation error codes (the REST `error` field)."""

    FIELD_IS_REQUIRED = "FIELD_IS_REQUIRED"
    FIELD_IS_REDUNDANT = "FIELD_IS_REDUNDANT"
    WRONG_FIELD_VALUE = "WRONG_FIELD_VALUE"
    ENUM_FIELD = "ENUM_FIELD"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    KEY_CONTAIN_WRONG_SYMBOLS = "KEY_CONTAIN_WRONG_SYMBOLS"
    WRONG_LANG = "WRONG_LANG"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a layout, at a dotted path such as ``blocks.b3.properties.action.type``."""

    code: Code
    path: str
    message: str  # in English, filled in: what the APIs and the logs say
    strict: bool = False  # True when the portal would accept it and only the app refuses
    # The message's msgid with its {placeholders} for the pages to translate ("": none), and what fills them
    # (TERMS among them are msgids too); the same problem however it was made, so not compared.
    words: str = field(default="", compare=False)
    values: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as JSON-ready data."""
        return {"code": str(self.code), "path": self.path, "message": self.message, "strict": self.strict}


TERMS = frozenset({"what", "hint", "got"})  # placeholders whose values are words (N_), not the user's data


def problem(code: Code, path: str, words: str, *, strict: bool = False, **values: str) -> Problem:
    """A problem whose message is the msgid `words` filled with `values` (translatable at the edge)."""
    message = words.format(**values) if values else words
    return Problem(code, path, message, strict, words, tuple(values.items()))


class LayoutError(ValueError):
    """A layout the portal would refuse; ``problems[0]`` is the one the portal would report."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first.path or 'layout'}: {first.message}{suffix}")

    @property
    def code(self) -> Code:
        return self.problems[0].code

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the JSON body the app's APIs send: error, message and every problem."""
        return {
            "error": str(self.code),
            "message": self.problems[0].message,
            "problems": [problem.to_dict() for problem in self.problems],
        }
