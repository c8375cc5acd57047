"""Every sandbox setting with its default; `Sandbox.settings` overrides, `/_sandbox/settings` edits."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # the app under test, as registered in the vendor console (notes §1.1)
    "client_id": "local.5f3e2a1b0c9d8e.12345678",
    "client_secret": "sandbox-client-secret-0123456789abcdef",
    "app_base_url": "http://127.0.0.1:5000",
    "install_path": "/install",
    "main_path": "/",
    "redirect_path": "/oauth/callback",
    "api_only": False,
    "app_scope": "crm,placement,user_brief",
    "app_code": "local.timeline_bridge",
    "app_status": "L",
    "preinstalled": False,  # seed the app as installed (INSTALLED=Y) without the installer step
    # hosts
    "oauth_base_url": "",  # e.g. http://127.0.0.1:8000; echoed as server_endpoint (notes §4.6)
    "portal_domains": [],  # host:port of each portal; the first gets the demo data
    "portal_protocol": "http",  # https when the portal sockets serve TLS
    "enterprise_domains": [],  # portals seeded with an enterprise licence (notes §5.6)
    # OAuth lifetimes (notes §4.1, §4.4)
    "token_lifetime": 3600,
    "refresh_lifetime": 180 * 86400,
    "code_lifetime": 30,
    # limits (notes §5.6)
    "rate": None,  # leak per second; None = by licence (2, enterprise 5)
    "burst": None,  # bucket size; None = by licence (50, enterprise 250)
    "limits_enabled": True,
    "operating_limit": 480.0,  # seconds of method time per app+method per window (cloud value, notes §9.3)
    "operating_window": 600.0,
    "operating_min": 0.1,  # only calls longer than this count
    "operating_cost": None,  # fixed cost per call for tests; None = measured time
    # events (notes §2.3)
    "event_timeout": 5.0,
    "event_user_agent": "Bitrix24 Webhook Engine",
    # plan features (feature-get.md): True, False, or the portal domains that have it
    "rest_offline_extended": True,  # event.offline.get clear=0
    "rest_auth_connector": True,  # auth_connector honoured (offline-events.md: Pro plan and above)
    # disputed behaviours (notes §9)
    "frame_extra_fields": True,  # frame POSTs carry SERVER_ENDPOINT, APPLICATION_TOKEN, APPLICATION_SCOPE
    "frame_uri_option": True,  # PLACEMENT_OPTIONS gets "URI" (§9.1)
    "expired_token_period": False,  # "…has expired" (source) vs "…has expired." (docs) (§9.4)
    "insufficient_scope_status": 401,  # 401 (source) vs 403 (docs table) (§9.4)
    "portal_deleted_status": 403,  # 403 (source) vs 500 (docs) vs 410 (PYSDK) (§9.4)
    "placement_error_status": 400,  # 400 (source) vs 200 (docs table) (§9.5)
    "refresh_single_use": True,  # the used refresh token and its access token die (§9.2, notes §4.4)
    "rest_app_blocks_allowed": False,  # layout blocks on REST_APP activities (§9.10; owned by sandbox/crm)
    "require_https": False,  # plain-http REST calls answer 400 INVALID_REQUEST "Https required"
    "operating_reset_at_in_error": False,  # 429 body carries operating_reset_at (not the platform's envelope)
    "required_code_as_string": False,  # D7 "required parameter" code "100" (string) instead of 100 (number)
    "layout_blocks_admin_only": False,  # layout.blocks.* for admins only (docs) vs CRM rights (notes §6.1)
    "php_empty_arrays": True,  # empty maps serialise as [] (notes §5.2)
    "app_info_domain_port": True,  # app.info install.domain keeps ":port"; b24pysdk validation wants False
}


def parse_scope(value: str | list[str]) -> list[str]:
    """Split a comma-separated scope (notes §9.8: comma on the wire)."""
    if isinstance(value, list):
        return [s.strip() for s in value if s.strip()]
    return [s.strip() for s in value.replace(" ", ",").split(",") if s.strip()]
