"""The main page's logic: which portal a frame is for, who opened it, what administrators see, repair."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from app import metrics
from app.bitrix24.client import Client
from app.bitrix24.errors import AuthError, Bitrix24Error, PortalBusy
from app.extensions import db
from app.i18n import offset_of
from app.inbox import enrichment
from app.inbox.heartbeat import WorkerHealth, worker_health
from app.inputs import as_id
from app.main.choices import CHOICE_COMMANDS, Choices, choices_from
from app.metrics.inbox import FAILED, failed_rows
from app.models import (
    Activity,
    EnrichmentRule,
    InboxEvent,
    InboxStatus,
    InboxTally,
    Portal,
    PortalState,
    utcnow,
)
from app.portals import store, throttle
from app.portals.lifecycle import same_host
from app.portals.registration import HEALTH_COMMANDS, Health, Report, check, health_from
from app.portals.setup import register_portal

RECENT = 10


class Refused(Exception):
    """The page cannot be shown; `kind` names the refusal text (app.main.texts.REFUSALS)."""

    def __init__(self, kind: str, status: int, *, message: str = "", retry_after: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After


def unavailable(error: Bitrix24Error) -> Refused:
    """The refusal for a failed portal call: busy (503, try again in N s) or unavailable (502)."""
    if isinstance(error, PortalBusy):
        return Refused("busy", 503, retry_after=error.retry_after)
    return Refused("unavailable", 502, message=error.user_message)


@contextmanager
def verifying(portal: Portal, address: str, *, vouched: bool = False) -> Iterator[None]:
    """Send a frame's token only within the unverified-token budgets; a refused token keeps its unit.

    Refused("throttled", 429) when this portal or this address has had too many refused tokens lately.
    `vouched`: the token was accepted when its page opened (a picker's search). Only this address's budget
    may refuse it then, and a refusal still counts in the portal's: made-up tokens sent from elsewhere fill
    the portal's budget, and must not stop the pages already open there.
    """
    budgets = throttle.budgets(portal.member_id, address)
    checked = tuple(budget for budget in budgets if not vouched or budget.scope == "address")
    try:
        reservation = throttle.reserve(db.engine, checked, session=db.session)
    except throttle.Throttled as throttled:
        metrics.count_throttled(throttled.scope)  # a counter, not a log line: a flood must not flood the log
        raise Refused("throttled", 429, retry_after=throttled.retry_after) from None
    try:
        yield
    except Refused as refused:
        if refused.kind == "reopen":  # only a token the portal refused counts against the budgets
            reservation.keep()
            throttle.count(db.engine, [budget for budget in budgets if budget not in checked])
        else:
            reservation.release()
        raise
    except Exception:
        reservation.release()
        raise
    reservation.release()


@dataclass(frozen=True)
class Viewer:
    """The user the portal vouched for (profile answered to their own token)."""

    user_id: int
    name: str
    is_admin: bool


@dataclass
class Overview:
    """What an administrator sees about the installation."""

    portal: Portal
    health: Health | None
    health_error: str = ""
    recent: list[InboxEvent] = field(default_factory=list)
    failures: list[InboxEvent] = field(default_factory=list)
    inbox_counts: dict[str, int] = field(default_factory=dict)
    oldest_pending_seconds: float = 0.0  # how long this portal's oldest pending event has waited
    activities: int = 0
    rules: list[EnrichmentRule] = field(default_factory=list)
    workers: WorkerHealth | None = None  # every portal's events wait on the same workers


def installed_portal(member_id: str) -> Portal:
    """The stored portal for member_id, unless it is unknown or uninstalled."""
    portal = store.find(member_id)
    if portal is None or portal.state is PortalState.UNINSTALLED or portal.access_token_enc is None:
        raise Refused("not_installed", 404)
    return portal


def portal_for(member_id: str, domain: str) -> Portal:
    """The stored portal a frame claims to come from; its stored domain must be the frame's DOMAIN."""
    portal = installed_portal(member_id)
    if not same_host(portal.domain, domain):
        raise Refused("wrong_portal", 403)
    return portal


def portal_origin(portal: Portal) -> str:
    """The portal's origin as we stored it (never as a request claims it): scheme://host[:port]."""
    parts = urlsplit(portal.client_endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Opened:
    """One round trip's answer: who opened the page, and (for administrators) the installation's health."""

    viewer: Viewer
    health: Health | None
    health_error: str
    offset: str = ""  # the portal's UTC offset ("+03:00"), as its answer's clock shows it; "" if not known
    choices: Choices | None = None  # what a rule's matchers may be (administrators only)


def open_page(client: Client, lang: str = "en") -> Opened:
    """Ask, in one batch, who owns the frame's token, what the portal has bound and the rules' choices."""
    try:
        found = client.batch({"profile": ("profile", {}), **HEALTH_COMMANDS, **CHOICE_COMMANDS})
    except AuthError:
        raise Refused("reopen", 401) from None
    except Bitrix24Error as error:
        raise unavailable(error) from None
    viewer = _viewer(found.results.get("profile"))
    offset = offset_of(found.portal_time)
    if not viewer.is_admin:
        return Opened(viewer, None, "", offset)
    choices = choices_from(found, lang)
    try:
        health = health_from(
            found, current_app.extensions["manifest"], base_url=current_app.config["APP_BASE_URL"]
        )
    except Bitrix24Error as error:
        return Opened(viewer, None, error.user_message, offset, choices)
    return Opened(viewer, health, "", offset, choices)


def _viewer(profile: Any) -> Viewer:
    """The user from `profile`; an inactive user gets an empty result (notes §7), a refused token none."""
    user_id = as_id(profile.get("ID")) if isinstance(profile, Mapping) else None
    if user_id is None:
        raise Refused("reopen", 401)
    name = " ".join(str(profile.get(key) or "") for key in ("NAME", "LAST_NAME")).strip()
    return Viewer(user_id, name, profile.get("ADMIN") in (True, "Y", "1"))


def asked_activity(options: Mapping[str, Any]) -> int | None:
    """The activity PLACEMENT_OPTIONS {"action":"view_activity","activity_id":…} asks for, if any."""
    if options.get("action") != "view_activity":
        return None
    return as_id(options.get("activity_id"))


def overview(portal: Portal, client: Client) -> Overview:
    """The install's health (live), its recent events and failures, and counts."""
    health, error = live_health(client)
    return overview_with(portal, health, error)


def overview_with(portal: Portal, health: Health | None, error: str) -> Overview:
    """The overview around a health check already made."""
    backlogs = metrics.portal_backlogs(db.session, utcnow(), member_id=portal.member_id)
    backlog = backlogs[0] if backlogs else None
    return Overview(
        portal=portal,
        health=health,
        health_error=error,
        recent=_events(portal.member_id),
        failures=_events(portal.member_id, failed=True),
        inbox_counts=_inbox_counts(portal.member_id, backlog.pending if backlog else 0),
        oldest_pending_seconds=backlog.lag_seconds if backlog else 0.0,
        activities=_activity_count(portal.member_id),
        rules=enrichment.portal_rules(portal.member_id),
        workers=worker_health(db.session),
    )


def live_health(client: Client) -> tuple[Health | None, str]:
    """Compare what the portal has bound with the manifest; a failure becomes words, not a 500."""
    try:
        return check(
            client, current_app.extensions["manifest"], base_url=current_app.config["APP_BASE_URL"]
        ), ""
    except Bitrix24Error as error:
        return None, error.user_message


def repair(portal: Portal) -> Report:
    """Register everything again with the app's token and commit what register_portal noted."""
    try:
        report = register_portal(portal)
    finally:
        db.session.commit()
    return report


RULE_FIELDS = ("name", "provider_id", "type_id", "owner_type_id", "direction", "layout")
RULE_ACTIONS = ("enable", "disable", "delete")


def add_rule(portal: Portal, form: Mapping[str, str]) -> EnrichmentRule:
    """Store a rule from the page's form for this portal; RuleError or LayoutError when unfit."""
    data: dict[str, Any] = {name: form.get(name, "") for name in RULE_FIELDS}
    rule = enrichment.add_rule({**data, "member_id": portal.member_id})
    db.session.commit()
    return rule


def change_rule(portal: Portal, rule_id: int, action: str) -> EnrichmentRule | None:
    """Enable, disable or delete one of this portal's rules; None if it has no such rule."""
    rule = enrichment.find_rule(rule_id, member_id=portal.member_id)
    if rule is None or action not in RULE_ACTIONS:
        return None
    if action == "delete":
        db.session.delete(rule)
    else:
        enrichment.set_enabled(rule, action == "enable")
    db.session.commit()
    return rule


def _events(member_id: str, *, failed: bool = False) -> list[InboxEvent]:
    """The portal's newest events (or parked failures), read from the end of an index, not sorted."""
    query = select(InboxEvent).where(InboxEvent.member_id == member_id)
    if failed:  # literal: the partial index of failed rows, by age
        query = query.where(InboxEvent.status == FAILED).order_by(InboxEvent.received_at.desc())
    else:  # ids grow in arrival order: ix_inbox_member_id_id read backwards
        query = query.order_by(InboxEvent.id.desc())
    return list(db.session.scalars(query.limit(RECENT)))


def _inbox_counts(member_id: str, pending: int) -> dict[str, int]:
    """Pending rows (read with the oldest's age) and failed ones from their partial indexes, processed ones
    from the tally: no history scan."""
    done = db.session.scalar(select(InboxTally.done).where(InboxTally.member_id == member_id))
    return {
        InboxStatus.PENDING.value: pending,
        InboxStatus.DONE.value: int(done or 0),
        InboxStatus.FAILED.value: failed_rows(db.session, member_id=member_id),
    }


def _activity_count(member_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Activity)
        .where(Activity.member_id == member_id, ~Activity.deleted)  # the partial index's own term
    )
    return int(db.session.scalar(query) or 0)
