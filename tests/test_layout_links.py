"""A redirect link's uri never leads off the portal by a relative trick, on the page or through validation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.layout import LayoutError, parse_layout
from app.layout.links import link_href
from tests.test_timeline_page import activity_of, open_activity, set_blocks

ORIGIN = "https://portal.bitrix24.com"
TRICKS = [
    "//evil.example/x",
    "\\\\evil.example/x",
    "/\\evil.example/x",
    "\\/evil.example/x",
    " //evil.example/x",
    "/\t/evil.example/x",
    "\n//evil.example/x",
]
# Relative uris the portal opens on its own host: resolved there, however odd.
ON_THE_PORTAL = {
    "@evil.example/x": f"{ORIGIN}/@evil.example/x",  # glued to the origin it was https://portal…@evil.example
    "/crm/deal/details/1/": f"{ORIGIN}/crm/deal/details/1/",
    ".evil.example/x": f"{ORIGIN}/.evil.example/x",
    "1": f"{ORIGIN}/1",
    "?a=1": f"{ORIGIN}/?a=1",
}


@pytest.mark.parametrize("uri", TRICKS)
def test_a_scheme_relative_uri_however_disguised_is_no_link(uri) -> None:
    assert link_href(uri, ORIGIN) is None


@pytest.mark.parametrize(("uri", "href"), ON_THE_PORTAL.items())
def test_a_relative_uri_is_resolved_on_the_portal_not_glued_to_its_origin(uri, href) -> None:
    assert link_href(uri, ORIGIN) == href
    assert urlsplit(link_href(uri, ORIGIN) or "").netloc == "portal.bitrix24.com"


@pytest.mark.parametrize(
    ("uri", "href"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("http://example.com/", "http://example.com/"),
        ("javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        (" data:text/html,x", None),
        ("https:evil.example", None),
        ("", None),
        (None, None),
    ],
)
def test_absolute_uris_are_http_urls_or_nothing(uri, href) -> None:
    assert link_href(uri, ORIGIN) == href


def test_without_a_known_portal_a_relative_uri_is_no_link() -> None:
    assert link_href("/crm/deal/details/1/", None) is None


@pytest.mark.parametrize("uri", TRICKS)
def test_the_layout_check_refuses_a_scheme_relative_uri(uri) -> None:
    layout = {
        "blocks": {
            "b1": {"type": "link", "properties": {"text": "Go", "action": {"type": "redirect", "uri": uri}}}
        }
    }
    with pytest.raises(LayoutError) as raised:
        parse_layout(layout)
    assert raised.value.problems[0].path == "blocks.b1.properties.action.uri"
    assert "portal path such as /crm/deal/details/1/" in raised.value.problems[0].message


def link_layout(uri: str) -> dict:
    action = {"type": "redirect", "uri": uri}
    return {"blocks": {"b1": {"type": "link", "properties": {"text": "Go", "action": action}}}}


@pytest.mark.parametrize(
    "uri", ["/crm/deal/details/1/", "/", "/crm/?a=1#x", "https://example.com", "http://example.com/a?b=c"]
)
def test_a_portal_path_or_an_http_url_is_a_link(uri) -> None:
    """The two shapes the vendor's action.md names: "https://example.com" or "/crm/deal/details/1/"."""
    assert parse_layout(link_layout(uri)).to_wire() == link_layout(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "not a url",
        "@x/y",
        "crm/deal/1",
        "1",
        "?a=1",
        "https://",
        "https:example.com",
        "ftp://example.com/",
        "/crm/deal details/",
        "https://exa mple.com/",
        " /crm/",
        "/crm/\n",
    ],
)
def test_anything_else_is_refused_in_words(uri) -> None:
    """The portal passes these on; the app refuses them, saying what a link may be."""
    with pytest.raises(LayoutError) as raised:
        parse_layout(link_layout(uri))
    problem = raised.value.problems[0]
    assert problem.path == "blocks.b1.properties.action.uri" and problem.code == "WRONG_FIELD_VALUE"
    assert "an http(s) URL such as https://example.com/" in problem.message


def test_the_activity_page_renders_no_link_that_leaves_the_portal(connected_app, sandbox, portal) -> None:
    uris = [*TRICKS, *ON_THE_PORTAL, "https://example.com/x"]
    blocks = {
        f"b{n}": {"type": "link", "properties": {"text": f"L{n}", "action": {"type": "redirect", "uri": uri}}}
        for n, uri in enumerate(uris)
    }
    activity = activity_of(sandbox)
    set_blocks(sandbox, activity, {"blocks": blocks})  # the portal takes any uri (protocol notes §6.2)
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    current = html.split('id="tb-blocks-current"', 1)[1]
    hrefs = dict(re.findall(r'href="([^"]*)"[^>]*>(L\d+)</a>', current))
    hosts = {urlsplit(href.replace("&amp;", "&")).netloc for href in hrefs}
    assert hosts == {urlsplit(sandbox.portal_url).netloc, "example.com"}, hrefs
    inert = set(re.findall(r'tb-cb-link--inert" data-action-type="redirect">(L\d+)</span>', current))
    assert inert == {f"L{n}" for n in range(len(TRICKS))}
    assert f'href="{sandbox.portal_url}/crm/deal/details/1/"' in current
