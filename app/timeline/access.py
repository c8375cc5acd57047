"""Who an action on the activity page acts for: the page token, checked, and a client acting as that user."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.bitrix24.client import Client
from app.main.admin import opened_page
from app.main.service import Refused
from app.models import Portal
from app.portals.connections import user_client
from app.portals.page_tokens import PageSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acting:
    """A verified page session: the portal, the user's session, the raw token for the next page, a client."""

    portal: Portal
    page: PageSession
    token: str
    client: Client  # acts with the user's own portal token, so the portal's permissions apply


def acting(action: str, *, activity_id: int | None = None) -> Acting:
    """Check the request's page token (form field or header); Refused when it cannot act for `activity_id`."""
    opened = opened_page(action)
    if not opened.page.access_token:
        raise Refused("reopen", 401)  # a token made outside the frame cannot act as a portal user
    if activity_id is not None and opened.page.activity_id != activity_id:
        log.info("%s refused: the page token was issued for another activity", action)
        raise Refused("wrong_activity", 403)
    client = user_client(opened.portal, opened.page.access_token)
    return Acting(opened.portal, opened.page, opened.token, client)
