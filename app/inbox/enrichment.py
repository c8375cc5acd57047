"""Enrichment rules: matching activities get a rule's content blocks, placeholders filled from the activity.

A rule matches on provider, type, owner type and direction (None = any); the first enabled matching rule by id
applies, since the portal keeps one block set per activity per app. The worker plans the sets after it has
updated the mirror, sends all of a portal's sets in one `batch`, then records the answers: the layout sent
goes on the mirror row, so an unchanged activity under an unchanged rule is not sent again. Failures are
recorded on the rule, never retried from the inbox (its events are already settled by then); the next event
of the activity tries again, as its rendered layout still differs from the stored one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from app.activities.placeholders import check_template, describe, layout_json, render_layout
from app.bitrix24 import activities
from app.bitrix24.activities import Activity as PortalActivity
from app.bitrix24.client import Client
from app.bitrix24.errors import Bitrix24Error, UnsuitableActivityType
from app.extensions import AnySession, db
from app.inputs import MAX_ID, bounded_int
from app.layout import LayoutError
from app.models import Activity, EnrichmentRule

log = logging.getLogger(__name__)
MATCHERS = (
    ("provider_id", "PROVIDER_ID"),
    ("type_id", "TYPE_ID"),
    ("owner_type_id", "OWNER_TYPE_ID"),
    ("direction", "DIRECTION"),
)
# Names a template may use: every field crm.activity.get returns (docs crm.activity.fields).
ERROR_LENGTH = 1000


class RuleError(ValueError):
    """A rule that cannot be saved for a reason other than its layout (name, matchers, JSON)."""


def matches(rule: EnrichmentRule, fields: Mapping[str, Any]) -> bool:
    """Whether every set matcher of the rule equals the activity's field (ids compared as text)."""
    for attribute, key in MATCHERS:
        wanted = getattr(rule, attribute)
        if wanted is not None and str(wanted) != str(fields.get(key) if fields.get(key) is not None else ""):
            return False
    return True


def portal_rules(member_id: str, *, enabled_only: bool = False) -> list[EnrichmentRule]:
    """The portal's rules by id."""
    query = select(EnrichmentRule).where(EnrichmentRule.member_id == member_id).order_by(EnrichmentRule.id)
    if enabled_only:
        query = query.where(EnrichmentRule.enabled.is_(True))
    return list(db.session.scalars(query))


def matching_rules(member_id: str, activity_fields: Mapping[str, Any]) -> list[EnrichmentRule]:
    """The portal's enabled rules that match this activity, by id (the first one applies)."""
    return [rule for rule in portal_rules(member_id, enabled_only=True) if matches(rule, activity_fields)]


