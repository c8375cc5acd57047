"""The database: portals (the vault's rows), the inbox, the activity mirror, rate limits, rules, the API."""

from __future__ import annotations

import enum
import json
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, return aware UTC: SQLite keeps no offset; PostgreSQL would apply the session zone."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The preset dictionary of compact payloads, version 1: the keys and names most events repeat, so deflate
# writes a ~190-byte event in ~50. Never edit it: rows stored with it would no longer read. A new one is a
# new version byte.
PAYLOAD_DICTIONARY_V1 = (
    b'{"event":"ONCRMTIMELINEITEMACTION","data":{"activityId":"","id":"","rev":"","actionParams":{}},'
    b'"ONCRMACTIVITYDELETE","ONCRMACTIVITYADD","offline":{"ID":"","MESSAGE_ID":"","TIMESTAMP_X":""},'
    b'"auth":{"status":"L","scope":"crm,placement,user_brief","user_id":"1"},'
    b'{"event":"ONCRMACTIVITYUPDATE","event_handler_id":"","data":{"FIELDS":{"ID":"'
)
PAYLOAD_V1 = b"\x01"


class CompactJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as compact JSON deflated with a preset dictionary, behind a version byte.

    Rows written before migration 0007_retention hold plain JSON text (bytes on PostgreSQL after its
    column became bytea): they read as before, since JSON text starts with `{`, never with a version byte.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=PAYLOAD_DICTIONARY_V1)
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return PAYLOAD_V1 + deflate.compress(text) + deflate.flush()

    def process_result_value(self, value: Any, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else read_payload(value)


def read_payload(stored: bytes | memoryview | str) -> dict[str, Any]:
    """A stored payload as its object: deflated (version 1) or plain JSON text (rows before 0007)."""
    raw = stored.encode() if isinstance(stored, str) else bytes(stored)
    if raw[:1] == PAYLOAD_V1:
        raw = zlib.decompressobj(-15, zdict=PAYLOAD_DICTIONARY_V1).decompress(raw[1:])
    loaded = json.loads(raw)
    return loaded if isinstance(loaded, dict) else {}


class PortalState(enum.StrEnum):
    INSTALLING = "installing"
    ACTIVE = "active"
    NEEDS_REINSTALL = "needs_reinstall"
    UNINSTALLING = "uninstalling"  # ONAPPUNINSTALL came; the worker confirms it with the platform
    UNINSTALLED = "uninstalled"


# States whose tokens the app uses. An uninstall request is verified by the application_token alone, which any
# user may hold, so a portal waiting on the platform's word keeps working: a forged one must cost it nothing.
IN_SERVICE = (PortalState.ACTIVE, PortalState.INSTALLING, PortalState.UNINSTALLING)
SERVED = (PortalState.ACTIVE, PortalState.UNINSTALLING)  # installed, as far as we know: drained, kept fresh


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: a VARCHAR with a CHECK, storing the values (not the names)."""
    return Enum(kind, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Portal(Model):
    """One installation of the app on one Bitrix24 portal, keyed by member_id (it never changes)."""

    __tablename__ = "portals"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    client_endpoint: Mapped[str] = mapped_column(String(512), nullable=False)
    server_endpoint: Mapped[str | None] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(512), nullable=False, default="")
    license: Mapped[str | None] = mapped_column(String(64))  # LICENSE from app.info, e.g. "de_ent10000"
    license_family: Mapped[str | None] = mapped_column(String(32))  # "ent" gets the enterprise limits
    app_status: Mapped[str | None] = mapped_column(String(4))  # L/F/D/T/P/S
    app_version: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[PortalState] = mapped_column(
        _enum(PortalState, "portal_state"), nullable=False, default=PortalState.INSTALLING
    )
    # Ciphertexts from the vault (MultiFernet); never a clear-text token in a column.
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the pair was last stored: refresh tokens die unused (28 days in older docs, 180 in newer).
    tokens_stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_version: Mapped[int] = mapped_column(nullable=False, default=0)
    application_token_sha256: Mapped[str | None] = mapped_column(String(64))
    installed_by_user_id: Mapped[int | None]
    # Which installation this row is: page tokens carry it, so one minted before a reinstall is refused. From
    # the clock (ms) and above the last one, so it also differs from a row a CLEAN uninstall deleted.
    generation: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1, server_default="1")
    # An ONAPPUNINSTALL waiting for the platform's word (state uninstalling): its CLEAN flag and when it came.
    uninstall_clean: Mapped[bool | None]
    uninstall_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How changes missed by the online events are caught up (inbox.offline): "offline" (the portal's offline
    # queue, drained under `offline_connector`) or "reconcile" (periodic >LAST_UPDATED reads); NULL: unknown.
    backstop: Mapped[str | None] = mapped_column(String(16))
    offline_connector: Mapped[str | None] = mapped_column(String(32))
    backstop_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # features last asked
    backstop_ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last complete drain/reconcile

    rate_limit: Mapped[RateLimitBucket | None] = relationship(
        back_populates="portal", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Portal {self.member_id} {self.domain} {self.state}>"


PENDING_ROWS = "status = 'pending'"
PENDING_CLICKS = "status = 'pending' AND event = 'ONCRMTIMELINEITEMACTION'"
FAILED_ROWS = "status = 'failed'"
DONE_ROWS = "status = 'done'"
LIVE_ACTIVITIES_SQLITE = "deleted = 0"
LIVE_ACTIVITIES_PG = "NOT deleted"


class InboxEvent(Model):
    """An accepted event, stored before the 200 and processed once by the worker."""

    __tablename__ = "inbox"
    __table_args__ = (
        # The fair claim (inbox.claims): a loose scan over the portals with pending rows, then each one's due
        # rows in order; pending clicks are found before any backlog. Partial, so they hold pending rows
        # only (small, and no done row to step over); queries name the constants literally (SQLite).
        # received_at and status make it cover the backlog figures (app.metrics.inbox): count and oldest
        # per portal from the index alone; SQLite counts a partial index as covering only when it holds
        # the columns of its own WHERE, and prefers a covering one to any index over the history.
        Index(
            "ix_inbox_pending_by_portal",
            "member_id",
            "next_attempt_at",
            "id",
            "received_at",
            "status",
            postgresql_where=text(PENDING_ROWS),
            sqlite_where=text(PENDING_ROWS),
        ),
        Index(
            "ix_inbox_pending_clicks",
            "next_attempt_at",
            "id",
            postgresql_where=text(PENDING_CLICKS),
            sqlite_where=text(PENDING_CLICKS),
        ),
        # Parked failures by portal, by age: /metrics and the main page count and list them without
        # reading the done rows, which grow with every event ever processed (issue #18).
        Index(
            "ix_inbox_failed_by_portal",
            "member_id",
            "received_at",
            "status",  # covering (see above)
            postgresql_where=text(FAILED_ROWS),
            sqlite_where=text(FAILED_ROWS),
        ),
        # A portal's recent events, newest (highest id) first, from the index's end, not a sort of its
        # history. Not (member_id, received_at): SQLite would take that for pending or failed counts too.
        Index("ix_inbox_member_id_id", "member_id", "id"),
        # Retention (app.inbox.retention) finds the done rows past their window oldest first, without
        # stepping over pending ones; the only index of done rows, and they are kept a week only.
        Index(
            "ix_inbox_done_by_processed_at",
            "processed_at",
            postgresql_where=text(DONE_ROWS),
            sqlite_where=text(DONE_ROWS),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(CompactJSON, nullable=False)  # no token (inbox.queue)
    status: Mapped[InboxStatus] = mapped_column(
        _enum(InboxStatus, "inbox_status"), nullable=False, default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A button click's clicking user's own access token, sealed by the vault: the worker carries the click
    # out as that user, so the portal applies their rights (app.inbox.item_actions). Erased once processed.
    user_token_enc: Mapped[str | None] = mapped_column(Text)


class InboxTally(Model):
    """A portal's count of inbox events ever processed (done): the main page's figure without a count(*).

    app.inbox.queue adds to it in the transaction that settles the rows, so it moves with them exactly.
    """

    __tablename__ = "inbox_tallies"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    done: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class Activity(Model):
    """The app's mirror of a portal activity, with the content blocks the app set on it."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("member_id", "activity_id", name="uq_activities_member_id_activity_id"),
        # The admin page's count of a portal's live activities from the index alone (app.main.service), not
        # a read of each mirrored row; the WHERE as SQLAlchemy renders `~Activity.deleted` on each backend.
        Index(
            "ix_activities_live_by_portal",
            "member_id",
            "deleted",
            postgresql_where=text(LIVE_ACTIVITIES_PG),
            sqlite_where=text(LIVE_ACTIVITIES_SQLITE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    activity_id: Mapped[int] = mapped_column(nullable=False)
    owner_type_id: Mapped[int | None]
    owner_id: Mapped[int | None]
    provider_id: Mapped[str | None] = mapped_column(String(64))
    provider_type_id: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(512))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the blocks this app set, as last sent
    deleted: Mapped[bool] = mapped_column(nullable=False, default=False)
    version: Mapped[str | None] = mapped_column(String(64))  # sha256 of `fields`: a read that changes nothing
    last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the portal's LAST_UPDATED
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class MirrorEffect(Model):
    """One change the worker applied to the mirror (a new version of an activity, or its deletion).

    Written by the mirror itself, only when a write changed the row, and deliberately without a unique key:
    the same change applied twice shows as two rows (the drill's "processed twice").
    """

    __tablename__ = "mirror_effects"
    __table_args__ = (Index("ix_mirror_effects_member_id_activity_id", "member_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    activity_id: Mapped[int] = mapped_column(nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)  # Activity.version, or "deleted"
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class RateLimitBucket(Model):
    """A portal's leaky bucket, shared by every process that calls it."""

    __tablename__ = "rate_limits"

    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[float] = mapped_column(nullable=False, default=0.0)
    # Unix seconds, so one UPDATE can drain and fill the bucket with the same arithmetic on every backend.
    drained_at: Mapped[float] = mapped_column(nullable=False, default=0.0)
    rate: Mapped[float | None]  # per-portal override of the plan's drain rate (requests/s)
    burst: Mapped[int | None]  # per-portal override of the plan's bucket size

    portal: Mapped[Portal] = relationship(back_populates="rate_limit")


class VerifyThrottle(Model):
    """A leaky bucket of unverified frame tokens per portal or client address (`portal:…`, `address:…`)."""

    __tablename__ = "verify_throttle"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    level: Mapped[float] = mapped_column(nullable=False, default=0.0)
    drained_at: Mapped[float] = mapped_column(nullable=False, default=0.0, index=True)  # unix seconds


class OAuthState(Model):
    """One authorization-code flow in progress: single use, short-lived, tied to the browser that began it."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Digests only: a database reader can neither replay a state nor pose as the browser.
    state_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    browser_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EnrichmentRule(Model):
    """A portal's rule: matching ADD/UPDATE activities get these content blocks (a template); None = any."""

    __tablename__ = "enrichment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    provider_id: Mapped[str | None] = mapped_column(String(64))  # PROVIDER_ID, e.g. CRM_TODO
    type_id: Mapped[int | None]  # TYPE_ID: 1 meeting, 2 call, 4 e-mail, 6 provider
    owner_type_id: Mapped[int | None]  # OWNER_TYPE_ID: 1 lead, 2 deal, 3 contact, 4 company
    direction: Mapped[int | None]  # DIRECTION: 0 none, 1 incoming, 2 outgoing
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # RestAppLayoutDto with {{NAMES}}
    enabled: Mapped[bool] = mapped_column(nullable=False, default=True)
    applied_count: Mapped[int] = mapped_column(nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(nullable=False, default=0)  # unsuitable activity types
    error_count: Mapped[int] = mapped_column(nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class ActivityTemplate(Model):
    """A portal's template for app activities: subject, description and content blocks with {{FIELDS}}."""

    __tablename__ = "activity_templates"
    __table_args__ = (UniqueConstraint("member_id", "name", name="uq_activity_templates_member_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(512), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # RestAppLayoutDto with {{NAMES}}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class TemplateSeed(Model):
    """A portal got the shipped default templates once; deleting them all never brings them back."""

    __tablename__ = "activity_template_seeds"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class ApiKey(Model):
    """A portal's key for the inbound API: found by its public prefix, checked by the secret's digest."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # never the secret itself
    label: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiRequestState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"


class ApiRequest(Model):
    """One idempotency key of the API: the unique row two concurrent retries race for; the first result."""

    __tablename__ = "api_requests"
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key", name="uq_api_requests_member_id_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # the same key, another body: 422
    state: Mapped[ApiRequestState] = mapped_column(
        _enum(ApiRequestState, "api_request_state"), nullable=False, default=ApiRequestState.PENDING
    )
    activity_id: Mapped[int | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the answer a retry gets again
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class WorkerHeartbeat(Model):
    """One inbox worker process: when it last looped and when it last processed events (inbox.heartbeat)."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random, one per process
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last batch that claimed events
    processed: Mapped[int] = mapped_column(nullable=False, default=0)  # events claimed since it started


class UsedNonce(Model):
    """A page token's one-time nonce, recorded when its form's action runs: a reload is refused."""

    __tablename__ = "used_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # The token's own expiry: after it the token is refused anyway, so the row may go.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
