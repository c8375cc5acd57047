"""The sandbox's in-memory world: portals, their users and CRM owners, installed apps and issued tokens.

Activity-related state (activities, bindings, types, content blocks, configurable activities, badges)
lives in `sandbox.crm.store.CrmStore`, one per portal. Everything is resettable with `Sandbox.reset()`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.crm.store import CrmStore

OWNER_TYPES = {1: "LEAD", 2: "DEAL", 3: "CONTACT", 4: "COMPANY"}  # notes §8.1


@dataclass
class User:
    id: int
    name: str
    last_name: str
    email: str
    is_admin: bool = False
    can_edit_crm: bool = True  # per-user permission to change CRM items (ACCESS_DENIED otherwise)
    active: bool = True


@dataclass
class Owner:
    """A CRM item activities can be bound to: lead, deal, contact or company."""

    type_id: int
    id: int
    title: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class InstalledApp:
    """One app on one portal: what the portal knows of it (notes §1, §2.4, §3.1)."""

    numeric_id: int  # ASSOCIATED_ENTITY_ID of its REST_APP activities (notes §3.5)
    client_id: str
    client_secret: str
    code: str
    scope: list[str]
    handler_base_url: str  # where its pages live
    install_url: str
    main_url: str
    installed: bool = False  # INSTALLED=Y only after installFinish / API-only install (notes §1.1)
    api_only: bool = False
    version: int = 1
    status: str = "L"
    application_token: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)  # {"event","handler","auth_type","event_type","user_id","id"}
    placements: list[dict[str, Any]] = field(default_factory=list)  # {"placement","handler","title","description","lang_all","options","user_id"}


@dataclass
class IssuedToken:
    """An OAuth token pair issued for one user of one app on one portal (notes §4)."""

    access_token: str
    refresh_token: str
    member_id: str
    client_id: str
    user_id: int
    expires_at: float
    scope: list[str]
    revoked: bool = False  # single-use refresh: the pair dies once its refresh token is used (notes §4.4)
    refresh_used: bool = False
    event_session_ttl: int | None = None  # loop protection for event-issued tokens (notes §2.3)


@dataclass
class Portal:
    member_id: str
    domain: str  # host[:port] the portal answers on
    protocol: str = "http"
    language: str = "en"
    languages: tuple[str, ...] = ("en", "ru", "de")
    license: str = "en_project"  # LICENSE; family "ent" gets the enterprise limits (notes §5.6)
    users: dict[int, User] = field(default_factory=dict)
    owners: dict[tuple[int, int], Owner] = field(default_factory=dict)
    apps: dict[str, InstalledApp] = field(default_factory=dict)  # by client_id
    crm: CrmStore = field(default_factory=CrmStore)
    next_ids: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"{self.protocol}://{self.domain}"

    @property
    def client_endpoint(self) -> str:
        return f"{self.base_url}/rest/"

    def next_id(self, kind: str, start: int = 1) -> int:
        """Hand out the next integer id of a kind (activities, bindings, events, …)."""
        value = self.next_ids.get(kind, start)
        self.next_ids[kind] = value + 1
        return value


@dataclass
class Sandbox:
    """All portals plus the OAuth server's tokens and codes; guarded by one lock."""

    oauth_base_url: str = ""
    portals: dict[str, Portal] = field(default_factory=dict)  # by member_id
    tokens: dict[str, IssuedToken] = field(default_factory=dict)  # by access token
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)  # by refresh token
    auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # limits, fault switches, disputed-behaviour switches
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        """Forget everything; the caller seeds again."""
        with self.lock:
            self.portals.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.auth_codes.clear()

    def portal_by_domain(self, domain: str) -> Portal | None:
        return next((p for p in self.portals.values() if p.domain == domain), None)
