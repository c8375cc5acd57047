"""Demo activities on the seeded owners: calls, e-mails, meetings, to-dos; some done, some due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.crm.common import TODO
from sandbox.crm.params import portal_tz
from sandbox.crm.store import Activity, blank_fields

if TYPE_CHECKING:
    from sandbox.state import Portal

# (type id, provider, provider type, subject, direction, completed, hours from now, communication type)
KINDS: tuple[tuple[int, str, str, str, int, bool, int, str], ...] = (
    (2, "VOXIMPLANT_CALL", "CALL", "Incoming call", 1, True, -30, "PHONE"),
    (4, "CRM_EMAIL", "EMAIL", "Re: quotation", 1, True, -20, "EMAIL"),
    (1, "CRM_MEETING", "MEETING", "Kick-off meeting", 0, False, 26, ""),
    (6, TODO, "TODO", "Send the contract draft", 0, False, 4, ""),
    (2, "VOXIMPLANT_CALL", "CALL", "Follow-up call", 2, False, 50, "PHONE"),
    (6, TODO, "TODO", "Check the payment", 0, True, -2, ""),
)


def seed_activities(portal: Portal) -> None:
    """Put a few activities of each kind on the portal's owners (deals, leads, contacts, companies)."""
    now = datetime.now(portal_tz(getattr(portal, "timezone_offset", "+00:00"))).replace(microsecond=0)
    owners = sorted(portal.owners)
    users = sorted(u.id for u in portal.users.values() if u.crm_read == "all")  # the CRM's regular users
    for index, key in enumerate(owners):
        for offset in (0, 3):
            kind = KINDS[(index + offset) % len(KINDS)]
            add(portal, kind, key, users[index % len(users)] if users else 1, now)


def add(
    portal: Portal, kind: tuple[Any, ...], owner_key: tuple[int, int], user_id: int, now: datetime
) -> None:
    type_id, provider, provider_type, subject, direction, done, hours, comm_type = kind
    at = now + timedelta(hours=hours)
    fields = blank_fields()
    fields.update(
        OWNER_TYPE_ID=owner_key[0], OWNER_ID=owner_key[1], TYPE_ID=type_id, PROVIDER_ID=provider,
        PROVIDER_TYPE_ID=provider_type, SUBJECT=f"{subject}: {portal.owners[owner_key].title}",
        CREATED=now - timedelta(days=3), LAST_UPDATED=now - timedelta(days=1), START_TIME=at,
        END_TIME=at + timedelta(minutes=30), DEADLINE=at, RESPONSIBLE_ID=user_id, AUTHOR_ID=user_id,
        EDITOR_ID=user_id, DIRECTION=direction, DESCRIPTION=f"{subject} (demo data)",
    )  # fmt: skip
    activity = Activity(id=portal.next_id("activity"), fields=fields, bindings=[owner_key])
    activity.set_completed(done)
    if comm_type and owner_key[0] in (1, 3):
        value = "+1 555 0100" if comm_type == "PHONE" else "client@example.com"
        comm = {"ID": portal.next_id("communication"), "TYPE": comm_type, "VALUE": value}
        activity.communications = [{**comm, "ENTITY_ID": owner_key[1], "ENTITY_TYPE_ID": owner_key[0]}]
    portal.crm.activities[activity.id] = activity
