"""The app lifecycle on a portal: add, install (API-only), installFinish, update, uninstall (notes §1)."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.events import bind_handler, fire
from sandbox.settings import parse_scope
from sandbox.state import AppRegistration, InstalledApp, Portal, Sandbox
from sandbox.tokens import drop_app_tokens


class LifecycleError(Exception):
    """A lifecycle step that the portal would refuse (e.g. installFinish on an API-only app)."""


def register_app(sandbox: Sandbox) -> AppRegistration:
    """Record the app under test in the vendor console from the flat settings."""
    reg = AppRegistration(
        client_id=sandbox.setting("client_id"),
        client_secret=sandbox.setting("client_secret"),
        base_url=sandbox.setting("app_base_url"),
        install_path=sandbox.setting("install_path"),
        main_path=sandbox.setting("main_path"),
        redirect_path=sandbox.setting("redirect_path"),
        api_only=bool(sandbox.setting("api_only")),
        scope=parse_scope(sandbox.setting("app_scope")),
        code=sandbox.setting("app_code"),
        status=sandbox.setting("app_status"),
    )
    sandbox.registrations[reg.client_id] = reg
    return reg


def _registration(sandbox: Sandbox, client_id: str | None) -> AppRegistration:
    if client_id is None:
        return next(iter(sandbox.registrations.values()))
    if client_id not in sandbox.registrations:
        raise LifecycleError(f"unknown client_id {client_id}")
    return sandbox.registrations[client_id]


def find_app(sandbox: Sandbox, portal: Portal, client_id: str | None = None) -> InstalledApp:
    """Return the app row on a portal (the registered app by default)."""
    reg = _registration(sandbox, client_id)
    if reg.client_id not in portal.apps:
        raise LifecycleError(f"app {reg.client_id} is not on portal {portal.domain}")
    return portal.apps[reg.client_id]


def add_app(sandbox: Sandbox, portal: Portal, client_id: str | None = None) -> InstalledApp:
    """Create the app row as the Marketplace install button does: INSTALLED=N (notes §1.1)."""
    reg = _registration(sandbox, client_id)
    with sandbox.lock:
        if reg.client_id in portal.apps:
            return portal.apps[reg.client_id]
        app = InstalledApp(
            numeric_id=portal.next_id("app", start=5),
            client_id=reg.client_id,
            client_secret=reg.client_secret,
            code=reg.code,
            scope=list(reg.scope),
            handler_base_url=reg.base_url,
            install_url=reg.install_url,
            main_url=reg.main_url,
            api_only=reg.api_only,
            version=reg.version,
            status=reg.status,
            application_token=secrets.token_hex(16),  # notes §1.5: stable per installation
        )
        portal.apps[reg.client_id] = app
        return app


def install_app(
    sandbox: Sandbox, portal: Portal, client_id: str | None = None, *, user_id: int | None = None
) -> InstalledApp:
    """Install: UI apps wait for installFinish; API-only apps get ONAPPINSTALL now (notes §1.1)."""
    app = add_app(sandbox, portal, client_id)
    if app.api_only and not app.installed:
        with sandbox.lock:
            # notes §1.1: EventTable::add(ONAPPINSTALL → URL_INSTALL) then AppTable::install()
            bind_handler(portal, app, "ONAPPINSTALL", app.install_url, user_id=_user(portal, user_id))
            app.installed = True
        _fire_install(sandbox, portal, app, _user(portal, user_id))
    return app


def finish_install(
    sandbox: Sandbox, portal: Portal, client_id: str | None = None, *, user_id: int | None = None
) -> InstalledApp:
    """BX24.installFinish(): INSTALLED=Y, then ONAPPINSTALL to bound handlers (notes §1.3)."""
    app = find_app(sandbox, portal, client_id)
    if app.api_only:
        raise LifecycleError("installFinish is not possible for API-only apps (notes §1.3)")
    user = _user(portal, user_id)
    if not portal.users[user].is_admin:
        raise LifecycleError("only an administrator can finish the install (set_installed, notes §1.3)")
    if not app.installed:
        app.installed = True
        _fire_install(sandbox, portal, app, user)
    return app


def update_app(
    sandbox: Sandbox,
    portal: Portal,
    client_id: str | None = None,
    *,
    version: int | None = None,
    user_id: int | None = None,
) -> InstalledApp:
    """New version: ONAPPUPDATE, then the old version's handlers are dropped (notes §1.4)."""
    app = find_app(sandbox, portal, client_id)
    previous = app.version
    app.version = version if version is not None else previous + 1
    data = {"VERSION": app.version, "PREVIOUS_VERSION": previous, "LANGUAGE_ID": portal.language}
    fire(sandbox, portal, "ONAPPUPDATE", data, user_id=_user(portal, user_id), only_client_id=app.client_id)
    with sandbox.lock:
        app.events[:] = [b for b in app.events if b.get("version", 0) >= app.version]
    return app


def uninstall_app(
    sandbox: Sandbox, portal: Portal, client_id: str | None = None, *, clean: bool = False
) -> InstalledApp:
    """ONAPPUNINSTALL (no tokens) then drop handlers, placements and tokens (notes §1.6, §1.8)."""
    app = find_app(sandbox, portal, client_id)
    data = {"LANGUAGE_ID": portal.language, "CLEAN": 1 if clean else 0}
    fire(sandbox, portal, "ONAPPUNINSTALL", data, user_id=None, only_client_id=app.client_id)
    with sandbox.lock:
        app.events.clear()
        app.placements.clear()
        app.installed = False
        drop_app_tokens(sandbox, portal.member_id, app.client_id)
        del portal.apps[app.client_id]
        hook = getattr(portal.crm, "on_app_uninstalled", None)
        if callable(hook):
            hook(app, clean)
    return app


def _fire_install(sandbox: Sandbox, portal: Portal, app: InstalledApp, user_id: int) -> None:
    # notes §1.4: AppTable::install() data + LANGUAGE_ID
    data = {"VERSION": app.version, "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": portal.language}
    fire(sandbox, portal, "ONAPPINSTALL", data, user_id=user_id, only_client_id=app.client_id)


def _user(portal: Portal, user_id: int | None) -> int:
    return portal.admin.id if user_id is None else int(user_id)


def app_summary(app: InstalledApp) -> dict[str, Any]:
    """Describe an app row for control endpoints."""
    return {
        "id": app.numeric_id,
        "client_id": app.client_id,
        "code": app.code,
        "installed": app.installed,
        "api_only": app.api_only,
        "version": app.version,
        "status": app.status,
        "scope": app.scope,
        "application_token": app.application_token,
        "install_url": app.install_url,
        "main_url": app.main_url,
        "events": app.events,
        "placements": app.placements,
    }