def render(rule: EnrichmentRule, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's layout filled from the activity and checked as the portal would; raise LayoutError."""
    return render_layout(rule.layout, fields)


# --- validation on save ---


def validate_rule(data: Mapping[str, Any]) -> EnrichmentRule:
    """A new (unsaved) rule from form or CLI data; RuleError or LayoutError (problems with paths) if unfit."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 255:
        raise RuleError("a rule needs a name of 1 to 255 characters")
    member_id = str(data.get("member_id") or "").strip()
    if not member_id:
        raise RuleError("a rule needs a portal (member_id)")
    layout = layout_json(data.get("layout"), refuse=RuleError)
    check_template(layout)
    return EnrichmentRule(
        member_id=member_id,
        name=name,
        provider_id=_text_matcher(data.get("provider_id"), "provider"),
        type_id=_int_matcher(data.get("type_id"), "type"),
        owner_type_id=_int_matcher(data.get("owner_type_id"), "owner type"),
        direction=_int_matcher(data.get("direction"), "direction"),
        layout=layout,
        enabled=bool(data.get("enabled", True)),
    )


def _text_matcher(raw: Any, label: str) -> str | None:
    text = str(raw).strip() if raw is not None else ""
    if len(text) > 64:
        raise RuleError(f"the {label} is longer than 64 characters")
    return text or None


def _int_matcher(raw: Any, label: str) -> int | None:
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    number = bounded_int(text, None, low=-MAX_ID, high=MAX_ID)
    if number is None:
        raise RuleError(f"the {label} must be a number, not {text[:40]!r}")
    return number


# --- the worker step ---


@dataclass(frozen=True)
class Planned:
    """One blocks.set to send: the activity, its owner, the rule and the rendered layout."""

    activity_id: int
    owner_type_id: int
    owner_id: int
    rule_id: int
    layout: dict[str, Any]


@dataclass
class Outcome:
    """What a portal's enrichment became, by activity id."""

    applied: list[int] = field(default_factory=list)
    unsuitable: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def plan(session: AnySession, member_id: str, fetched: Iterable[PortalActivity]) -> list[Planned]:
    """The sets to send for fresh reads; records templates that render invalid. The caller commits."""
    reads = list(fetched)
    rules = portal_rules(member_id, enabled_only=True) if reads else []
    if not rules:
        return []
    stored = _stored_layouts(session, member_id, [activity.id for activity in reads])
    planned = []
    for activity in reads:
        rule = next((r for r in rules if matches(r, activity.fields)), None)
        if rule is None:
            continue
        try:
            layout = render(rule, activity.fields)
        except LayoutError as error:
            _record_error(rule, f"activity {activity.id}: {describe(error)}")
            continue
        if stored.get(activity.id) != layout:
            planned.append(Planned(activity.id, activity.owner_type_id, activity.owner_id, rule.id, layout))
    return planned


def send(client: Client, planned: list[Planned]) -> dict[int, Any]:
    """All the sets in one `batch` (the client splits past 50); per activity True or a typed error."""
    if not planned:
        return {}
    requests = {}
    answers: dict[int, Any] = {}
    for item in planned:
        try:
            requests[str(item.activity_id)] = activities.blocks_set(
                item.owner_type_id, item.owner_id, item.activity_id, item.layout
            )
        except Bitrix24Error as error:  # an activity without an owner: nothing to send
            answers[item.activity_id] = error
    if requests:
        try:
            answers |= {int(key): value for key, value in client.run_batch(requests).items()}
        except Bitrix24Error as error:
            answers |= {int(key): error for key in requests}
    return answers


def record(session: AnySession, member_id: str, planned: list[Planned], answers: dict[int, Any]) -> Outcome:
    """Store each applied layout on its mirror row and count outcomes on the rules; the caller commits."""
    outcome = Outcome()
    rules = {rule.id: rule for rule in portal_rules(member_id)}
    for item in planned:
        answer = answers.get(item.activity_id, Bitrix24Error("NO_RESULT", "the batch had no answer"))
        rule = rules.get(item.rule_id)
        if answer is True:
            _store_layout(session, member_id, item)
            outcome.applied.append(item.activity_id)
            if rule is not None:
                rule.applied_count += 1
        elif isinstance(answer, UnsuitableActivityType):
            log.info("member_id=%s activity %s takes no blocks: %s", member_id, item.activity_id, answer)
            outcome.unsuitable.append(item.activity_id)
            if rule is not None:
                rule.skipped_count += 1
                rule.last_error = f"activity {item.activity_id}: {answer}"[:ERROR_LENGTH]
        else:
            log.warning("member_id=%s activity %s: blocks not set: %s", member_id, item.activity_id, answer)
            outcome.failed.append(item.activity_id)
            if rule is not None:
                _record_error(rule, f"activity {item.activity_id}: {answer}")
    return outcome


def _record_error(rule: EnrichmentRule, message: str) -> None:
    rule.error_count += 1
    rule.last_error = message[:ERROR_LENGTH]


def _stored_layouts(session: AnySession, member_id: str, ids: list[int]) -> dict[int, Any]:
    rows = session.execute(
        select(Activity.activity_id, Activity.layout).where(
            Activity.member_id == member_id, Activity.activity_id.in_(sorted(set(ids)))
        )
    )
    return {int(activity_id): layout for activity_id, layout in rows}


def _store_layout(session: AnySession, member_id: str, item: Planned) -> None:
    session.execute(
        update(Activity)
        .where(Activity.member_id == member_id, Activity.activity_id == item.activity_id)
        .values(layout=item.layout, updated_at=Activity.updated_at)  # a read time, not ours to move
    )


# --- management (the CLI and the main page) ---


def add_rule(data: Mapping[str, Any]) -> EnrichmentRule:
    """Validate and stage a new rule; RuleError or LayoutError if unfit. The caller commits."""
    rule = validate_rule(data)
    db.session.add(rule)
    return rule


def find_rule(rule_id: int, *, member_id: str | None = None) -> EnrichmentRule | None:
    """A rule by id, only within `member_id` when given (a page acts for one portal)."""
    rule = db.session.get(EnrichmentRule, rule_id)
    if rule is None or (member_id is not None and rule.member_id != member_id):
        return None
    return rule


def set_enabled(rule: EnrichmentRule, enabled: bool) -> None:
    """Switch a rule on or off; switching it on clears its last error. The caller commits."""
    rule.enabled = enabled
    if enabled:
        rule.last_error = None


def matchers_text(rule: EnrichmentRule) -> str:
    """The rule's matchers in words, e.g. ``provider=CRM_TODO owner type=2`` or ``any activity``."""
    labels = {"provider_id": "provider", "type_id": "type", "owner_type_id": "owner type"}
    parts = [
        f"{labels.get(attribute, attribute)}={getattr(rule, attribute)}"
        for attribute, _ in MATCHERS
        if getattr(rule, attribute) is not None
    ]
    return " ".join(parts) or "any activity"
