"""LayoutBuilder: a Layout built block by block."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Self

from app.layout.models import (
    Action,
    Block,
    Deadline,
    LargeText,
    Layout,
    LineOfBlocks,
    Link,
    SimpleBlock,
    Text,
    WithTitle,
)
from app.layout.reader import validate_layout
from app.layout.schema import Color, Scope, Size, TextWithTranslation


class LayoutBuilder:
    """Build a Layout block by block, in display order; ``build()`` validates it."""

    def __init__(self) -> None:
        self._blocks: dict[str, Block] = {}

    def add(self, key: str, block: Block) -> Self:
        """Append a block under a key that is not used yet."""
        if key in self._blocks:
            raise ValueError(f"block key {key!r} is used twice")
        self._blocks[key] = block
        return self

    def text(
        self,
        key: str,
        value: TextWithTranslation,
        *,
        multiline: bool | None = None,
        title: TextWithTranslation | None = None,
        bold: bool | None = None,
        size: Size | None = None,
        color: Color | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a text block."""
        block = Text(value, multiline=multiline, title=title, bold=bold, size=size, color=color, scope=scope)
        return self.add(key, block)

    def large_text(self, key: str, value: TextWithTranslation, *, scope: Scope | None = None) -> Self:
        """Append a long, collapsible text block."""
        return self.add(key, LargeText(value, scope=scope))

    def link(
        self,
        key: str,
        text: TextWithTranslation,
        action: Action,
        *,
        bold: bool | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a link block."""
        return self.add(key, Link(text, action, bold=bold, scope=scope))

    def deadline(self, key: str, *, readonly: bool | None = None, scope: Scope | None = None) -> Self:
        """Append the activity's deadline."""
        return self.add(key, Deadline(readonly=readonly, scope=scope))

    def with_title(
        self,
        key: str,
        title: TextWithTranslation | None,
        block: SimpleBlock,
        *,
        inline: bool | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a titled text, link or deadline block."""
        return self.add(key, WithTitle(title, block, inline=inline, scope=scope))

    def line_of_blocks(
        self, key: str, blocks: Mapping[str, SimpleBlock], *, scope: Scope | None = None
    ) -> Self:
        """Append a line of text, link or deadline blocks."""
        return self.add(key, LineOfBlocks(dict(blocks), scope=scope))

    def build(self, *, languages: Collection[str] | None = None) -> Layout:
        """Return the layout, or raise LayoutError if the portal would refuse it."""
        layout = Layout(dict(self._blocks))
        validate_layout(layout, languages=languages)
        return layout
