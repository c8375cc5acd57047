"""Demo data: portals with users, CRM owners and the registered app; activities come from sandbox.crm.seed."""

from __future__ import annotations

import importlib
import secrets

from sandbox.apps import add_app, register_app
from sandbox.events import stop_worker
from sandbox.state import OWNER_TYPES, Owner, Portal, Sandbox, User

USERS = [
    User(1, "Maria", "Ivanova", "maria.ivanova@example.com", is_admin=True),
    User(2, "John", "Smith", "john.smith@example.com"),
    User(3, "Peter", "Brown", "peter.brown@example.com", can_edit_crm=False),
    User(4, "Olga", "Petrova", "olga.petrova@example.com", crm_read="own"),  # sees the items assigned to her
    User(5, "Ivan", "Sidorov", "ivan.sidorov@example.com", can_edit_crm=False, crm_read="none"),  # no CRM
]
SMART_TYPES = {1032: "Projects"}  # one smart process (user-defined types start at 1030 on current portals)
OWN_ITEMS = 2  # the second lead, deal, contact and company are assigned to Olga (user 4)
OWNERS: dict[int, list[str]] = {
    1: [
        "Website enquiry: Acme Logistics",
        "Trade show lead: Nordwind GmbH",
        "Call-back request: Elena Sokolova",
    ],
    2: ["Acme Logistics: annual support", "Nordwind GmbH: 40 licences", "Blue Harbor: onboarding package"],
    3: ["Elena Sokolova", "Thomas Müller", "Aisha Khan"],
    4: ["Acme Logistics Ltd", "Nordwind GmbH", "Blue Harbor Inc"],
}
# items whose cards have a timeline menu (notes §3.4): quotes (type 7) and the smart process's items
CARD_OWNERS: dict[int, list[str]] = {
    7: ["Estimate: Acme Logistics support renewal", "Estimate: Nordwind GmbH licences"],
    1032: ["Project: Acme warehouse rollout", "Project: Blue Harbor migration"],
}


def _owner(type_id: int, owner_id: int, title: str) -> Owner:
    """Build an owner row with the fields its CRM type would show."""
    assigned = "4" if owner_id == OWN_ITEMS else "1"
    if type_id == 3:
        name, last = title.split(" ", 1)
        fields = {"ID": str(owner_id), "NAME": name, "LAST_NAME": last, "ASSIGNED_BY_ID": assigned}
    else:
        fields = {"ID": str(owner_id), "TITLE": title, "ASSIGNED_BY_ID": assigned}
    return Owner(type_id, owner_id, title, fields)


def seed_portal(sandbox: Sandbox, domain: str, *, license: str = "en_project") -> Portal:
    """Create one portal with users, owners and the registered app."""
    protocol = sandbox.setting("portal_protocol")
    portal = Portal(member_id=secrets.token_hex(16), domain=domain, license=license, protocol=protocol)
    for user in USERS:
        portal.users[user.id] = User(**vars(user))
    for type_id, titles in {**{t: OWNERS[t] for t in OWNER_TYPES}, **CARD_OWNERS}.items():
        for index, title in enumerate(titles, start=1):
            portal.owners[(type_id, index)] = _owner(type_id, index, title)
    portal.smart_types.update(SMART_TYPES)
    sandbox.portals[portal.member_id] = portal
    app = add_app(sandbox, portal)
    app.installed = bool(sandbox.setting("preinstalled"))  # no ONAPPINSTALL: nothing is bound yet
    _seed_activities(portal)
    return portal


def _seed_activities(portal: Portal) -> None:
    """Let the CRM part seed activities if it provides sandbox.crm.seed.seed_activities."""
    try:
        module = importlib.import_module("sandbox.crm.seed")
    except ModuleNotFoundError:
        return
    seed = getattr(module, "seed_activities", None)
    if callable(seed):
        seed(portal)


def seed_demo(sandbox: Sandbox) -> Portal:
    """Seed every configured portal (the first is the demo portal) and return the first."""
    with sandbox.lock:
        if not sandbox.registrations:
            register_app(sandbox)
        domains = list(sandbox.setting("portal_domains")) or ["127.0.0.1:8001"]
        enterprise = set(sandbox.setting("enterprise_domains") or [])
        portals = [
            seed_portal(sandbox, d, license="de_ent10000" if d in enterprise else "en_project")
            for d in domains
        ]
    return portals[0]


def reset_and_seed(sandbox: Sandbox) -> Portal:
    """Reset all state and seed again."""
    stop_worker(sandbox, timeout=1.0)
    with sandbox.world.exclusive():  # no REST request sees a half-seeded world (sandbox/locks.py)
        sandbox.reset()
        sandbox.registrations.clear()
        return seed_demo(sandbox)
