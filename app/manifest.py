"""The app descriptor (manifest.json): what to register on a portal, validated at start-up."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from app.config import ConfigError

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")


SMART_PROCESS = "{entityTypeId}"  # in a placement code bound once per smart process (for_each)


@dataclass(frozen=True)
class Placement:
    placement: str
    handler: str
    title: dict[str, str]
    description: dict[str, str]
    for_each: str = ""  # "smart_process": a template, one code per crm.type.list entry

    def codes(self, smart_types: Iterable[int]) -> list[str]:
        """The codes to bind: the placement itself, or one per smart process (notes §3.4)."""
        if not self.for_each:
            return [self.placement]
        return [self.placement.replace(SMART_PROCESS, str(type_id)) for type_id in smart_types]


@dataclass(frozen=True)
class ActivityType:
    type_id: str
    name: str
    icon: str  # a file under static/
    configurable: bool


@dataclass(frozen=True)
class Badge:
    """A kanban badge of the app's configurable activities (crm.activity.badge.add, notes §6.3)."""

    code: str
    title: dict[str, str]
    value: dict[str, str]
    type: str  # success, failure, warning, primary or secondary


@dataclass(frozen=True)
class Manifest:
    code: str
    name: str
    version: str
    scope: tuple[str, ...]
    handlers: dict[str, str]
    events: tuple[str, ...]
    placements: tuple[Placement, ...]
    activity_types: tuple[ActivityType, ...]
    badges: tuple[Badge, ...] = ()

    @property
    def per_smart_process(self) -> bool:
        """Whether some placement is bound once per smart process (registration asks crm.type.list first)."""
        return any(placement.for_each for placement in self.placements)

    def bound(self, smart_types: Iterable[int]) -> list[tuple[str, Placement]]:
        """Every (code, placement) to bind on a portal with these smart processes."""
        types = list(smart_types)
        return [(code, placement) for placement in self.placements for code in placement.codes(types)]

    def urls(self, base_url: str) -> dict[str, str]:
        """Absolute URLs to paste into the vendor console and to bind on portals."""
        urls = {f"{name} handler": base_url + path for name, path in self.handlers.items()}
        for placement in self.placements:
            urls[f"placement {placement.placement}"] = base_url + placement.handler
        return urls


def load_manifest(path: Path, static_folder: Path) -> Manifest:
    """Read and validate the manifest, stopping start-up with one line on any problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"manifest {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"manifest {path.name} is not valid JSON: {error}") from None
    _validate(raw, path.name)
    manifest = _build(raw)
    for activity_type in manifest.activity_types:
        if not (static_folder / activity_type.icon).is_file():
            raise ConfigError(f"manifest {path.name}: icon static/{activity_type.icon} does not exist")
    return manifest


def _validate(raw: Any, name: str) -> None:
    """Check against the JSON Schema, reporting the first problem with its location."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path) or "(top level)"
        raise ConfigError(f"manifest {name}: {where}: {errors[0].message}")


def _build(raw: dict[str, Any]) -> Manifest:
    """Turn validated JSON into the typed manifest."""
    return Manifest(
        code=raw["code"],
        name=raw["name"],
        version=raw["version"],
        scope=tuple(raw["scope"]),
        handlers=dict(raw["handlers"]),
        events=tuple(raw["events"]),
        placements=tuple(
            Placement(
                p["placement"], p["handler"], p["title"], p.get("description", {}), p.get("for_each", "")
            )
            for p in raw["placements"]
        ),
        activity_types=tuple(
            ActivityType(t["type_id"], t["name"], t["icon"], t.get("configurable", False))
            for t in raw["activity_types"]
        ),
        badges=tuple(Badge(b["code"], b["title"], b["value"], b["type"]) for b in raw.get("badges", [])),
    )
