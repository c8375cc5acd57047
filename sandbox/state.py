"""The sandbox's in-memory world: portals, their users and CRM owners, installed apps and issued tokens.

Activity-related state (activities, bindings, types, content blocks, configurable activities, badges)
lives in `sandbox.crm.store.CrmStore`, one per portal. Everything is resettable with `Sandbox.reset()`.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.crm.store import CrmStore
from sandbox.locks import WorldLock
from sandbox.settings import DEFAULTS

OWNER_TYPES = {1: "LEAD", 2: "DEAL", 3: "CONTACT", 4: "COMPANY"}  # notes §8.1


@dataclass
class User:
    id: int
    name: str
    last_name: str
    email: str
    is_admin: bool = False
    can_edit_crm: bool = True  # per-user permission to change CRM items (ACCESS_DENIED otherwise)
    crm_read: str = "all"  # CRM read rights: "all", "own" (items ASSIGNED_BY_ID to the user), "none" (no CRM)
    active: bool = True
    photo: str = ""  # PERSONAL_PHOTO: the picture's URL (CRestUtil::GetFile), absent when the user has none
    position: str = ""  # WORK_POSITION; "" means the seeded default by role


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
    events: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"event","handler","auth_type","event_type","user_id","id"}
    placements: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"placement","handler","title","description","lang_all","options","user_id"}
    offline: Any = None  # sandbox.offline.OfflineQueue, made on first use


@dataclass
class AppRegistration:
    """An app as the vendor console knows it: credentials and handler URLs (notes §1.1, §4.1)."""

    client_id: str
    client_secret: str
    base_url: str
    install_path: str = "/install"
    main_path: str = "/"
    redirect_path: str = "/oauth/callback"
    api_only: bool = False
    scope: list[str] = field(default_factory=lambda: ["crm", "placement", "user_brief"])
    code: str = "local.timeline_bridge"
    version: int = 1
    status: str = "L"

    def url(self, path: str) -> str:
        """Join the app's base URL and a handler path."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @property
    def install_url(self) -> str:
        return self.url(self.install_path)

    @property
    def main_url(self) -> str:
        return self.url(self.main_path)

    @property
    def redirect_uri(self) -> str:
        return self.url(self.redirect_path)


@dataclass
class Delivery:
    """One event POST to one handler, as logged by the queue server (notes §2.3)."""

    id: int
    event: str
    url: str
    body: str  # the raw application/x-www-form-urlencoded body
    member_id: str
    client_id: str
    handler_id: int
    created_at: float
    status: int | None = None
    error: str | None = None
    sent_at: float | None = None
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form used by /_sandbox/deliveries."""
        return {
            "id": self.id,
            "event": self.event,
            "url": self.url,
            "body": self.body,
            "member_id": self.member_id,
            "client_id": self.client_id,
            "handler_id": self.handler_id,
            "created_at": self.created_at,
            "status": self.status,
            "error": self.error,
            "sent_at": self.sent_at,
            "done": self.done,
        }


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
    refresh_expires_at: float = 0.0
    issued_at: float = 0.0


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
    # smart processes (crm.type.list): entityTypeId → title; each has a CRM_DYNAMIC_<id>_… placement family
    smart_types: dict[int, str] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    timezone_offset: str = "+00:00"
    bucket_level: float = 0.0  # leaky bucket (notes §5.6)
    bucket_at: float = 0.0
    operating: dict[tuple[str, str], list[tuple[float, float]]] = field(
        default_factory=dict
    )  # (client, method)
    # one REST request at a time on this portal; other portals serve meanwhile (sandbox/locks.py)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def admin(self) -> User:
        """Return the first administrator (the portal owner)."""
        return next(u for u in sorted(self.users.values(), key=lambda u: u.id) if u.is_admin)

    @property
    def license_type(self) -> str:
        return self.license.split("_", 1)[-1]

    @property
    def license_family(self) -> str:
        return self.license_type.rstrip("0123456789")

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
    """All portals plus the OAuth server's tokens and codes; lock order world → Portal.lock → lock."""

    oauth_base_url: str = ""
    portals: dict[str, Portal] = field(default_factory=dict)  # by member_id
    tokens: dict[str, IssuedToken] = field(default_factory=dict)  # by access token
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)  # by refresh token
    auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(
        default_factory=dict
    )  # limits, fault switches, disputed-behaviour switches
    lock: threading.RLock = field(default_factory=threading.RLock)  # short: shared dicts and counters
    world: WorldLock = field(default_factory=WorldLock)  # shared by REST, exclusive for control/UI/reset
    registrations: dict[str, AppRegistration] = field(default_factory=dict)  # vendor console, by client_id
    deliveries: list[Delivery] = field(default_factory=list)
    delivery_seq: int = 0
    errors: list[str] = field(default_factory=list)  # tracebacks of unexpected handler errors
    faults: list[dict[str, Any]] = field(default_factory=list)  # see sandbox.limits
    grants: list[dict[str, Any]] = field(default_factory=list)  # the token endpoint's log (sandbox.oauth)
    # REST requests that reached a portal host: (domain, method, batch commands, status) -> count
    requests: dict[tuple[str, str, str, int], int] = field(default_factory=dict)
    outbox: queue.Queue[Delivery | None] = field(default_factory=queue.Queue)
    worker: threading.Thread | None = None

    def reset(self) -> None:
        """Forget everything; the caller seeds again (holding `world` exclusively, as reset_and_seed does)."""
        with self.lock:
            self.portals.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.auth_codes.clear()
            self.deliveries.clear()
            self.errors.clear()
            self.faults.clear()
            self.grants.clear()
            self.requests.clear()

    def portal(self, member_id: str | None = None) -> Portal:
        """Return a portal by member_id, or the first (demo) portal."""
        if member_id:
            return self.portals[member_id]
        if not self.portals:
            raise KeyError("no portal: seed first")
        return next(iter(self.portals.values()))

    def setting(self, key: str) -> Any:
        """Read a setting, falling back to the documented default."""
        return self.settings.get(key, DEFAULTS.get(key))

    def portal_by_domain(self, domain: str) -> Portal | None:
        return next((p for p in self.portals.values() if p.domain == domain), None)
