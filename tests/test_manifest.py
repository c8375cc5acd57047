"""The app descriptor: validated at start-up, printed as URLs for the vendor console."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.config import ConfigError
from app.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
VALID = json.loads((ROOT / "manifest.json").read_text())


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_the_shipped_manifest_is_valid_and_complete() -> None:
    manifest = load_manifest(ROOT / "manifest.json", STATIC)
    assert set(manifest.scope) == {"crm", "placement", "user_brief"}
    assert {
        "ONAPPINSTALL",
        "ONAPPUPDATE",
        "ONAPPUNINSTALL",
        "ONCRMACTIVITYADD",
        "ONCRMACTIVITYUPDATE",
        "ONCRMACTIVITYDELETE",
    } <= set(manifest.events)
    placement = manifest.placements[0]
    assert placement.placement == "CRM_ACTIVITY_LIST_MENU" and {"en", "ru"} <= set(placement.title)
    assert manifest.activity_types[0].type_id and (STATIC / manifest.activity_types[0].icon).is_file()


def mutate(path: str, value: object = None, *, delete: bool = False) -> dict:
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if delete:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (mutate("code", delete=True), "(top level): 'code' is a required property"),
        (mutate("version", 3), "version: 3 is not of type 'string'"),
        (mutate("scope", []), "scope"),
        (mutate("handlers.events", "events"), "handlers/events"),
        (mutate("events.0", "onAppInstall"), "events/0"),
        (mutate("placements.0.placement", "DEFAULT"), "placements/0/placement"),
        (
            mutate("placements.0.title", {"ru": "только ru"}),
            "placements/0/title: 'en' is a required property",
        ),
        (mutate("activity_types.0.type_id", "has space"), "activity_types/0/type_id"),
        (mutate("surprise", True), "Additional properties are not allowed ('surprise' was unexpected)"),
        (mutate("activity_types.0.icon", "missing-icon.png"), "icon static/missing-icon.png does not exist"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_each_kind_of_invalid_manifest_is_named(tmp_path: Path, data: object, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_manifest(write(tmp_path, data), STATIC)
    assert words in raised.value.message
    assert "\n" not in raised.value.message


def test_a_missing_manifest_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_manifest(tmp_path / "manifest.json", STATIC)


def test_manifest_urls_prints_absolute_urls_from_app_base_url(app, runner) -> None:
    app.config["APP_BASE_URL"] = "https://tb.example.com"
    result = runner.invoke(args=["manifest", "urls"])
    assert result.exit_code == 0
    lines = dict(line.rsplit(None, 1) for line in result.output.strip().splitlines())
    assert lines["install handler"] == "https://tb.example.com/install"
    assert lines["events handler"] == "https://tb.example.com/events"
    assert lines["main handler"] == "https://tb.example.com/"
    assert lines["placement CRM_ACTIVITY_LIST_MENU"] == "https://tb.example.com/placements/activity-menu"
