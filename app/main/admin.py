"""Who a page's form acts for: the page token read and checked, and the administrators-only views."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec

from flask import g, request
from flask.typing import ResponseReturnValue

from app.bitrix24.errors import AuthError, Bitrix24Error
from app.main.pages import refused_page, render_page
from app.main.service import Refused, installed_portal, portal_origin, unavailable
from app.models import Portal
from app.portals import nonces, page_tokens
from app.portals.connections import client_for, user_client
from app.portals.lifecycle import NotVerified
from app.portals.page_tokens import PageSession
from app.portals.trust import admin_id

log = logging.getLogger(__name__)
P = ParamSpec("P")


@dataclass(frozen=True)
class Opened:
    """A page token that checked out, the session it vouches for and its installed portal."""

    page: PageSession
    portal: Portal
    token: str


def opened_page(action: str) -> Opened:
    """Read the request's page token (form field or header); Refused when it is bad or its portal gone."""
    raw = request.form.get(page_tokens.FIELD) or request.headers.get(page_tokens.HEADER, "")
    try:
        page = page_tokens.read(raw)
    except page_tokens.PageTokenError as error:
        log.info("%s refused: %s", action, error.reason)
        raise Refused("reopen", 401) from None
    portal = installed_portal(page.member_id)
    g.frame_origin = portal_origin(portal)  # the refusal or the page may be framed by this portal only
    if page.generation != portal.generation:
        log.info("%s refused: the page token was made for an earlier installation", action)
        raise Refused("stale_install", 403)
    return Opened(page, portal, raw)


def still_administrator(opened: Opened) -> None:
    """Ask the portal, at the moment of the POST, whether the page's user administers it; Refused if not.

    The page token says who was an administrator up to an hour ago; rights can be taken away meanwhile.
    In the frame the user's own token asks; outside it (the OAuth sign-in) the stored pair, which that
    sign-in made the administrator's own.
    """
    page, portal = opened.page, opened.portal
    if page.access_token:
        client = user_client(portal, page.access_token)
    else:
        client = client_for(portal, interactive=True)
    try:
        user_id = admin_id(client.call("profile"))
    except AuthError:
        raise Refused("reopen", 401) from None
    except NotVerified:
        raise Refused("admins_only", 403) from None
    except Bitrix24Error as error:
        raise unavailable(error) from None
    if user_id != page.user_id:
        raise Refused("reopen", 401)


@dataclass(frozen=True)
class Admin:
    """An administrator's page: the portal, the page's language and token, and whether it is framed."""

    portal: Portal
    lang: str
    page_token: str
    framed: bool


def as_admin(
    action: str,
) -> Callable[[Callable[Concatenate[Admin, P], ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Run the view for the administrator the page token names, once per page; others get a refusal page.

    The token's nonce is spent before the view runs: a reload or a second submit of the same page's form
    gets a page saying nothing was done again. The view's page carries a renewed token for its forms.
    """

    def wrap(view: Callable[Concatenate[Admin, P], ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def run(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            lang = request.form.get("lang", "en")[:8]
            try:
                opened = opened_page(action)
                if not opened.page.is_admin:
                    raise Refused("admins_only", 403)
                still_administrator(opened)
            except Refused as refused:
                return refused_page(refused, lang)
            if not nonces.spend(opened.page):
                log.info("%s not repeated: the page's form was already sent", action)
                return render_page("main/already_done.html", lang)
            renewed = page_tokens.renew(opened.page)
            admin = Admin(opened.portal, lang, renewed, framed=bool(opened.page.access_token))
            return view(admin, *args, **kwargs)

        return run

    return wrap
