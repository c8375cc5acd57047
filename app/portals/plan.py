"""What a portal's plan offers the backstop: the offline queue's reserve mode and its own source key.

Asked at install (portals.setup binds the activity events offline where the mode exists) and again by the
worker every few hours (inbox.offline). Vendor pages: common/system/feature-get.md, events/offline-events.md.
"""

from __future__ import annotations

from typing import Any

from app.bitrix24.client import Client

OFFLINE = "offline"
RECONCILE = "reconcile"
CONNECTOR = "timeline_bridge"  # the app's source key (auth_connector) for its offline queue
EVENTS = frozenset({"ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE"})


def features(client: Client) -> tuple[bool, bool]:
    """(rest_offline_extended, rest_auth_connector) from feature.get, in one batch (feature-get.md)."""
    answer = client.batch(
        {code: ("feature.get", {"CODE": code}) for code in ("rest_offline_extended", "rest_auth_connector")}
    )
    if answer.errors:
        raise next(iter(answer.errors.values()))
    return tuple(_yes(answer.results.get(code)) for code in ("rest_offline_extended", "rest_auth_connector"))  # type: ignore[return-value]


def _yes(result: Any) -> bool:
    return isinstance(result, dict) and str(result.get("value", "")).upper() == "Y"


def choose(extended: bool, connector: bool) -> tuple[str, str]:
    """The mode and source key a portal's features allow."""
    if not extended:
        return RECONCILE, ""
    return OFFLINE, CONNECTOR if connector else ""
